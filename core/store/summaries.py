"""Rollups of the sales the pages read instead of the raw rows: one row per series (first and
last date, periods, units, zero periods), kept current by the write paths that change sales.

Why: at 100,000 series the sales table holds 73M rows, and the Data page's counts and series
table grouped all of them on every view (2.6 s). The write paths (ingest, a sales deletion) call
`refresh` after they commit (core.rollups, an `ingest.AFTER_INGEST` hook); it adds the new rows
when the changes since the last refresh were all appends, and rebuilds otherwise.

Correctness never depends on the hook having run: `series_stats_current` compares the rollup's
watermark (the newest dataset it reflects) with the store's newest dataset (every ingest and
every deletion adds one, in the transaction that changes sales), and the reads here fall back to
the raw rows when they differ. A store made before this table existed gets it built on open
(the DDL below, run when the store code changes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from core.store import datasets, sales  # noqa: F401 - their tables come before ours
from core.store.db import raw
from core.store.schema import DDL

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

NAME = "series_stats"

# The per-series aggregates, from any set of sales rows (the same SQL for a rebuild, an append
# and the raw fallback, so the three cannot drift apart).
_AGG = """SELECT series_id, min(ds) AS first_date, max(ds) AS last_date, count(*) AS periods,
                 sum(y) AS total_units, count(*) FILTER (WHERE y = 0) AS zero_periods
          FROM sales {where} GROUP BY series_id"""
_NEWEST = "(SELECT max(id) FROM datasets)"
_MARK = "(SELECT dataset_id FROM rollup_marks WHERE name = 'series_stats')"

DDL += [
    # DuckDB draws a progress bar on stdout for long statements (the migration below), where
    # the CLI's `--json` writes.
    "SET enable_progress_bar = false",
    """CREATE TABLE IF NOT EXISTS series_stats (
        series_id INTEGER NOT NULL,
        first_date DATE NOT NULL,
        last_date DATE NOT NULL,
        periods BIGINT NOT NULL,
        total_units DOUBLE NOT NULL,
        zero_periods BIGINT NOT NULL)""",
    # name -> the newest dataset (upload or deletion) a rollup reflects.
    """CREATE TABLE IF NOT EXISTS rollup_marks (name VARCHAR NOT NULL, dataset_id INTEGER)""",
    # Migration on open: a store whose rollup is missing or behind gets it rebuilt here.
    f"DELETE FROM series_stats WHERE {_NEWEST} IS DISTINCT FROM {_MARK}",  # noqa: S608 - own SQL
    f"INSERT INTO series_stats SELECT * FROM ({_AGG.format(where='')}) "  # noqa: S608 - own SQL
    f"WHERE {_NEWEST} IS DISTINCT FROM {_MARK}",
    f"DELETE FROM rollup_marks WHERE name = 'series_stats' AND {_NEWEST} IS DISTINCT FROM {_MARK}",  # noqa: S608
    f"INSERT INTO rollup_marks SELECT 'series_stats', {_NEWEST} "  # noqa: S608 - own SQL
    "WHERE NOT EXISTS (SELECT 1 FROM rollup_marks WHERE name = 'series_stats')",
]


def _mark(con: duckdb.DuckDBPyConnection) -> tuple[int | None, int | None]:
    """(the rollup's watermark, the store's newest dataset id)."""
    row = con.execute(f"SELECT {_MARK}, {_NEWEST}").fetchone()  # noqa: S608 - own SQL
    return row[0], row[1]


def _appends_since(con: duckdb.DuckDBPyConnection, mark: int | None) -> bool:
    """Whether every change after dataset `mark` only added rows (no stored row replaced by a
    re-upload, none deleted): then the rollup plus the rows of those datasets is the truth."""
    return bool(mark is not None and con.execute(
        """SELECT bool_and(rows_updated = 0 AND id NOT IN (SELECT dataset_id FROM sales_deletions))
           FROM datasets WHERE id > ?""", [mark]).fetchone()[0])


def series_stats_current(s: Session) -> bool:
    mark, newest = _mark(raw(s))
    return mark == newest


def refresh(s: Session) -> str:
    """Bring series_stats up to the store's newest dataset, inside the caller's write
    transaction. Returns what it did: 'current', 'append' (only the rows of the new datasets
    were read: they were all plain appends, no stored row replaced or deleted) or 'rebuild'."""
    con = raw(s)
    mark, newest = _mark(con)
    if mark == newest:
        return "current"
    if _appends_since(con, mark):
        con.execute(f"CREATE OR REPLACE TEMP TABLE series_stats_new AS {_AGG.format(where='WHERE dataset_id > ?')}",  # noqa: S608 - own SQL
                    [mark])
        con.execute(
            """UPDATE series_stats t SET first_date = least(t.first_date, n.first_date),
                      last_date = greatest(t.last_date, n.last_date), periods = t.periods + n.periods,
                      total_units = t.total_units + n.total_units,
                      zero_periods = t.zero_periods + n.zero_periods
               FROM series_stats_new n WHERE t.series_id = n.series_id""")
        con.execute("INSERT INTO series_stats SELECT * FROM series_stats_new ANTI JOIN series_stats USING (series_id)")
        con.execute("DROP TABLE series_stats_new")
        how = "append"
    else:
        con.execute("DELETE FROM series_stats")
        con.execute(f"INSERT INTO series_stats {_AGG.format(where='')}")  # noqa: S608 - own SQL
        how = "rebuild"
    con.execute("DELETE FROM rollup_marks WHERE name = ?", [NAME])
    con.execute("INSERT INTO rollup_marks VALUES (?, ?)", [NAME, newest])
    return how


def add_new_series(s: Session, keys: str, dataset_id: int, by_id: bool = False) -> bool:
    """Inside the merge of dataset `dataset_id`, whose series are all new (a first load, say):
    their rows of series_stats from the upload's per-series figures (`keys`: h, n, first_date,
    last_date, units, zeros, as core.ingest computes them; `incoming_ids`: h -> series_id), so
    the refresh after it finds the rollup current instead of reading every new sales row again
    (73M at 100,000 series). Only when the rollup was current before this dataset; returns
    whether it did. `keys` is the merge's own table name, never user text."""
    con = raw(s)
    mark, _newest = _mark(con)
    before = con.execute("SELECT max(id) FROM datasets WHERE id < ?", [dataset_id]).fetchone()[0]
    if mark != before:
        return False
    ids = "k" if by_id else "i"  # `by_id`: `keys` holds series_id itself (core.store.sales.first_load_keys)
    join = "" if by_id else "JOIN incoming_ids i USING (h)"
    con.execute(f"""INSERT INTO series_stats SELECT {ids}.series_id, k.first_date, k.last_date, k.n, k.units, k.zeros
                    FROM {keys} k {join} WHERE k.n > 0""")  # noqa: S608 - own names
    con.execute("DELETE FROM rollup_marks WHERE name = ?", [NAME])
    con.execute("INSERT INTO rollup_marks VALUES (?, ?)", [NAME, dataset_id])
    return True


