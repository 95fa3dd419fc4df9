"""Dataset versions (one row per accepted upload) and store-wide settings."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, Session, SQLModel, select

from core.store.base import id_field, now
from core.store.db import raw


class Dataset(SQLModel, table=True):
    """An accepted upload. The sales table holds the merged result; this row is its lineage:
    versions record the dataset they were trained on, and a deletion of sales adds one too."""

    __tablename__ = "datasets"
    id: int | None = id_field("datasets")
    file_name: str
    sha256: str
    rows_added: int
    rows_updated: int
    series_count: int
    first_date: date | None
    last_date: date | None
    freq: str
    columns: str = "{}"  # JSON of the column mapping used
    created_by: str
    created_at: datetime = Field(default_factory=now)


class Setting(SQLModel, table=True):
    """Store-wide key/value settings (frequency of the store, webhook url, ...)."""

    __tablename__ = "settings"
    key: str = Field(primary_key=True)
    value: str


# Settings and the dataset record are read and written with plain SQL on the session's
# connection: the ORM's first use of a statement in a process (every CLI command's) cost an
# ingest of 1M rows about 0.1 CPU-s, a sixth of what DuckDB's own read_csv of the file costs.


def get_setting(s: Session, key: str, default: str | None = None) -> str | None:
    row = raw(s).execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    return row[0] if row else default


def set_setting(s: Session, key: str, value: str) -> None:
    raw(s).execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", [key, value])


_DATASET_COLS = ("file_name", "sha256", "rows_added", "rows_updated", "series_count", "first_date", "last_date",
                 "freq", "columns", "created_by", "created_at")


def add_dataset(s: Session, ds: Dataset) -> Dataset:
    """Insert the record; `ds` comes back with its id (not in the session)."""
    ds.id = new_dataset(s, **{c: getattr(ds, c) for c in _DATASET_COLS})
    return ds


def new_dataset(s: Session, *, file_name: str, sha256: str, series_count: int, first_date: date | None,
                last_date: date | None, freq: str, columns: str, created_by: str, rows_added: int = 0,
                rows_updated: int = 0, created_at: datetime | None = None, id: int | None = None) -> int:
    """Insert a dataset record from plain values; returns its id (`id`: this one, from
    `next_id`, not drawn from the sequence). (Building the ORM object first cost a CLI ingest
    ~0.05 CPU-s: the model class's first use in the process.)"""
    values = [file_name, sha256, rows_added, rows_updated, series_count, first_date, last_date, freq, columns,
              created_by, created_at or now()]
    cols = list(_DATASET_COLS) + (["id"] if id is not None else [])
    values += [id] if id is not None else []
    return int(raw(s).execute(f"INSERT INTO datasets ({', '.join(cols)}) "  # noqa: S608 - own column names
                              f"VALUES ({', '.join('?' * len(values))}) RETURNING id", values).fetchone()[0])


# A sequence's draws are not undone by a rollback: a write that may back out (a streamed first
# load, core.ingest_stream) takes the ids the sequence would give without drawing them, and draws
# them only once it stands, so that the path taken after a back-out gives the very same ids.


def next_id(s: Session, sequence: str) -> int:
    """The value `sequence` gives next, not drawn."""
    return int(raw(s).execute(
        """SELECT coalesce(last_value + increment_by, start_value) FROM duckdb_sequences()
           WHERE sequence_name = ? AND database_name = current_database() AND schema_name = 'main'""",
        [sequence]).fetchone()[0])


def draw_to(s: Session, sequence: str, last: int) -> None:
    """Draw `sequence` up to `last` (ids taken by `next_id` and written), under the write lock."""
    n = last - next_id(s, sequence) + 1
    if n > 0:
        raw(s).execute("SELECT max(nextval(?)) FROM range(?)", [sequence, n]).fetchone()


def set_rows(s: Session, dataset_id: int, added: int, updated: int) -> None:
    """A dataset's rows added and updated, known once its merge is done."""
    raw(s).execute("UPDATE datasets SET rows_added = ?, rows_updated = ? WHERE id = ?", [added, updated, dataset_id])


def complete(s: Session, dataset_id: int, *, sha256: str, series_count: int, first_date: date,
             last_date: date, freq: str, rows_added: int) -> None:
    """The record of an upload made before its rows were read (a first load read straight into
    the store, whose rows carry the record's id: core.ingest_stream), completed once they were."""
    raw(s).execute(
        """UPDATE datasets SET sha256 = ?, series_count = ?, first_date = ?, last_date = ?, freq = ?,
                  rows_added = ?, rows_updated = 0 WHERE id = ?""",
        [sha256, series_count, first_date, last_date, freq, rows_added, dataset_id])


def list_datasets(s: Session) -> list[Dataset]:
    return list(s.exec(select(Dataset).order_by(Dataset.id.desc())).all())  # type: ignore[union-attr]


def latest_dataset(s: Session) -> Dataset | None:
    return s.exec(select(Dataset).order_by(Dataset.id.desc()).limit(1)).first()  # type: ignore[union-attr]
