"""Sales history in long format: one row per (series, date). A series is one SKU at one store.

`series_id` is the `unique_id` of the Nixtla/Prophet convention; `ds` and `y` keep their names.
Regressors (price, promo, temperature...) sit in their own long table so that any mapped column
can be stored without building DDL from user text; they may run past the last actual (a promo
plan), which is how a model knows their future values.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pyarrow as pa
from sqlalchemy import text
from sqlmodel import Session

from core.store.db import raw
from core.store.schema import DDL

DDL += [
    "CREATE SEQUENCE IF NOT EXISTS series_id_seq START 1",
    """CREATE TABLE IF NOT EXISTS series (
        series_id INTEGER PRIMARY KEY DEFAULT nextval('series_id_seq'),
        sku VARCHAR NOT NULL,
        store VARCHAR NOT NULL,
        UNIQUE (sku, store))""",
    """CREATE TABLE IF NOT EXISTS sales (
        series_id INTEGER NOT NULL,
        ds DATE NOT NULL,
        y DOUBLE NOT NULL,
        dataset_id INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS regressors (
        series_id INTEGER NOT NULL,
        ds DATE NOT NULL,
        name VARCHAR NOT NULL,
        value DOUBLE,
        dataset_id INTEGER NOT NULL)""",
]


def upsert(s: Session, rows: pa.Table, regs: pa.Table | None, dataset_id: int) -> tuple[int, int]:
    """Merge validated rows (sku, store, ds, y) into the store; new values replace old ones for
    the same (sku, store, ds). Returns (rows added, rows updated).

    The overlap search and deletes run only when the store already holds rows for the incoming
    series: the first load of a large file is a plain join-and-insert."""
    con = raw(s)
    con.register("incoming", rows)
    had_series = con.execute("SELECT count(*) FROM series").fetchone()[0] > 0
    con.execute(
        """INSERT INTO series (sku, store)
           SELECT DISTINCT i.sku, i.store FROM incoming i
           ANTI JOIN series USING (sku, store) ORDER BY 1, 2"""
    )
    updated = 0
    if had_series:
        con.execute(
            """CREATE OR REPLACE TEMP TABLE incoming_ids AS
               SELECT s.series_id, i.ds, i.y FROM incoming i JOIN series s USING (sku, store)"""
        )
        updated = con.execute(
            "SELECT count(*) FROM sales JOIN incoming_ids USING (series_id, ds)"
        ).fetchone()[0]
        if updated:
            con.execute(
                "DELETE FROM sales USING incoming_ids i WHERE sales.series_id = i.series_id AND sales.ds = i.ds"
            )
        con.execute("INSERT INTO sales SELECT series_id, ds, y, ? FROM incoming_ids", [dataset_id])
        con.execute("DROP TABLE incoming_ids")
    else:
        con.execute(
            """INSERT INTO sales SELECT s.series_id, i.ds, i.y, ?
               FROM incoming i JOIN series s USING (sku, store)""",
            [dataset_id],
        )
    added = rows.num_rows - updated
    con.unregister("incoming")
    if regs is not None and regs.num_rows:
        con.register("incoming_regs", regs)
        if con.execute("SELECT count(*) FROM regressors").fetchone()[0]:
            con.execute(
                """CREATE OR REPLACE TEMP TABLE incoming_r AS SELECT s.series_id, r.ds, r.name, r.value
                   FROM incoming_regs r JOIN series s USING (sku, store)"""
            )
            con.execute(
                """DELETE FROM regressors USING incoming_r i WHERE regressors.series_id = i.series_id
                   AND regressors.ds = i.ds AND regressors.name = i.name"""
            )
            con.execute("INSERT INTO regressors SELECT series_id, ds, name, value, ? FROM incoming_r", [dataset_id])
            con.execute("DROP TABLE incoming_r")
        else:
            con.execute(
                """INSERT INTO regressors SELECT s.series_id, r.ds, r.name, r.value, ?
                   FROM incoming_regs r JOIN series s USING (sku, store)""",
                [dataset_id],
            )
        con.unregister("incoming_regs")
    return int(added), int(updated)


def counts(s: Session) -> dict:
    row = s.execute(
        text(
            """SELECT (SELECT count(*) FROM sales), (SELECT count(DISTINCT series_id) FROM sales),
                      (SELECT count(DISTINCT sku) FROM series), (SELECT count(DISTINCT store) FROM series),
                      (SELECT min(ds) FROM sales), (SELECT max(ds) FROM sales)"""
        )
    ).one()
    keys = ("rows", "series", "skus", "stores", "first_date", "last_date")
    return dict(zip(keys, row, strict=True))


def count_series_in(s: Session, rows: pa.Table) -> int:
    con = raw(s)
    con.register("probe", rows)
    n = con.execute("SELECT count(*) FROM (SELECT DISTINCT sku, store FROM probe)").fetchone()[0]
    con.unregister("probe")
    return int(n)


def series_summary(s: Session) -> pd.DataFrame:
    """Per series: span, number of periods, total and mean units, share of zero periods."""
    return raw(s).execute(
        """SELECT se.sku, se.store, min(ds) AS first_date, max(ds) AS last_date,
                  count(*) AS periods, sum(y) AS total_units, avg(y) AS mean_units,
                  avg(CASE WHEN y = 0 THEN 1 ELSE 0 END) AS zero_share
           FROM sales JOIN series se USING (series_id)
           GROUP BY se.sku, se.store ORDER BY se.sku, se.store"""
    ).df()


def skus(s: Session) -> list[str]:
    return [r[0] for r in raw(s).execute("SELECT DISTINCT sku FROM series ORDER BY 1").fetchall()]


def stores(s: Session) -> list[str]:
    return [r[0] for r in raw(s).execute("SELECT DISTINCT store FROM series ORDER BY 1").fetchall()]


def history(s: Session, sku: str, store: str | None = None) -> pd.DataFrame:
    """One SKU's units by date, at one store or summed over stores."""
    return raw(s).execute(
        """SELECT ds, sum(y) AS y FROM sales JOIN series USING (series_id)
           WHERE sku = ? AND (? IS NULL OR store = ?) GROUP BY ds ORDER BY ds""",
        [sku, store, store],
    ).df()


def load_sales(s: Session, until: date | None = None) -> pd.DataFrame:
    """All series in long format: series_id, sku, store, ds, y (ordered)."""
    return raw(s).execute(
        """SELECT series_id, sku, store, ds, y FROM sales JOIN series USING (series_id)
           WHERE ? IS NULL OR ds <= ? ORDER BY series_id, ds""",
        [until, until],
    ).df()


def load_regressors(s: Session) -> pd.DataFrame:
    """Regressors wide: series_id, ds, one column per regressor name (pivoted in DuckDB)."""
    con = raw(s)
    if not con.execute("SELECT count(*) FROM regressors").fetchone()[0]:
        return pd.DataFrame(columns=["series_id", "ds"])
    return con.execute(
        "PIVOT (SELECT series_id, ds, name, value FROM regressors) ON name USING first(value) "
        "GROUP BY series_id, ds ORDER BY series_id, ds"
    ).df()


def data_hash(s: Session) -> str:
    """An order-independent fingerprint of the sales and regressor contents, for lineage."""
    row = raw(s).execute(
        """SELECT (SELECT coalesce(bit_xor(hash(series_id, ds, y)), 0) FROM sales),
                  (SELECT coalesce(bit_xor(hash(series_id, ds, name, value)), 0) FROM regressors),
                  (SELECT count(*) FROM sales)"""
    ).fetchone()
    return f"{row[0]:016x}{row[1]:016x}-{row[2]}"
