"""The managers' forecast view in SQL: the published forecast's coming Monday weeks per SKU x
store, filtered and summed in DuckDB, so a page reads only the rows it shows (at 100,000 series
the unfiltered view is 10^5-10^6 rows; building it in pandas first took 18 s a render).

Series filters (category = the SKU's prefix before the first '-', store, SKU) are applied to
`series` first and every other table is read through the chosen series_ids; forecasts and
sales are read only over the dates the view needs. The planner overrides in force are applied
to each day exactly as the `active_forecasts` view (and core.inventory.overrides) applies them:
the newest covering override wins, 'units' moves yhat and its band by as much (never below 0),
'pct' scales them. P10/P90 are the stored `yhat_lower`/`yhat_upper`, which hold the run's
calibrated P10/P90 (core.training.steps); `has_band` says whether the version has them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import pandas as pd
import pyarrow as pa
from sqlmodel import Session

from core.store.db import raw
from core.store.schema import DDL

# The actuals the view sets beside the forecast (`weekly_actuals`), kept by the write paths that
# change them (an upload or deletion of sales, a promotion that moves the coming weeks), so the
# page's first render after such a write does not scan every sale: `forecast_view_marks.mark`
# says which spans and sales state they are for (`actuals_mark`); a read for another mark scans.
DDL += [
    "CREATE TABLE IF NOT EXISTS forecast_view_ly (series_id INTEGER NOT NULL, week DATE NOT NULL, units DOUBLE)",
    "CREATE TABLE IF NOT EXISTS forecast_view_recent (series_id INTEGER NOT NULL, recent_avg DOUBLE)",
    "CREATE TABLE IF NOT EXISTS forecast_view_marks (mark VARCHAR NOT NULL)",
]
KEPT = ("forecast_view_ly", "forecast_view_recent")  # what `weekly_view` reads for actuals=None

# the chosen series: NULL lists mean "all"
_SEL = """SELECT series_id FROM series
          WHERE ($cats::VARCHAR[] IS NULL OR list_contains($cats::VARCHAR[], split_part(sku, '-', 1)))
            AND ($stores::VARCHAR[] IS NULL OR list_contains($stores::VARCHAR[], store))
            AND ($skus::VARCHAR[] IS NULL OR list_contains($skus::VARCHAR[], sku))"""


def _adjust(col: str) -> str:
    """One value column with the day's override applied (the `active_forecasts` rule)."""
    return f"""CASE WHEN h.mode = 'pct' THEN f.{col} * (1 + h.value / 100)
                    WHEN h.mode = 'units' THEN CASE WHEN f.{col} + h.value - f.yhat IS NOT NULL
                         THEN greatest(f.{col} + h.value - f.yhat, 0) END
                    ELSE f.{col} END"""