def _stats(s: Session) -> str:
    """The per-series source, a pure read either way: the rollup when current; behind only by
    appends (a write whose refresh has not run yet, e.g. a CLI process without the hook), the
    rollup plus the new datasets' rows (those rows only: they are at the end of the table);
    otherwise every raw row."""
    con = raw(s)
    mark, newest = _mark(con)
    if mark == newest:
        return "series_stats"
    if _appends_since(con, mark):
        new = _AGG.format(where=f"WHERE dataset_id > {int(mark)}")
        return f"""(SELECT series_id, min(first_date) AS first_date, max(last_date) AS last_date,
                           sum(periods)::BIGINT AS periods, sum(total_units) AS total_units,
                           sum(zero_periods)::BIGINT AS zero_periods
                    FROM (SELECT * FROM series_stats UNION ALL {new}) GROUP BY series_id)"""  # noqa: S608 - own SQL, an int
    return f"({_AGG.format(where='')})"


def counts(s: Session) -> dict:
    """Like core.store.sales.counts: rows, series (with sales), skus, stores, first/last date."""
    row = raw(s).execute(
        f"""WITH st AS MATERIALIZED (SELECT * FROM {_stats(s)})
            SELECT (SELECT coalesce(sum(periods), 0) FROM st), (SELECT count(*) FROM st),
                   (SELECT count(DISTINCT sku) FROM series), (SELECT count(DISTINCT store) FROM series),
                   (SELECT min(first_date) FROM st), (SELECT max(last_date) FROM st)"""  # noqa: S608 - own SQL
    ).fetchone()
    keys = ("rows", "series", "skus", "stores", "first_date", "last_date")
    return dict(zip(keys, row, strict=True))


def series_summary(s: Session) -> pd.DataFrame:
    """Like core.store.sales.series_summary: per series, span, periods, total and mean units,
    share of zero periods, ordered by SKU and store."""
    return raw(s).execute(
        f"""SELECT se.sku, se.store, st.first_date, st.last_date, st.periods,
                   st.total_units, st.total_units / st.periods AS mean_units,
                   st.zero_periods / st.periods AS zero_share
            FROM {_stats(s)} st JOIN series se USING (series_id)
            ORDER BY se.sku, se.store"""  # noqa: S608 - own SQL
    ).df()


def series_ids(s: Session, sku: str, store: str | None = None) -> list[int]:
    """The ids of one SKU's series (at one store, or all of its stores)."""
    return [r[0] for r in raw(s).execute(
        "SELECT series_id FROM series WHERE sku = ? AND (? IS NULL OR store = ?) ORDER BY 1",
        [sku, store, store]).fetchall()]


def history(s: Session, sku: str, store: str | None = None) -> pd.DataFrame:
    """Like core.store.sales.history (ds, y: one SKU's units by date, at one store or summed over
    stores), reading only that SKU's rows: its series ids first, then a range filter on them
    that DuckDB checks against each row group's min/max (a SKU's series ids are adjacent, as
    the first upload numbered them in SKU order), instead of joining all 73M rows to `series`."""
    ids = series_ids(s, sku, store)
    if not ids:
        return raw(s).execute("SELECT DATE '2000-01-01' AS ds, 0.0::DOUBLE AS y LIMIT 0").df()
    return raw(s).execute(
        """SELECT ds, sum(y) AS y FROM sales
           WHERE series_id BETWEEN ? AND ? AND list_contains(?, series_id)
           GROUP BY ds ORDER BY ds""",
        [ids[0], ids[-1], ids],
    ).df()
