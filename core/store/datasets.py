"""Dataset versions (one row per accepted upload) and store-wide settings."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, Session, SQLModel, select

from core.store.base import id_field, now, save


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


def get_setting(s: Session, key: str, default: str | None = None) -> str | None:
    row = s.get(Setting, key)
    return row.value if row else default


def set_setting(s: Session, key: str, value: str) -> None:
    row = s.get(Setting, key)
    if row:
        row.value = value
    else:
        s.add(Setting(key=key, value=value))
    s.flush()


def add_dataset(s: Session, ds: Dataset) -> Dataset:
    return save(s, ds)


def list_datasets(s: Session) -> list[Dataset]:
    return list(s.exec(select(Dataset).order_by(Dataset.id.desc())).all())  # type: ignore[union-attr]


def latest_dataset(s: Session) -> Dataset | None:
    return s.exec(select(Dataset).order_by(Dataset.id.desc()).limit(1)).first()  # type: ignore[union-attr]
