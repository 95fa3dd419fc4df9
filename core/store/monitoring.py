"""Monitoring tables and queries: the live error of the active version, alert rules, alerts and
their history.

`monitor_errors` stores, for every (series, date) where the active version had a forecast and an
actual has arrived, y and yhat. It is kept in step by `sync_errors`: a promotion or rollback (the active version
differs from the one the table was built for) rebuilds it; a new upload (a dataset id the table has
not seen) refreshes only the dates that upload covered. Joining 10M forecasts to 10M actuals on
every page view took seconds; scanning the stored errors takes a fraction of one.
All heavy aggregation (per SKU, per SKU × store, per week or month, rolling windows) runs here in
DuckDB; core.monitoring only applies rules and statistics to the small results.

Grains are chosen from a fixed list and passed as parameters (`date_trunc(?, ds)`); filters are
lists bound as parameters. Nothing a user types reaches SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from sqlalchemy import Double
from sqlmodel import Field, Session, SQLModel, select

from core.store import registry, sales, versions  # noqa: F401 - their DDL must come before ours
from core.store.base import id_field, now, save
from core.store.db import raw
from core.store.schema import DDL

GRAINS = ("day", "week", "month")
SKU_LEVEL = "*"  # the `store` of an alert or row that sums every store in scope


class AlertRule(SQLModel, table=True):
    """A condition evaluated per SKU (stores summed) or per SKU × store after every ingest."""

    __tablename__ = "alert_rules"
    id: int | None = id_field("alert_rules")
    name: str
    kind: str  # accuracy | data_drift | concept_drift
    threshold: float = Field(sa_type=Double)  # accuracy: minimum; data_drift: unused; concept: margin
    window: int = 4  # periods of `grain` the condition looks at
    grain: str = "week"
    level: str = "sku"  # sku (stores summed) | series (each SKU × store)
    params: str = "{}"  # JSON: kind-specific options (bias_periods, method, min_change, ...)
    skus: str = "[]"  # JSON list; empty = every SKU
    stores: str = "[]"  # JSON list; empty = every store
    enabled: bool = True
    is_default: bool = False
    updated_by: str = "system"
    updated_at: datetime = Field(default_factory=now)


class Alert(SQLModel, table=True):
    """One alert per (rule, SKU, store) while it is open or acknowledged; a resolved alert stays
    as history and a new one is opened if the condition comes back."""

    __tablename__ = "alerts"
    id: int | None = id_field("alerts")
    rule_id: int = Field(index=True)
    kind: str
    sku: str
    store: str = SKU_LEVEL
    status: str = "open"  # open | acknowledged | resolved
    value: float | None = Field(default=None, sa_type=Double)
    threshold: float | None = Field(default=None, sa_type=Double)
    message: str = ""
    details: str = "{}"
    version_id: int | None = None
    opened_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)
    evaluations: int = 1
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    ack_note: str | None = None
    resolved_at: datetime | None = None


class AlertEvent(SQLModel, table=True):
    """Append-only history of every alert: opened, acknowledged, resolved, notified."""

    __tablename__ = "alert_events"
    id: int | None = id_field("alert_events")
    alert_id: int = Field(index=True)
    action: str
    actor: str
    note: str | None = None
    value: float | None = Field(default=None, sa_type=Double)
    created_at: datetime = Field(default_factory=now)


DDL += [
    "DROP VIEW IF EXISTS forecast_errors",  # earlier forms of live_errors (development stores)
    "DROP TABLE IF EXISTS live_errors",
    """CREATE TABLE IF NOT EXISTS monitor_errors (
        series_id INTEGER NOT NULL, ds DATE NOT NULL, y DOUBLE, yhat DOUBLE)""",
    # The active version's backtest of its serving models, summed per series, fold and period
    # (week, month), and its pooled per-series errors: what every page's "backtest accuracy"
    # reads. Built when a version becomes active (a version's backtest never changes after
    # training); scanning the raw backtest rows and finding each series' serving model took
    # most of a page's store time.
    """CREATE TABLE IF NOT EXISTS monitor_backtests (
        series_id INTEGER NOT NULL, grain VARCHAR NOT NULL, fold INTEGER, period DATE,
        y DOUBLE, yhat DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS monitor_backtest_pooled (
        series_id INTEGER NOT NULL, abs_err DOUBLE, abs_y DOUBLE)""",
    # monitor_errors summed per SKU (stores summed) and period of each rollup grain: what the
    # SKU-level accuracy reads (headline, per-SKU table, heatmap, trend, rolling line) take
    # their errors on. Rebuilt with monitor_errors (sync_errors); a page at 100,000 series
    # otherwise joined and summed every stored error (2.8M rows) for each of them.
    """CREATE TABLE IF NOT EXISTS monitor_sku_periods (
        sku VARCHAR NOT NULL, grain VARCHAR NOT NULL, period DATE NOT NULL, y DOUBLE, yhat DOUBLE,
        n BIGINT)""",
    # The active version's backtest WAPE per SKU (stores summed) and week/month, and of all SKUs
    # together (sku NULL): `backtest_wape` and `backtest_total` without a filter, as the Overview,
    # Monitor and every evaluation ask for them. Depends on the active version alone (a version's
    # backtest and the series' SKUs never change), so it is built with monitor_backtests; summing
    # those again on each first view after a write was half of a share link's server time.
    """CREATE TABLE IF NOT EXISTS monitor_backtest_skus (
        grain VARCHAR NOT NULL, sku VARCHAR, backtest_wape DOUBLE)""",
]

_V_KEY, _D_KEY = "monitor.err_version", "monitor.err_dataset"
_BT_KEY = "monitor.backtest_version"  # the version monitor_backtests was built for
_BT_SKU_KEY = "monitor.backtest_skus_of"  # the version monitor_backtest_skus was built for
_PER_KEY = "monitor.sku_periods_of"  # '<err_version>:<err_dataset>' monitor_sku_periods was built from
ROLLUP_GRAINS = ("week", "month")
# The stored errors with each series' SKU and store (a 5,000-row join; writing them beside every
# error made the rebuild ten times slower than the join itself).
_ERR = "(SELECT se.sku, se.store, e.ds, e.y, e.yhat FROM monitor_errors e JOIN series se USING (series_id))"


def errors_state(s: Session) -> tuple[int | None, int | None, int | None, int | None]:
    """(active version, version the errors were built for, last dataset synced, last dataset)."""
    row = raw(s).execute(
        """SELECT (SELECT version_id FROM active WHERE scope = 'default'),
                  (SELECT try_cast(value AS INTEGER) FROM settings WHERE key = ?),
                  (SELECT try_cast(value AS INTEGER) FROM settings WHERE key = ?),
                  (SELECT max(id) FROM datasets)""",
        [_V_KEY, _D_KEY],
    ).fetchone()
    return row[0], row[1], row[2], row[3]


def sync_errors(s: Session) -> str:
    """Bring monitor_errors in step with the active version and the uploads; returns what was done
    ('rebuilt', 'refreshed', 'current')."""
    from core.store import datasets

    active_v, built_v, synced_d, last_d = errors_state(s)
    con = raw(s)
    if _kept_version(s, _BT_KEY) != active_v:
        _build_backtest_rollup(s, active_v)
    if _kept_version(s, _BT_SKU_KEY) != active_v:  # built from monitor_backtests (also: an older store)
        _build_backtest_skus(s, active_v)
    insert = """INSERT INTO monitor_errors
        SELECT f.series_id, f.ds, sa.y, f.yhat FROM forecasts f JOIN sales sa USING (series_id, ds)
        WHERE f.version_id = ? AND f.ds BETWEEN ? AND ?"""
    if active_v != built_v:
        con.execute("DELETE FROM monitor_errors")
        if active_v is not None:
            con.execute(insert, [active_v, date.min, date.max])
        done = "rebuilt"
    elif (last_d or 0) != (synced_d or 0) and active_v is not None:
        lo, hi = con.execute(
            "SELECT min(first_date), max(last_date) FROM datasets WHERE id > ?", [synced_d or 0]
        ).fetchone()
        if lo is not None:
            con.execute("DELETE FROM monitor_errors WHERE ds BETWEEN ? AND ?", [lo, hi])
            con.execute(insert, [active_v, lo, hi])
        done = "refreshed"
    else:
        if not _periods_current(s):  # a store from before the rollup: build it once
            _build_sku_periods(s)
        return "current"
    datasets.set_setting(s, _V_KEY, "" if active_v is None else str(active_v))
    datasets.set_setting(s, _D_KEY, str(last_d or 0))
    _build_sku_periods(s)
    return done


def _build_sku_periods(s: Session) -> None:
    """monitor_sku_periods from monitor_errors as they are now (bounded by the active version's
    horizon: at most horizon x series rows to sum), marked with the errors' state."""
    from core.store import datasets

    con = raw(s)
    con.execute("DELETE FROM monitor_sku_periods")
    for grain in ROLLUP_GRAINS:
        con.execute(
            """INSERT INTO monitor_sku_periods
               SELECT se.sku, ?, date_trunc(?, e.ds)::DATE, sum(e.y), sum(e.yhat), count(*)
               FROM monitor_errors e JOIN series se USING (series_id) GROUP BY ALL""", [grain, grain])
    datasets.set_setting(s, _PER_KEY, _errors_mark(s))


def _errors_mark(s: Session) -> str:
    v, d = raw(s).execute(
        "SELECT (SELECT value FROM settings WHERE key = ?), (SELECT value FROM settings WHERE key = ?)",
        [_V_KEY, _D_KEY]).fetchone()
    return f"{v}:{d}"


def _periods_current(s: Session) -> bool:
    """Whether monitor_sku_periods was built from monitor_errors as they stand (else: raw rows)."""
    got = raw(s).execute("SELECT value FROM settings WHERE key = ?", [_PER_KEY]).fetchone()
    return got is not None and got[0] == _errors_mark(s)


def _kept_version(s: Session, key: str) -> int | None:
    row = raw(s).execute("SELECT try_cast(value AS INTEGER) FROM settings WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def _build_backtest_rollup(s: Session, version_id: int | None) -> None:
    from core.store import datasets

    con = raw(s)
    con.execute("DELETE FROM monitor_backtests")
    con.execute("DELETE FROM monitor_backtest_pooled")
    if version_id is not None:
        for grain in ROLLUP_GRAINS:
            con.execute(
                """INSERT INTO monitor_backtests
                   SELECT series_id, ?, fold, date_trunc(?, ds)::DATE, sum(y), sum(yhat)
                   FROM chosen_backtests([?::INTEGER]) GROUP BY ALL""", [grain, grain, version_id])
        con.execute(
            """INSERT INTO monitor_backtest_pooled
               SELECT m.series_id, sum(m.abs_err), sum(m.abs_y) FROM series_metrics m
               JOIN serving_models([?::INTEGER]) c USING (version_id, series_id, model)
               WHERE m.fold IS NULL GROUP BY ALL""", [version_id])
    datasets.set_setting(s, _BT_KEY, "" if version_id is None else str(version_id))


def _build_backtest_skus(s: Session, version_id: int | None) -> None:
    """monitor_backtest_skus from the queries the reads fall back to (so the kept numbers are
    theirs exactly), marked with the version. Runs after monitor_backtests is current."""
    from core.store import datasets

    con = raw(s)
    con.execute("DELETE FROM monitor_backtest_skus")
    if version_id is not None:
        for grain in ROLLUP_GRAINS:
            sql, params = _backtest_wape_sql(s, grain, "sku", None, None, None)
            con.execute(f"INSERT INTO monitor_backtest_skus SELECT ?, sku, backtest_wape FROM ({sql})",  # noqa: S608 - own SQL
                        [grain, *params])
            sql, params = _backtest_total_sql(s, grain, None, None, None)
            con.execute(f"INSERT INTO monitor_backtest_skus SELECT ?, NULL, w FROM ({sql})",  # noqa: S608 - own SQL
                        [grain, *params])
    datasets.set_setting(s, _BT_SKU_KEY, "" if version_id is None else str(version_id))


def _kept_skus(s: Session, grain: str, skus: list | None, stores: list | None, cats: list | None) -> bool:
    """Whether an unfiltered read of this grain can take monitor_backtest_skus (built for the
    active version)."""
    if skus or stores or cats or grain not in ROLLUP_GRAINS:
        return False
    return bool(raw(s).execute(
        "SELECT (SELECT version_id FROM active WHERE scope = 'default') = "
        "(SELECT try_cast(value AS INTEGER) FROM settings WHERE key = ?)", [_BT_SKU_KEY]).fetchone()[0])


def _backtest_sources(s: Session, grain: str) -> tuple[str, str, list]:
    """FROM fragments for the active version's backtest totals per series, fold and period of
    the grain (y, yhat) and its pooled per-series errors (abs_err, abs_y), with their bind
    values: the rollup when it is current for the grain, else the raw rows (a store not yet
    re-evaluated since this code, or the day grain)."""
    current = raw(s).execute(
        "SELECT (SELECT version_id FROM active WHERE scope = 'default') = "
        "(SELECT try_cast(value AS INTEGER) FROM settings WHERE key = ?)", [_BT_KEY]).fetchone()[0]
    if current and grain in ROLLUP_GRAINS:
        return ("(SELECT series_id, fold, period, y, yhat FROM monitor_backtests WHERE grain = ?)",
                "monitor_backtest_pooled", [grain])
    return ("""(SELECT series_id, fold, date_trunc(?, ds) AS period, sum(y) AS y, sum(yhat) AS yhat
                FROM active_backtests GROUP BY ALL)""",
            """(SELECT m.series_id, sum(m.abs_err) AS abs_err, sum(m.abs_y) AS abs_y
                FROM series_metrics m JOIN active_serving c USING (version_id, series_id, model)
                WHERE m.fold IS NULL GROUP BY ALL)""", [_grain(grain)])


def _flt(skus: list[str] | None, stores: list[str] | None, cats: list[str] | None,
         prefix: str = "") -> tuple[str, list]:
    """A WHERE condition for the SKU, store and category (SKU prefix before '-') filters and its
    bind values. Only fixed fragments are added, and only for the filters in use, so an unfiltered
    query over millions of rows carries no per-row test; the values themselves are bound."""
    parts, params = [], []
    if skus:
        parts.append(f"list_contains(?, {prefix}sku)")
        params.append(list(skus))
    if stores:
        parts.append(f"list_contains(?, {prefix}store)")
        params.append(list(stores))
    if cats:
        parts.append(f"list_contains(?, split_part({prefix}sku, '-', 1))")
        params.append(list(cats))
    return (" AND ".join(parts) or "TRUE"), params


def _grain(grain: str) -> str:
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}")
    return grain


# ---------------------------------------------------------------- the active version

def active_info(s: Session) -> dict | None:
    """The active version with its forecast span and the last date with an actual for it."""
    con = raw(s)
    row = con.execute(
        """SELECT v.id, v.kind, v.created_by, v.created_at, v.metrics, v.freq, a.since
           FROM active a JOIN versions v ON v.id = a.version_id WHERE a.scope = 'default'"""
    ).fetchone()
    if row is None:
        return None
    # The version bound as a value, not joined: DuckDB then answers the span from the forecasts'
    # row-group statistics (a correlated subquery scanned every forecast: 0.08 s at 100,000 series).
    row += con.execute(
        """SELECT (SELECT min(ds) FROM forecasts WHERE version_id = ?),
                  (SELECT max(ds) FROM forecasts WHERE version_id = ?),
                  (SELECT max(ds) FROM monitor_errors)""", [row[0], row[0]]).fetchone()
    keys = ("version_id", "kind", "created_by", "created_at", "metrics", "freq", "since",
            "forecast_start", "forecast_end", "last_actual")
    return dict(zip(keys, row, strict=True))


def backtest_wape(s: Session, grain: str = "week", level: str = "sku",
                  skus: list[str] | None = None, stores: list[str] | None = None,
                  cats: list[str] | None = None) -> pd.DataFrame:
    """The active version's backtest WAPE per SKU (or SKU × store), measured the way live
    accuracy is: each series' serving model, stores summed (SKU level), totals per period of the
    grain and fold, then WAPE over them. Falls back to the pooled series_metrics (daily errors)
    for SKUs without backtest rows. Unfiltered at SKU level: the kept monitor_backtest_skus."""
    if level != "series" and _kept_skus(s, grain, skus, stores, cats):
        return raw(s).execute(
            """SELECT sku, '*' AS store, backtest_wape FROM monitor_backtest_skus
               WHERE grain = ? AND sku IS NOT NULL ORDER BY sku""", [grain]).df()
    sql, params = _backtest_wape_sql(s, grain, level, skus, stores, cats)
    return raw(s).execute(sql, params).df()


def _backtest_wape_sql(s: Session, grain: str, level: str, skus: list[str] | None,
                       stores: list[str] | None, cats: list[str] | None) -> tuple[str, list]:
    store_col = "store" if level == "series" else "'*'"
    where, params = _flt(skus, stores, cats, "se.")
    per_period, pooled, src = _backtest_sources(s, grain)
    return (
        f"""WITH b AS (
              SELECT se.sku, {store_col} AS store, b.fold, b.period, sum(b.y) AS y, sum(b.yhat) AS yhat
              FROM {per_period} b JOIN series se USING (series_id)
              WHERE {where} GROUP BY ALL),
            per_bt AS (SELECT sku, store, metric_wape(y, yhat) AS backtest_wape FROM b GROUP BY ALL),
            pooled AS (
              SELECT se.sku, {store_col} AS store,
                     metric_wape_of(sum(m.abs_err), sum(m.abs_y)) AS backtest_wape
              FROM {pooled} m JOIN series se USING (series_id)
              WHERE {where}
              GROUP BY ALL)
            SELECT sku, store, coalesce(per_bt.backtest_wape, pooled.backtest_wape) AS backtest_wape
            FROM pooled FULL OUTER JOIN per_bt USING (sku, store) ORDER BY sku, store""",  # noqa: S608 - constants only
        [*src, *params, *params])


def backtest_total(s: Session, grain: str = "week", skus: list[str] | None = None,
                   stores: list[str] | None = None, cats: list[str] | None = None) -> float | None:
    """Backtest WAPE of all SKUs in the filter together, at the same aggregation as the live
    headline (SKU totals per period). Unfiltered: the kept monitor_backtest_skus."""
    if _kept_skus(s, grain, skus, stores, cats):
        row = raw(s).execute("SELECT backtest_wape FROM monitor_backtest_skus WHERE grain = ? AND sku IS NULL",
                             [grain]).fetchone()
    else:
        row = raw(s).execute(*_backtest_total_sql(s, grain, skus, stores, cats)).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def _backtest_total_sql(s: Session, grain: str, skus: list[str] | None, stores: list[str] | None,
                        cats: list[str] | None) -> tuple[str, list]:
    where, params = _flt(skus, stores, cats, "se.")
    per_period, _pooled, src = _backtest_sources(s, grain)
    return (
        f"""WITH b AS (
              SELECT se.sku, b.fold, b.period, sum(b.y) AS y, sum(b.yhat) AS yhat
              FROM {per_period} b JOIN series se USING (series_id)
              WHERE {where} GROUP BY ALL)
            SELECT metric_wape(y, yhat) AS w FROM b""",  # noqa: S608 - constants only
        [*src, *params])


# ---------------------------------------------------------------- accuracy

# Per period of the grain, each key's totals: the rows every accuracy query takes its error on.
_PERIODS = """WITH per AS (
      SELECT sku, {store} AS store, date_trunc(?, ds)::DATE AS period, sum(y) AS y,
             sum(yhat) AS yhat, count(*) AS n
      FROM {err} le WHERE {where} GROUP BY ALL)"""
_METRICS = """sum(y) AS units, sum(yhat) AS forecast, metric_abs_err(y, yhat) AS abs_err,
      metric_abs_y(y, yhat) AS abs_y, metric_wape(y, yhat) AS wape, metric_accuracy(y, yhat) AS accuracy,
      metric_bias(y, yhat) AS bias"""


_SKU_PERIODS = """WITH per AS (
      SELECT sku, '*' AS store, period, y, yhat, n
      FROM monitor_sku_periods le WHERE grain = ? AND {where})"""


def _periods(s: Session, level: str, grain: str, stores: list[str] | None, where: str,
             since: date | None = None) -> str:
    """The `per` CTE (bind values: the grain, the filter's, then `since` if given): from
    monitor_sku_periods for SKU-level rows of a rollup grain without a store filter while it is
    current, else summed from the stored errors. `since` keeps dates from then on; the rollup
    only serves a `since` that starts a period (window_start gives one), where 'period >= since'
    and 'ds >= since' keep the same rows."""
    aligned = since is None or raw(s).execute(
        "SELECT date_trunc(?, ?::DATE)::DATE = ?::DATE", [_grain(grain), since, since]).fetchone()[0]
    if level != "series" and not stores and grain in ROLLUP_GRAINS and aligned and _periods_current(s):
        return _SKU_PERIODS.format(where=where + (" AND period >= ?" if since is not None else ""))
    store = "store" if level == "series" else "'*'"
    return _PERIODS.format(store=store, err=_ERR, where=where + (" AND ds >= ?" if since is not None else ""))


def accuracy_by_period(s: Session, grain: str = "week", level: str = "sku",
                       skus: list[str] | None = None, stores: list[str] | None = None,
                       cats: list[str] | None = None) -> pd.DataFrame:
    """Per SKU (stores summed per period before the error is taken) or per SKU × store, per
    period: units, forecast, absolute error, n, WAPE, accuracy (1 − WAPE) and bias
    ((forecast − actual) / actual: > 0 overstock, < 0 lost sales)."""
    where, params = _flt(skus, stores, cats)
    return raw(s).execute(
        f"""{_periods(s, level, grain, stores, where)}
            SELECT sku, store, period, {_METRICS}, sum(n) AS n
            FROM per GROUP BY ALL ORDER BY sku, store, period""",  # noqa: S608 - constants only
        [_grain(grain), *params],
    ).df()


def window_accuracy(s: Session, start: date, grain: str = "week", level: str = "sku",
                    skus: list[str] | None = None, stores: list[str] | None = None,
                    cats: list[str] | None = None) -> pd.DataFrame:
    """Per SKU (stores summed) or SKU × store over every date >= start, errors taken on period
    totals of the grain: units, forecast, WAPE, accuracy, bias, and the error split into lost
    sales (actual above forecast) and overstock units."""
    where, params = _flt(skus, stores, cats)
    return raw(s).execute(
        f"""{_periods(s, level, grain, stores, where, since=start)}
            SELECT sku, store, {_METRICS}, sum(n) AS n,
                   sum(greatest(y - yhat, 0)) AS lost_units, sum(greatest(yhat - y, 0)) AS over_units
            FROM per GROUP BY ALL ORDER BY sku, store""",  # noqa: S608 - constants only
        [_grain(grain), *params, start],
    ).df()


def rolling_accuracy(s: Session, window: int, grain: str = "week", level: str = "sku",
                     skus: list[str] | None = None, stores: list[str] | None = None,
                     cats: list[str] | None = None) -> pd.DataFrame:
    """Per SKU (or SKU × store) and period: WAPE and accuracy over the last `window` periods
    ending at that period (a self-join on the period index keeps the window a bound parameter)."""
    where, params = _flt(skus, stores, cats)
    return raw(s).execute(
        f"""{_periods(s, level, grain, stores, where)},
            k AS (SELECT *, dense_rank() OVER (ORDER BY period) AS k FROM per)
            SELECT p.sku, p.store, p.period, metric_wape(q.y, q.yhat) AS wape,
                   metric_accuracy(q.y, q.yhat) AS accuracy, metric_bias(q.y, q.yhat) AS bias
            FROM k p JOIN k q ON q.sku = p.sku AND q.store = p.store
                 AND q.k BETWEEN p.k - ? + 1 AND p.k
            GROUP BY ALL ORDER BY p.sku, p.store, p.period""",  # noqa: S608 - constants only
        [_grain(grain), *params, int(window)],
    ).df()


def total_by_period(s: Session, grain: str = "week", skus: list[str] | None = None,
                    stores: list[str] | None = None, cats: list[str] | None = None) -> pd.DataFrame:
    """All SKUs in the filter together per period: the headline accuracy trend. Errors are each
    SKU's period total against its forecast (stores summed), so it matches the per-SKU numbers."""
    where, params = _flt(skus, stores, cats)
    return raw(s).execute(
        f"""{_periods(s, "sku", grain, stores, where)}
            SELECT period, {_METRICS} FROM per GROUP BY ALL ORDER BY period""",  # noqa: S608 - constants only
        [_grain(grain), *params],
    ).df()


# The active version's forecasts as active_forecasts has them when no override applies.
_OWN_FORECASTS = """(SELECT se.sku, se.store, f.ds, f.yhat, f.yhat_lower, f.yhat_upper
    FROM forecasts f JOIN active a ON a.version_id = f.version_id AND a.scope = 'default'
    JOIN series se USING (series_id))"""


def forecast_vs_actual(s: Session, sku: str, store: str | None = None,
                       history_from: date | None = None) -> pd.DataFrame:
    """One SKU (stores summed, or one store): the active forecast with its interval and the
    actuals, from `history_from` on (so the chart shows some history before the forecast).
    Without a live override on the SKU the active version's own rows are read directly, with no
    override lookup (the active_forecasts view, which applies overrides, now lets a SKU filter
    reach its forecasts scan too). The actuals are found by series
    alone (the series' row groups, pruned by their id) and the dates kept by the aggregate: a
    date in the scan's filter made DuckDB read the date column of all 73M rows (0.5-0.8 s of a
    cold Monitor at 100,000 series; 0.05-0.1 s so)."""
    con = raw(s)
    overridden = con.execute(
        "SELECT EXISTS (SELECT 1 FROM overrides WHERE sku = ? AND ended_at IS NULL)", [sku]).fetchone()[0]
    source = "active_forecasts" if overridden else _OWN_FORECASTS
    return con.execute(
        f"""WITH f AS (
             SELECT ds, sum(yhat) AS yhat, sum(yhat_lower) AS yhat_lower,
                    sum(yhat_upper) AS yhat_upper
             FROM {source} WHERE sku = ? AND (? IS NULL OR store = ?) GROUP BY ds),
           a AS (  -- the date test inside the aggregate, not in WHERE: see the docstring
             SELECT ds, sum(y) FILTER (WHERE ? IS NULL OR ds >= ?) AS y FROM sales
             WHERE series_id IN (SELECT series_id FROM series WHERE sku = ? AND (? IS NULL OR store = ?))
             GROUP BY ds HAVING count(*) FILTER (WHERE ? IS NULL OR ds >= ?) > 0)
           SELECT ds, a.y, f.yhat, f.yhat_lower, f.yhat_upper
           FROM f FULL OUTER JOIN a USING (ds) ORDER BY ds""",  # noqa: S608 - one of two constants
        [sku, store, store, history_from, history_from, sku, store, store, history_from, history_from],
    ).df()


def sales_extent(s: Session) -> tuple[int, date | None]:
    """(rows, last date) of the sales: what the monitoring pages' filters need, without the
    distinct-series count of `sales.counts` (a scan of every row at 73M rows)."""
    rows, last = raw(s).execute("SELECT count(*), max(ds) FROM sales").fetchone()
    return int(rows), last


def max_error_date(s: Session) -> date | None:
    return raw(s).execute("SELECT max(ds) FROM monitor_errors").fetchone()[0]


# ---------------------------------------------------------------- drift samples

def drift_samples(s: Session, ref: tuple[date, date], cur: tuple[date, date],
                  level: str = "sku", skus: list[str] | None = None, stores: list[str] | None = None,
                  cats: list[str] | None = None, regressors: bool = True) -> pd.DataFrame:
    """Per SKU and column ('units' and, with `regressors`, each regressor): the reference and
    current values as lists (one value per store and date), built in DuckDB in one pass."""
    store_col = "store" if level == "series" else "'*'"
    return raw(s).execute(
        f"""WITH v AS (
              SELECT sku, store, ds, 'units' AS col, y AS value
              FROM sales JOIN series USING (series_id)
              WHERE (ds BETWEEN ? AND ?) OR (ds BETWEEN ? AND ?)
              UNION ALL
              SELECT sku, store, ds, name AS col, value
              FROM regressors JOIN series USING (series_id)
              WHERE ? AND value IS NOT NULL AND ((ds BETWEEN ? AND ?) OR (ds BETWEEN ? AND ?))
            )
            SELECT * FROM (
              SELECT sku, {store_col} AS store, col,
                     list(value) FILTER (WHERE ds BETWEEN ? AND ?) AS ref,
                     list(value) FILTER (WHERE ds BETWEEN ? AND ?) AS cur
              FROM v WHERE {_flt(skus, stores, cats)[0]} GROUP BY 1, 2, 3)
            ORDER BY sku, store, col <> 'units', col""",  # noqa: S608 - constants only
        [*ref, *cur, bool(regressors), *ref, *cur, *ref, *cur, *_flt(skus, stores, cats)[1]],
    ).df()


def series_span(s: Session) -> tuple[date | None, date | None]:
    row = raw(s).execute("SELECT min(ds), max(ds) FROM sales").fetchone()
    return row[0], row[1]


# ---------------------------------------------------------------- rules and alerts

def list_rules(s: Session) -> list[AlertRule]:
    return list(s.exec(select(AlertRule).order_by(AlertRule.id)).all())  # type: ignore[arg-type]


def get_rule(s: Session, rule_id: int) -> AlertRule | None:
    return s.get(AlertRule, rule_id)


def save_rule(s: Session, rule: AlertRule) -> AlertRule:
    return save(s, rule)


def delete_rule(s: Session, rule: AlertRule) -> None:
    s.delete(rule)
    s.flush()


def live_alerts(s: Session, rule_id: int | None = None) -> list[Alert]:
    """Open or acknowledged alerts (of one rule, or all)."""
    q = select(Alert).where(Alert.status != "resolved")
    if rule_id is not None:
        q = q.where(Alert.rule_id == rule_id)
    return list(s.exec(q.order_by(Alert.id)).all())  # type: ignore[arg-type]


_ALERT_COLUMNS = ("id", "rule_id", "kind", "sku", "store", "status", "value", "threshold", "message",
                  "details", "version_id", "opened_at", "updated_at", "evaluations", "acknowledged_by",
                  "acknowledged_at", "ack_note", "resolved_at")


@dataclass(slots=True)
class AlertRow:
    """An alert as read for display (the Alert table's fields, no ORM state): building a
    thousand SQLModel objects cost most of a second of a Monitor view or an evaluation."""

    id: int
    rule_id: int
    kind: str
    sku: str
    store: str
    status: str
    value: float | None
    threshold: float | None
    message: str
    details: str
    version_id: int | None
    opened_at: datetime
    updated_at: datetime
    evaluations: int
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    ack_note: str | None = None
    resolved_at: datetime | None = None


@dataclass(slots=True)
class EventRow:
    id: int
    alert_id: int
    action: str
    actor: str
    note: str | None
    value: float | None
    created_at: datetime


ALERT_LIST_CAP = 1000  # alerts a listing holds by default; counts come from `alert_counts`


def list_alerts(s: Session, statuses: list[str] | None = None, limit: int | None = ALERT_LIST_CAP,
                skus: list[str] | None = None, cats: list[str] | None = None,
                stake: tuple[list[str], list[float]] | None = None) -> list[AlertRow]:
    """The first `limit` (None: all) alerts of the SKUs / categories in the filter, read in one
    query: newest first, or with `stake` (SKUs and their units at stake, bound as two lists) the
    SKUs with the most at stake first, so a cut list keeps what matters, not what fired last."""
    flt, fp = _flt(skus, None, cats, "a.")
    cols = ", ".join(f"a.{c}" for c in _ALERT_COLUMNS)
    sk, sv = stake if stake else ([], [])
    rows = raw(s).execute(
        f"""WITH r AS (SELECT unnest(?::VARCHAR[]) AS sku, unnest(?::DOUBLE[]) AS stake)
            SELECT {cols} FROM alerts a LEFT JOIN r ON r.sku = a.sku
            WHERE (? IS NULL OR list_contains(?, a.status)) AND {flt}
            ORDER BY {"r.stake DESC NULLS LAST, a.sku, a.id DESC" if stake else "a.id DESC"}
            LIMIT ?""",  # noqa: S608 - constant fragments
        [list(sk), [float(x) for x in sv], list(statuses) if statuses else None,
         list(statuses) if statuses else None, *fp, None if limit is None else int(limit)]).fetchall()
    return [AlertRow(*r) for r in rows]


def get_alert_row(s: Session, alert_id: int) -> AlertRow | None:
    row = raw(s).execute(f"SELECT {', '.join(_ALERT_COLUMNS)} FROM alerts WHERE id = ?",  # noqa: S608 - constant
                         [int(alert_id)]).fetchone()
    return AlertRow(*row) if row else None


def alert_counts(s: Session, skus: list[str] | None = None, cats: list[str] | None = None) -> dict[str, int]:
    """Alerts per status (of the SKUs / categories in the filter): the true numbers, whatever
    a listing holds."""
    flt, fp = _flt(skus, None, cats)
    return dict(raw(s).execute(f"SELECT status, count(*) FROM alerts WHERE {flt} GROUP BY status",  # noqa: S608
                               fp).fetchall())


def live_counts_by_sku(s: Session, skus: list[str] | None = None, cats: list[str] | None = None) -> dict[str, int]:
    """Open or acknowledged alerts per SKU (of the SKUs / categories in the filter)."""
    flt, fp = _flt(skus, None, cats)
    return dict(raw(s).execute(
        f"SELECT sku, count(*) FROM alerts WHERE status <> 'resolved' AND {flt} GROUP BY sku",  # noqa: S608
        fp).fetchall())


def get_alert(s: Session, alert_id: int) -> Alert | None:
    return s.get(Alert, alert_id)


def save_alert(s: Session, alert: Alert) -> Alert:
    return save(s, alert)


def add_event(s: Session, alert_id: int, action: str, actor: str, note: str | None = None,
              value: float | None = None) -> None:
    s.add(AlertEvent(alert_id=alert_id, action=action, actor=actor, note=note, value=value))
    s.flush()


def live_alert_rows(s: Session) -> list[tuple]:
    """Every open or acknowledged alert as (id, rule_id, sku, store, version_id, value), by id:
    what an evaluation matches its findings against, read in one query."""
    return raw(s).execute(
        """SELECT id, rule_id, sku, store, version_id, value FROM alerts
           WHERE status <> 'resolved' ORDER BY id""").fetchall()


def next_ids(s: Session, table: str, n: int) -> list[int]:
    """`n` ids drawn from the table's sequence, ascending (as `n` ORM inserts would draw them)."""
    if n <= 0:
        return []
    seq = {"alerts": "alerts_id_seq", "alert_events": "alert_events_id_seq"}[table]
    return [r[0] for r in raw(s).execute(
        f"SELECT nextval('{seq}') AS id FROM range(?) ORDER BY id", [int(n)]).fetchall()]  # noqa: S608 - constant


_NEW_ALERT_TYPES = {
    "id": "int64", "rule_id": "int64", "kind": "string", "sku": "string", "store": "string",
    "value": "float64", "threshold": "float64", "message": "string", "details": "string",
    "version_id": "int64"}
_UPDATE_TYPES = {"id": "int64", "kind": "string", "value": "float64", "message": "string",
                 "details": "string", "version_id": "int64"}
_EVENT_TYPES = {"id": "int64", "alert_id": "int64", "action": "string", "actor": "string",
                "note": "string", "value": "float64"}


def _arrow(rows: dict[str, list], types: dict[str, str]):
    """Columns as an Arrow table: None stays NULL and NaN stays NaN, as the ORM stored them (a
    pandas frame would turn both into the same missing value)."""
    import pyarrow as pa

    return pa.table({c: pa.array(rows[c], type=getattr(pa, t)()) for c, t in types.items()})


def apply_evaluation(s: Session, at: datetime, opened: dict[str, list], updated: dict[str, list],
                     resolved: list[int], events: dict[str, list]) -> None:
    """Write one evaluation set-based, one statement per kind of change: new alerts (ids already
    drawn with `next_ids`), the alerts still firing (value, message, details, version, kind;
    evaluations + 1), the resolved ones, and their events. One ORM flush per alert cost ~15 ms,
    15 s for the thousand alerts of a 100,000-series fleet."""
    con = raw(s)
    if opened["id"]:
        con.register("_new_alerts", _arrow(opened, _NEW_ALERT_TYPES))
        try:
            con.execute(
                """INSERT INTO alerts (id, rule_id, kind, sku, store, status, value, threshold,
                       message, details, version_id, opened_at, updated_at, evaluations)
                   SELECT id, rule_id, kind, sku, store, 'open', value, threshold, message, details,
                          version_id, ?, ?, 1 FROM _new_alerts ORDER BY id""", [at, at])
        finally:
            con.unregister("_new_alerts")
    if updated["id"]:
        con.register("_upd_alerts", _arrow(updated, _UPDATE_TYPES))
        try:
            con.execute(
                """UPDATE alerts SET value = u.value, message = u.message, details = u.details,
                          version_id = u.version_id, kind = u.kind, updated_at = ?,
                          evaluations = alerts.evaluations + 1
                   FROM _upd_alerts u WHERE alerts.id = u.id""", [at])
        finally:
            con.unregister("_upd_alerts")
    if resolved:
        con.execute("""UPDATE alerts SET status = 'resolved', resolved_at = ?, updated_at = ?
                       WHERE list_contains(?, id)""", [at, at, list(resolved)])
    if events["id"]:
        con.register("_new_events", _arrow(events, _EVENT_TYPES))
        try:
            con.execute(
                """INSERT INTO alert_events (id, alert_id, action, actor, note, value, created_at)
                   SELECT id, alert_id, action, actor, note, value, ? FROM _new_events ORDER BY id""",
                [at])
        finally:
            con.unregister("_new_events")


def events(s: Session, alert_id: int | None = None, limit: int = 500) -> list[EventRow]:
    """Newest first, read in one query."""
    rows = raw(s).execute(
        """SELECT id, alert_id, action, actor, note, value, created_at FROM alert_events
           WHERE ? IS NULL OR alert_id = ? ORDER BY id DESC LIMIT ?""",
        [alert_id, alert_id, int(limit)]).fetchall()
    return [EventRow(*r) for r in rows]


# ---------------------------------------------------------------- data quality (core.monitoring.quality)

def store_feeds(s: Session) -> pd.DataFrame:
    """Per store: its last date with actuals, its usual cadence (median days between its
    dates), and the newest date of any store (`newest`)."""
    return raw(s).execute(
        """WITH d AS (SELECT DISTINCT se.store, sa.ds FROM sales sa JOIN series se USING (series_id)),
                g AS (SELECT store, ds, date_diff('day', lag(ds) OVER (PARTITION BY store ORDER BY ds), ds)
                             AS gap FROM d)
           SELECT store, max(ds) AS last, coalesce(median(gap), 1) AS cadence,
                  (SELECT max(ds) FROM sales) AS newest
           FROM g GROUP BY store ORDER BY store"""
    ).df()


def recent_zeros(s: Session, recent: int, reference: int) -> pd.DataFrame:
    """Per series over the store's newest `recent` dates and the `reference` dates before them:
    rows and non-zero rows in each, and the reference mean."""
    return raw(s).execute(
        """WITH dd AS (SELECT ds, row_number() OVER (ORDER BY ds DESC) AS k
                       FROM (SELECT DISTINCT ds FROM sales)),
                x AS (SELECT sa.series_id, dd.k, sa.y FROM sales sa JOIN dd USING (ds) WHERE dd.k <= ?)
           SELECT se.sku, se.store,
                  count(*) FILTER (WHERE k <= ?) AS recent_rows,
                  count(*) FILTER (WHERE k <= ? AND y <> 0) AS recent_nonzero,
                  count(*) FILTER (WHERE k > ?) AS ref_rows,
                  count(*) FILTER (WHERE k > ? AND y > 0) AS ref_nonzero,
                  avg(y) FILTER (WHERE k > ?) AS ref_mean
           FROM x JOIN series se USING (series_id) GROUP BY ALL ORDER BY se.sku, se.store""",
        [int(recent) + int(reference), *[int(recent)] * 5],
    ).df()


def upload_sizes(s: Session, last: int) -> pd.DataFrame:
    """The newest `last` sales uploads, newest first: id, file_name, rows (added + updated),
    days (dates spanned) and rows_per_day."""
    return raw(s).execute(
        """SELECT id, file_name, rows_added + rows_updated AS rows,
                  greatest(coalesce(date_diff('day', first_date, last_date), 0) + 1, 1) AS days,
                  (rows_added + rows_updated) / greatest(coalesce(date_diff('day', first_date, last_date), 0) + 1, 1)
                      AS rows_per_day
           FROM datasets ORDER BY id DESC LIMIT ?""",
        [int(last)],
    ).df()


def regressor_plans(s: Session, lookback_days: int) -> pd.DataFrame:
    """Per series and regressor used in the last `lookback_days` of actuals: the last date it has
    a value for (its plan's end) and the last actual."""
    return raw(s).execute(
        """WITH m AS (SELECT max(ds) AS last FROM sales)
           SELECT se.sku, se.store, r.name, max(r.ds) AS plan_end, any_value(m.last) AS last_actual
           FROM regressors r JOIN series se USING (series_id), m
           WHERE r.value IS NOT NULL
           GROUP BY ALL
           HAVING max(r.ds) >= any_value(m.last) - to_days(?)
           ORDER BY se.sku, se.store, r.name""",
        [int(lookback_days)],
    ).df()