def _rows_sql(filtered: bool, gaps: bool, kept: bool = False) -> str:
    """The per (series, week) rows of the view as a CTE chain ending in `v`, over the last-year
    and recent actuals registered as `_fc_ly` and `_fc_rec` (`weekly_actuals`). Named
    parameters: $version, $after, $lo, $hi (the weeks' span), $weeks and, when `filtered`,
    $cats, $stores, $skus. The forecasts are read once, through the chosen series only when a
    filter is set; the overrides in force are expanded to the (series, day) they cover, which
    is few rows, rather than matched against every forecast row. `gaps`: the weeks are not
    consecutive, so the span [$lo, $hi) holds weeks that are not shown (read $weeks)."""
    chosen = f"AND f.series_id IN ({_SEL})" if filtered else ""
    ly, rec = KEPT if kept else ("_fc_ly", "_fc_rec")
    weeks = "AND list_contains($weeks::DATE[], CAST(date_trunc('week', f.ds) AS DATE))" if gaps else ""
    return f"""
        WITH hit AS (
            SELECT se.series_id, CAST(d.ds AS DATE) AS ds, o.mode, o.value,
                   row_number() OVER (PARTITION BY se.series_id, d.ds ORDER BY o.id DESC) AS rk
            FROM overrides o JOIN series se ON se.sku = o.sku AND (o.store IS NULL OR o.store = se.store),
                 LATERAL (SELECT unnest(generate_series(CAST(greatest(o.start_date, $lo::DATE) AS TIMESTAMP),
                                                        CAST(least(o.end_date, $hi::DATE - 1) AS TIMESTAMP),
                                                        INTERVAL 1 DAY)) AS ds) d
            WHERE o.ended_at IS NULL AND o.end_date >= $lo::DATE AND o.start_date < $hi::DATE),
        f AS (SELECT f.series_id, f.ds, f.yhat, f.yhat_lower, f.yhat_upper,
                     CAST(date_trunc('week', f.ds) AS DATE) AS week
              FROM forecasts f
              WHERE f.version_id = $version AND ($after::DATE IS NULL OR f.ds > $after::DATE)
                AND f.ds >= $lo::DATE AND f.ds < $hi::DATE
                {weeks} {chosen}),
        g AS (SELECT f.series_id, f.week, sum({_adjust('yhat')}) AS forecast,
                     sum({_adjust('yhat_lower')}) AS p10, sum({_adjust('yhat_upper')}) AS p90
              FROM f LEFT JOIN hit h ON h.series_id = f.series_id AND h.ds = f.ds AND h.rk = 1
              GROUP BY ALL),
        v AS MATERIALIZED (
            SELECT g.series_id, s.sku, s.store, g.week, g.forecast, g.p10, g.p90, ly.units AS last_year,
                   rec.recent_avg
            FROM g JOIN series s USING (series_id)
                   LEFT JOIN {ly} ly ON ly.series_id = g.series_id AND ly.week = g.week
                   LEFT JOIN {rec} rec ON rec.series_id = g.series_id)"""  # noqa: S608 - fixed text, values bound


def _params(version_id: int, after: date | None, weeks: list[date], categories, stores, skus) -> dict:
    p = {"version": version_id, "after": after, "lo": min(weeks), "hi": max(weeks) + timedelta(days=7)}
    if (max(weeks) - min(weeks)).days != 7 * (len(weeks) - 1):
        p["weeks"] = weeks
    if categories or stores or skus:
        p.update(cats=list(categories) if categories else None, stores=list(stores) if stores else None,
                 skus=list(skus) if skus else None)
    return p


def sales_state(s: Session) -> tuple:
    """What the sales are as of: every write to them adds an upload (`datasets`) or a deletion
    (`sales_deletions`) row in its transaction; the times tell a rebuilt store apart."""
    return tuple(raw(s).execute(
        """SELECT (SELECT max(id) FROM datasets), (SELECT max(created_at) FROM datasets),
                  (SELECT max(id) FROM sales_deletions), (SELECT max(deleted_at) FROM sales_deletions)"""
    ).fetchone())


def actuals_mark(s: Session, last_year: tuple[date, date], recent: tuple[date, date] | None) -> str:
    """The mark of `weekly_actuals(last_year, recent)` at the sales' present state."""
    return repr((last_year, recent, sales_state(s)))


def kept_actuals(s: Session, mark: str) -> bool:
    """Whether the kept actuals are those of `mark` (then `weekly_view` may read them)."""
    got = raw(s).execute("SELECT mark FROM forecast_view_marks").fetchall()
    return len(got) == 1 and got[0][0] == mark


def keep_actuals(s: Session, actuals: tuple[pa.Table, pa.Table], mark: str) -> None:
    con = raw(s)
    con.execute("DELETE FROM forecast_view_marks")
    for table, rows, cols in zip(KEPT, actuals, ("series_id, week, units", "series_id, recent_avg"), strict=True):
        con.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        con.register("_fc_incoming", rows)
        try:
            con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _fc_incoming")  # noqa: S608 - fixed names
        finally:
            con.unregister("_fc_incoming")
    con.execute("INSERT INTO forecast_view_marks VALUES (?)", [mark])


