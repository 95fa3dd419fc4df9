"""Inventory tables: stock snapshots, replenishment policies, planner overrides and their audit.

Stock and policy rows carry the id of the upload (`inventory_datasets`) that brought them, so an
upload is a dataset version and the latest one wins without deleting history. Overrides are
rows that are never edited in place: changing one ends it and adds its successor (`replaces`),
and every step appends an `override_events` row with who, when and the before/after values.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pyarrow as pa
from sqlalchemy import Double
from sqlmodel import Field, Session, SQLModel, select

from core.store import forecast_view, sales  # noqa: F401 - `series` first; the view's kept tables (schema imports us)
from core.store.base import id_field, now, save
from core.store.db import raw
from core.store.schema import DDL


class InventoryDataset(SQLModel, table=True):
    """One accepted stock or policy upload (its lineage; the rows sit in `stock` / `policies`)."""

    __tablename__ = "inventory_datasets"
    id: int | None = id_field("inventory_datasets")
    kind: str  # stock | policy
    file_name: str
    sha256: str
    rows: int
    columns: str = "{}"  # JSON: role -> file column used
    defaults: str = "{}"  # JSON: field -> default applied where the file had no value
    created_by: str
    created_at: datetime = Field(default_factory=now)


class Override(SQLModel, table=True):
    """A planner's adjustment of the forecast for a SKU (at one store, or all when store is
    NULL) over a date range: `mode` 'units' sets units per period, 'pct' scales by value %."""

    __tablename__ = "overrides"
    id: int | None = id_field("overrides")
    sku: str
    store: str | None = None
    start_date: date
    end_date: date
    mode: str
    value: float = Field(sa_type=Double)
    reason: str
    note: str = ""
    created_by: str
    created_at: datetime = Field(default_factory=now)
    ended_by: str | None = None
    ended_at: datetime | None = None
    replaces: int | None = None


class OverrideEvent(SQLModel, table=True):
    """Append-only audit of overrides: created / changed / ended, with the row before and after
    as JSON, so the audit shows what a planner changed even once the override has ended."""

    __tablename__ = "override_events"
    id: int | None = id_field("override_events")
    override_id: int
    action: str
    actor: str
    created_at: datetime = Field(default_factory=now)
    before_json: str = "null"
    after_json: str = "null"


DDL += [
    """CREATE TABLE IF NOT EXISTS stock (
        dataset_id INTEGER NOT NULL, series_id INTEGER NOT NULL, as_of DATE NOT NULL,
        on_hand DOUBLE NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS policies (
        dataset_id INTEGER NOT NULL, sku VARCHAR NOT NULL, store VARCHAR,
        lead_time INTEGER NOT NULL, review_period INTEGER NOT NULL, service_level DOUBLE NOT NULL,
        pack_size DOUBLE NOT NULL, min_order DOUBLE NOT NULL, unit_cost DOUBLE, price DOUBLE)""",
]

# The active version's proposals for the whole fleet, as core.inventory.proposals makes them,
# kept by the write paths that change their inputs (a stock or policy upload, an override set or
# ended, a promotion or rollback) so that the Replenishment page reads 100,000 rows instead of
# computing them from 2.8M forecast rows. `proposal_marks.state` is the `proposal_state` they
# were made at: a read whose state differs computes them instead (and writes nothing).
PROPOSAL_COLUMNS: dict[str, str] = {
    "sku": "VARCHAR", "store": "VARCHAR", "on_hand": "DOUBLE", "safety_stock": "DOUBLE",
    "reorder_point": "DOUBLE", "order_up_to": "DOUBLE", "order_qty": "DOUBLE", "stockout_risk": "DOUBLE",
    "as_of": "DATE", "demand_lead_time": "DOUBLE", "demand_protection": "DOUBLE", "packs": "DOUBLE",
    "order_value": "DOUBLE", "lead_time": "BIGINT", "review_period": "BIGINT", "service_level": "DOUBLE",
    "pack_size": "DOUBLE", "min_order": "DOUBLE", "unit_cost": "DOUBLE", "price": "DOUBLE",
    "policy_source": "VARCHAR", "spread_source": "VARCHAR", "reason": "VARCHAR", "category": "VARCHAR",
    "at_risk": "BOOLEAN", "overridden": "BOOLEAN", "forecast_from": "DATE", "version": "BIGINT",
}
DDL += [
    "CREATE TABLE IF NOT EXISTS proposal_rows (series_id INTEGER NOT NULL, "
    + ", ".join(f"{c} {t}" for c, t in PROPOSAL_COLUMNS.items()) + ")",
    "CREATE TABLE IF NOT EXISTS proposal_marks (state VARCHAR NOT NULL)",
]

# The policy replay's fleet totals per version and model ('chosen' or the naive reference), as
# JSON, kept by the write paths that change their inputs (a promotion, a stock or policy upload):
# at 100,000 series one replay is ~20 CPU-seconds, which the Overview's first render paid.
# `mark` is what they were made at (the version's creation time and the newest upload).
DDL += ["""CREATE TABLE IF NOT EXISTS replay_totals (version_id INTEGER NOT NULL, model VARCHAR NOT NULL,
           mark VARCHAR NOT NULL, totals VARCHAR)"""]

POLICY_FIELDS = ("lead_time", "review_period", "service_level", "pack_size", "min_order",
                 "unit_cost", "price")


def add_dataset(s: Session, d: InventoryDataset) -> InventoryDataset:
    return save(s, d)


def list_datasets(s: Session) -> list[InventoryDataset]:
    return list(s.exec(select(InventoryDataset).order_by(InventoryDataset.id.desc())).all())  # type: ignore[union-attr]


def latest_dataset_id(s: Session) -> int | None:
    """The newest stock or policy upload: what a cached simulation's inputs are as of."""
    return raw(s).execute("SELECT max(id) FROM inventory_datasets").fetchone()[0]


def proposal_state(s: Session, version_id: int | None) -> tuple:
    """Everything a fleet's proposals depend on besides the version's own rows (forecasts and
    backtests never change once a version is ready): the active version and when it became
    active, the version's creation time (a store rebuilt at the same path), the overrides (rows
    are only added or ended) and the newest stock/policy upload."""
    return tuple(raw(s).execute(
        """SELECT (SELECT max(version_id) FROM active WHERE scope = 'default'),
                  (SELECT max(since) FROM active WHERE scope = 'default'),
                  (SELECT max(created_at) FROM versions
                   WHERE id = coalesce(?, (SELECT max(version_id) FROM active WHERE scope = 'default'))),
                  (SELECT count(*) FROM overrides), (SELECT count(ended_at) FROM overrides),
                  (SELECT max(id) FROM overrides),
                  (SELECT max(id) FROM inventory_datasets), (SELECT max(created_at) FROM inventory_datasets)""",
        [version_id]).fetchone())


def stored_proposals(s: Session, state: str) -> pd.DataFrame | None:
    """The kept fleet proposals (columns as PROPOSAL_COLUMNS, by series), or None when they
    were made at another `state` than the caller's (or never)."""
    con = raw(s)
    mark = con.execute("SELECT state FROM proposal_marks").fetchall()
    if len(mark) != 1 or mark[0][0] != state:
        return None
    return con.execute(f"SELECT {', '.join(PROPOSAL_COLUMNS)} FROM proposal_rows ORDER BY series_id").df()  # noqa: S608 - fixed names


def replace_proposals(s: Session, rows: pd.DataFrame, state: str, series_ids: list[int] | None = None) -> None:
    """Keep `rows` (series_id and PROPOSAL_COLUMNS) as the fleet's proposals at `state`, or, with
    `series_ids`, as those series' (the caller made the other rows' inputs unchanged)."""
    con = raw(s)
    con.execute("DELETE FROM proposal_marks")
    con.execute("DELETE FROM proposal_rows WHERE ?::INTEGER[] IS NULL OR list_contains(?::INTEGER[], series_id)",
                [series_ids, series_ids])
    con.register("incoming_proposals", rows)
    try:
        cols = ", ".join(["series_id", *PROPOSAL_COLUMNS])
        con.execute(f"INSERT INTO proposal_rows ({cols}) SELECT {cols} FROM incoming_proposals")  # noqa: S608 - fixed names
    finally:
        con.unregister("incoming_proposals")
    con.execute("INSERT INTO proposal_marks VALUES (?)", [state])


def proposal_context(s: Session, version_id: int, quantile_columns: list[str]) -> tuple[int, list[str]]:
    """What a few series' proposals share with the rest of the fleet, so that made alone they
    equal the fleet's: the grid's width (the most forecast periods any series keeps after its
    stock snapshot; a forecast that ends before it keeps its last period) and those of
    `quantile_columns` that hold a value in the kept periods. Overrides change neither."""
    known = {r[0] for r in raw(s).execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'forecasts'").fetchall()}
    cols = [c for c in quantile_columns if c in known]  # catalog names only reach the SQL
    # per series, one pass without window functions (a window over 2.8M rows cost ~1.3 s): the
    # periods after the stock count, and whether a column has a value in them or, where none
    # is after it, in the last period
    per = "".join(f", count({c}) FILTER (WHERE after) AS n_{i}, "
                  f"coalesce(max(ds) FILTER (WHERE {c} IS NOT NULL) = max(ds), false) AS last_{i}"
                  for i, c in enumerate(cols))
    has = "".join(f", count(*) FILTER (WHERE CASE WHEN n_after > 0 THEN n_{i} > 0 ELSE last_{i} END)"
                  for i in range(len(cols)))
    row = raw(s).execute(
        f"""WITH st AS (SELECT series_id, as_of FROM stock
                        QUALIFY row_number() OVER (PARTITION BY series_id ORDER BY as_of DESC, dataset_id DESC) = 1),
                 f AS (SELECT f.*, (st.as_of IS NULL OR f.ds > st.as_of) AS after
                       FROM forecasts f LEFT JOIN st USING (series_id) WHERE f.version_id = ?),
                 per AS (SELECT series_id, count(*) FILTER (WHERE after) AS n_after{per}
                         FROM f GROUP BY series_id)
            SELECT coalesce(max(greatest(n_after, 1)), 0){has} FROM per""",  # noqa: S608 - catalog names
        [version_id]).fetchone()
    return int(row[0]), [c for c, n in zip(cols, row[1:], strict=True) if n]


def proposals_mark(s: Session) -> str | None:
    """The `proposal_state` the kept proposals were made at (None: none kept)."""
    rows = raw(s).execute("SELECT state FROM proposal_marks").fetchall()
    return rows[0][0] if len(rows) == 1 else None


def kept_replay(s: Session, version_id: int, model: str, mark: str) -> tuple[bool, str | None]:
    """(found, totals JSON or None for 'no backtest rows') of a kept replay made at `mark`."""
    row = raw(s).execute("SELECT totals FROM replay_totals WHERE version_id = ? AND model = ? AND mark = ?",
                         [version_id, model, mark]).fetchone()
    return (row is not None, row[0] if row else None)


def keep_replay(s: Session, version_id: int, model: str, mark: str, totals: str | None) -> None:
    con = raw(s)
    con.execute("DELETE FROM replay_totals WHERE version_id = ? AND model = ?", [version_id, model])
    con.execute("INSERT INTO replay_totals VALUES (?, ?, ?, ?)", [version_id, model, mark, totals])


def known_series(s: Session) -> pa.Table:
    """sku, store of every series: what an inventory file may refer to."""
    return raw(s).execute("SELECT sku, store FROM series").fetch_arrow_table()


def insert_stock(s: Session, rows: pa.Table, dataset_id: int) -> int:
    """rows: sku, store, as_of, on_hand (every pair already known to exist)."""
    con = raw(s)
    con.register("incoming_stock", rows)
    con.execute("""INSERT INTO stock SELECT ?, se.series_id, i.as_of, i.on_hand
                   FROM incoming_stock i JOIN series se USING (sku, store)""", [dataset_id])
    con.unregister("incoming_stock")
    return rows.num_rows


def insert_policies(s: Session, rows: pa.Table, dataset_id: int) -> int:
    """rows: sku, store (NULL = every store of the SKU) and POLICY_FIELDS, defaults filled."""
    con = raw(s)
    con.register("incoming_policies", rows)
    con.execute(f"""INSERT INTO policies SELECT ?, sku, store, {', '.join(POLICY_FIELDS)}
                    FROM incoming_policies""", [dataset_id])  # noqa: S608 - fixed names
    con.unregister("incoming_policies")
    return rows.num_rows


def series_inputs(s: Session, defaults: dict[str, float | None], sku: str | None = None,
                  store: str | None = None, skus: list[str] | None = None) -> pd.DataFrame:
    """Per series: the latest stock snapshot and the policy in force (the SKU × store row of the
    latest upload that has one, else the SKU row, else the defaults), with `policy_source`;
    optionally one SKU (at one store) or the series of `skus`."""
    fields = ", ".join(
        f"coalesce(ps.{f}, pk.{f}, ?) AS {f}" for f in POLICY_FIELDS
    )
    return raw(s).execute(
        f"""WITH latest_stock AS (
                SELECT series_id, as_of, on_hand FROM stock
                QUALIFY row_number() OVER (PARTITION BY series_id ORDER BY as_of DESC, dataset_id DESC) = 1),
            ps AS (SELECT * FROM policies WHERE store IS NOT NULL
                   QUALIFY row_number() OVER (PARTITION BY sku, store ORDER BY dataset_id DESC) = 1),
            pk AS (SELECT * FROM policies WHERE store IS NULL
                   QUALIFY row_number() OVER (PARTITION BY sku ORDER BY dataset_id DESC) = 1)
            SELECT se.series_id, se.sku, se.store, st.as_of, st.on_hand, {fields},
                   CASE WHEN ps.sku IS NOT NULL THEN 'sku_store' WHEN pk.sku IS NOT NULL THEN 'sku'
                        ELSE 'default' END AS policy_source
            FROM series se LEFT JOIN latest_stock st USING (series_id)
            LEFT JOIN ps ON ps.sku = se.sku AND ps.store = se.store
            LEFT JOIN pk ON pk.sku = se.sku
            WHERE (? IS NULL OR se.sku = ?) AND (? IS NULL OR se.store = ?)
              AND (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], se.sku))
            ORDER BY se.series_id""",  # noqa: S608 - fixed names
        [*(defaults[f] for f in POLICY_FIELDS), sku, sku, store, store, skus, skus],
    ).df()


def counts(s: Session) -> dict[str, int]:
    row = raw(s).execute(
        "SELECT (SELECT count(*) FROM stock), (SELECT count(*) FROM policies), "
        "(SELECT count(*) FROM overrides), (SELECT count(*) FROM override_events)"
    ).fetchone()
    return dict(zip(("stock", "policies", "overrides", "override_events"), row, strict=True))


# --- forecasts and backtests, as the inventory maths reads them ----------------------------

def forecast_rows(s: Session, version_id: int, sku: str | None = None,
                  store: str | None = None, names: bool = True, skus: list[str] | None = None) -> pd.DataFrame:
    """A version's final forecasts with every stored column (quantile columns included when
    the store has them), plus sku and store (unless not `names`: at 100,000 series x 28 days
    they are 5.6M Python strings), ordered by series and date; optionally one SKU (at one
    store), or, without names, the series of `skus`."""
    if not names and sku is None and store is None:  # the fleet: no names, no model names either
        return raw(s).execute(
            """SELECT f.* EXCLUDE (version_id, model) FROM forecasts f WHERE f.version_id = ?
               AND (?::VARCHAR[] IS NULL OR f.series_id IN (
                    SELECT series_id FROM series WHERE list_contains(?::VARCHAR[], sku)))
               ORDER BY f.series_id, f.ds""", [version_id, skus, skus]).df()
    return raw(s).execute(
        """SELECT se.sku, se.store, f.* EXCLUDE (version_id) FROM forecasts f
           JOIN series se USING (series_id) WHERE f.version_id = ?
           AND (? IS NULL OR se.sku = ?) AND (? IS NULL OR se.store = ?)
           ORDER BY f.series_id, f.ds""",
        [version_id, sku, sku, store, store],
    ).df()


def backtest_error_sd(s: Session, version_id: int, sku: str | None = None,
                      store: str | None = None, series_ids: list[int] | None = None) -> pd.DataFrame:
    """series_id, sd: the root mean squared one-period error of the version's chosen model in
    its backtests (the fallback spread when the forecasts carry no band); optionally one SKU
    (at one store) or the given series only, so a projection, or a fleet whose forecasts carry
    their band, does not read every backtest row."""
    return raw(s).execute(
        """SELECT series_id, sqrt(avg((y - yhat) * (y - yhat))) AS sd
           FROM chosen_backtests([?]) WHERE y IS NOT NULL AND yhat IS NOT NULL
             AND (?::VARCHAR IS NULL OR series_id IN (
                  SELECT series_id FROM series WHERE sku = ?::VARCHAR AND (?::VARCHAR IS NULL OR store = ?::VARCHAR)))
             AND (?::INTEGER[] IS NULL OR list_contains(?::INTEGER[], series_id))
           GROUP BY series_id""",
        [version_id, sku, sku, store, store, series_ids, series_ids],
    ).df()


def backtest_rows(s: Session, version_id: int, model: str | None) -> pd.DataFrame:
    """Backtest rows of the version's chosen models (model None) or of one named model (the
    seasonal-naive reference is stored as 'naive'): series_id, fold, cutoff, ds, y, yhat and
    the band, in no particular order. No SKU or store names: at 100,000 series x 84 backtest
    days they were two Python strings per row, gigabytes the replay never reads."""
    if model is None:
        sql = """SELECT series_id, fold, cutoff, ds, y, yhat, yhat_lower, yhat_upper
                 FROM chosen_backtests([?])"""
        params: list = [version_id]
    else:
        sql = """SELECT series_id, fold, cutoff, ds, y, yhat, yhat_lower, yhat_upper
                 FROM backtests WHERE version_id = ? AND model = ?"""
        params = [version_id, model]
    return raw(s).execute(sql, params).df()


# --- overrides ------------------------------------------------------------------------------

def add_override(s: Session, o: Override) -> Override:
    return save(s, o)


def get_override(s: Session, override_id: int) -> Override | None:
    return s.get(Override, override_id)


def add_event(s: Session, e: OverrideEvent) -> OverrideEvent:
    return save(s, e)


def overrides_frame(s: Session, include_ended: bool = False) -> pd.DataFrame:
    return raw(s).execute(
        """SELECT id, sku, store, start_date, end_date, mode, value, reason, note, created_by,
                  created_at, ended_by, ended_at, replaces FROM overrides
           WHERE ? OR ended_at IS NULL ORDER BY id""",
        [include_ended],
    ).df()


def override_events(s: Session) -> pd.DataFrame:
    return raw(s).execute(
        "SELECT id, override_id, action, actor, created_at, before_json, after_json FROM override_events ORDER BY id"
    ).df()


def actuals_with_forecasts(s: Session, version_id: int, season: int) -> pd.DataFrame:
    """Every (series, date) where the version had a forecast and an actual has arrived: sku,
    store, ds, y, yhat and the seasonal-naive forecast made at the same origin (the last
    `season` actuals before the version's first forecast date, repeated)."""
    return raw(s).execute(
        """WITH f AS (SELECT series_id, ds, yhat,
                             row_number() OVER (PARTITION BY series_id ORDER BY ds) - 1 AS k,
                             min(ds) OVER (PARTITION BY series_id) AS first_ds
                      FROM forecasts WHERE version_id = ?),
                o AS (SELECT DISTINCT series_id, first_ds FROM f),
                h AS (SELECT sa.series_id, sa.y,
                             row_number() OVER (PARTITION BY sa.series_id ORDER BY sa.ds DESC) AS r
                      FROM sales sa JOIN o USING (series_id) WHERE sa.ds < o.first_ds)
           SELECT se.sku, se.store, f.series_id, f.ds, sa.y, f.yhat, h.y AS naive
           FROM f JOIN sales sa USING (series_id, ds) JOIN series se USING (series_id)
           LEFT JOIN h ON h.series_id = f.series_id AND h.r = ? - (f.k % ?)
           ORDER BY f.series_id, f.ds""",
        [version_id, season, season],
    ).df()


def demand_basis(s: Session) -> pd.DataFrame:
    """Per series: its last sales date, mean units over its last 7 sales dates and the median
    of its 'price' regressor (NULL without one): what demo stock and policies are made from."""
    return raw(s).execute(
        """WITH r AS (SELECT series_id, ds, y,
                             row_number() OVER (PARTITION BY series_id ORDER BY ds DESC) AS k
                      FROM sales),
                p AS (SELECT series_id, median(value) AS price FROM regressors
                      WHERE name = 'price' GROUP BY series_id)
           SELECT se.sku, se.store, max(r.ds) AS last_date, avg(r.y) AS week_mean, any_value(p.price) AS price
           FROM r JOIN series se USING (series_id) LEFT JOIN p USING (series_id)
           WHERE r.k <= 7 GROUP BY se.sku, se.store ORDER BY se.sku, se.store"""
    ).df()


def active_forecast_start(s: Session) -> date | None:
    """The first date the active version forecasts (None without one)."""
    return raw(s).execute("SELECT min(ds) FROM active_forecasts").fetchone()[0]