def weekly_actuals(s: Session, last_year: tuple[date, date], recent: tuple[date, date] | None
                   ) -> tuple[pa.Table, pa.Table]:
    """The actuals the view sets beside the forecast, from one scan of the sales table (at 73M
    rows the costly read of the view, which is why the caller keeps them until the sales
    change): `ly` series_id, week, units: the units of the Monday week 52 weeks before `week`,
    for the weeks whose year-earlier week lies in `last_year` [start, end); `rec` series_id,
    recent_avg: the mean weekly units over the complete weeks `recent` [start, end)."""
    spans = [last_year, *([recent] if recent else [])]
    cond = " OR ".join("(ds >= ?::DATE AND ds < ?::DATE)" for _ in spans)
    con = raw(s)
    weeks = con.execute(
        f"""SELECT series_id, CAST(date_trunc('week', ds) AS DATE) AS week, sum(y) AS units
            FROM sales WHERE {cond} GROUP BY ALL""",  # noqa: S608 - fixed text, dates bound
        [d for span in spans for d in span]).fetch_arrow_table()
    con.register("_fc_weeks", weeks)
    try:
        ly = con.execute(
            """SELECT series_id, CAST(week + INTERVAL 364 DAY AS DATE) AS week, units FROM _fc_weeks
               WHERE week >= ?::DATE AND week < ?::DATE""", list(last_year)).fetch_arrow_table()
        rec = con.execute(
            """SELECT series_id, avg(units) AS recent_avg FROM _fc_weeks
               WHERE week >= ?::DATE AND week < ?::DATE GROUP BY ALL""",
            list(recent or (None, None))).fetch_arrow_table()
    finally:
        con.unregister("_fc_weeks")
    return ly, rec


def coming_weeks(s: Session, version_id: int, after: date | None, weeks: int) -> list[date]:
    """The first `weeks` Monday weeks holding a forecast date of the version after `after`
    (over every series: filters narrow the rows, never the weeks)."""
    return [r[0] for r in raw(s).execute(
        """SELECT DISTINCT CAST(date_trunc('week', ds) AS DATE) AS week FROM forecasts
           WHERE version_id = ? AND (?::DATE IS NULL OR ds > ?::DATE) ORDER BY week LIMIT ?""",
        [version_id, after, after, weeks]).fetchall()]


def has_band(s: Session, version_id: int, after: date | None) -> bool:
    """Whether the version has calibrated P10 and P90 after `after` (versions trained before
    quantiles were stored have none)."""
    row = raw(s).execute(
        """SELECT EXISTS (SELECT 1 FROM forecast_quantiles WHERE version_id = ? AND abs(q - 0.1) < 1e-9
                          AND value IS NOT NULL AND (?::DATE IS NULL OR ds > ?::DATE)),
                  EXISTS (SELECT 1 FROM forecast_quantiles WHERE version_id = ? AND abs(q - 0.9) < 1e-9
                          AND value IS NOT NULL AND (?::DATE IS NULL OR ds > ?::DATE))""",
        [version_id, after, after, version_id, after, after]).fetchone()
    return bool(row[0] and row[1])


def weekly_view(s: Session, version_id: int, after: date | None, weeks: list[date],
                actuals: tuple[pa.Table, pa.Table] | None, *, categories: Sequence[str] | None = None,
                stores: Sequence[str] | None = None, skus: Sequence[str] | None = None,
                limit: int | None = None, totals: bool = False) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(rows, totals) of the chosen series, in one query (the rows are summed once), with
    `actuals` = `weekly_actuals(...)` for these weeks, or None to read the kept ones (the
    caller checked `kept_actuals`).

    rows: sku, store, week, forecast, p10, p90 (sums of each day's values, overrides applied;
    NULL when every day lacks one), last_year (units of the week 52 weeks earlier) and
    recent_avg (the mean weekly units over the recent complete weeks), ordered by sku, store,
    week; the first `limit` rows when given.
    totals (with `totals`): per week forecast, p10, p90 and last_year summed over the rows as
    people see them (each clipped at 0 and rounded half to even, as the table), `rows` and
    `series`, and a last row with week NULL for all weeks together (series counted once)."""
    cols = ["sku", "store", "week", "forecast", "p10", "p90", "last_year", "recent_avg"]
    if not weeks:
        return pd.DataFrame(columns=cols), (pd.DataFrame(columns=["week", "forecast", "p10", "p90", "last_year",
                                                                  "rows", "series"]) if totals else None)
    p = _params(version_id, after, weeks, categories, stores, skus)
    sql = _rows_sql("cats" in p, "weeks" in p, kept=actuals is None)
    top = "SELECT * FROM v ORDER BY sku, store, week" + (" LIMIT $limit" if limit is not None else "")  # noqa: S608
    if limit is not None:
        p["limit"] = int(limit)
    con = raw(s)
    if actuals is not None:
        con.register("_fc_ly", actuals[0])
        con.register("_fc_rec", actuals[1])
    try:
        if not totals:
            return con.execute(sql + " " + top, p).df()[cols], None
        both = con.execute(
            sql + f""", top AS ({top}),
            tot AS (SELECT week, {_rounded('forecast')} AS forecast, {_rounded('p10')} AS p10,
                           {_rounded('p90')} AS p90, {_rounded('last_year')} AS last_year,
                           count(*) AS rows, count(DISTINCT series_id) AS series
                    FROM v GROUP BY GROUPING SETS ((week), ()))
            SELECT 0 AS part, sku, store, week, forecast, p10, p90, last_year, recent_avg,
                   NULL::BIGINT AS rows, NULL::BIGINT AS series FROM top
            UNION ALL
            SELECT 1, NULL, NULL, week, forecast, p10, p90, last_year, NULL, rows, series FROM tot
            ORDER BY part, sku, store, week NULLS LAST""", p).df()  # noqa: S608 - fixed text, values bound
    finally:
        if actuals is not None:
            con.unregister("_fc_ly")
            con.unregister("_fc_rec")
    part = both["part"].to_numpy()
    rows = both[part == 0][cols].reset_index(drop=True)
    tot = both[part == 1][["week", "forecast", "p10", "p90", "last_year", "rows", "series"]].reset_index(drop=True)
    return rows, tot


def _rounded(c: str) -> str:
    """The sum of a column as people see its rows: each clipped at 0 and rounded half to even."""
    # DuckDB's cast to an integer rounds half to even, as pandas' round(); NULL stays NULL
    return f"sum(CASE WHEN {c} IS NULL THEN NULL ELSE CAST(greatest({c}, 0) AS BIGINT) END)"


def choices(s: Session, version_id: int, after: date | None, weeks: list[date]) -> pd.DataFrame:
    """category, sku, store of every series with a forecast of the version after `after` in
    `weeks`: what the view's filters offer."""
    if not weeks:
        return pd.DataFrame(columns=["category", "sku", "store"])
    return raw(s).execute(
        """SELECT split_part(sku, '-', 1) AS category, sku, store FROM series
           WHERE series_id IN (SELECT series_id FROM forecasts WHERE version_id = ?
                               AND (?::DATE IS NULL OR ds > ?::DATE) AND ds >= ?::DATE AND ds < ?::DATE
                               AND list_contains(?::DATE[], CAST(date_trunc('week', ds) AS DATE)))""",
        [version_id, after, after, min(weeks), max(weeks) + pd.Timedelta(days=7), weeks]).df()


def active_span(s: Session, after: date | None) -> tuple[int | None, date | None, date | None, int]:
    """The published version, its first and last forecast date, and how many distinct forecast
    dates lie after `after` (the last actual). Read from `forecasts` itself: overrides change
    values, never dates, and the `active_forecasts` view resolves them for every row."""
    row = raw(s).execute(
        """SELECT any_value(f.version_id), min(f.ds), max(f.ds),
                  count(DISTINCT f.ds) FILTER (WHERE ? IS NULL OR f.ds > ?)
           FROM forecasts f JOIN active a ON a.version_id = f.version_id AND a.scope = 'default'""",
        [after, after],
    ).fetchone()
    return row[0], row[1], row[2], int(row[3] or 0)
