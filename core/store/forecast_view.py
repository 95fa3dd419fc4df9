"""Weekly actuals per SKU x store for the managers' forecast view (Monday weeks, summed in DuckDB)."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlmodel import Session

from core.store.db import raw


def weekly_actuals(s: Session, since: date) -> pd.DataFrame:
    """Columns sku, store, week (the Monday), units, days (how many dates the week holds)."""
    return raw(s).execute(
        """SELECT sku, store, CAST(date_trunc('week', ds) AS DATE) AS week, sum(y) AS units,
                  count(DISTINCT ds) AS days
           FROM sales JOIN series USING (series_id) WHERE ds >= ? GROUP BY ALL""",
        [since],
    ).df()


def weekly_table(s: Session, fc: pd.DataFrame, last: date | None, weeks: int,
                 since: date, recent: tuple[date, date] | None) -> pd.DataFrame:
    """The first `weeks` Monday weeks of the forecast frame `fc` (sku, store, date, yhat, p10,
    p90) after `last`, summed per SKU x store (a band sum stays NULL when every day lacks it),
    with the same week 52 weeks earlier (`last_year`) and the mean weekly units over the complete
    weeks in `recent` [start, end) (`recent_avg`). One query, reading only the sales of those
    weeks: grouping 10^6 forecast rows in pandas with a per-group lambda took seconds."""
    con = raw(s)
    con.register("_fc_frame", fc[["sku", "store", "date", "yhat", "p10", "p90"]])
    try:
        return con.execute(
            """WITH f AS (
                   SELECT sku, store, yhat, p10, p90,
                          CAST(date_trunc('week', CAST(date AS DATE)) AS DATE) AS week
                   FROM _fc_frame WHERE ?::DATE IS NULL OR CAST(date AS DATE) > ?::DATE),
               keep AS (SELECT DISTINCT week FROM f ORDER BY week LIMIT ?),
               g AS (SELECT sku, store, week, sum(yhat) AS forecast, sum(p10) AS p10, sum(p90) AS p90
                     FROM f WHERE week IN (SELECT week FROM keep) GROUP BY ALL),
               span AS (SELECT min(week) - INTERVAL 364 DAY AS lo, max(week) - INTERVAL 357 DAY AS hi FROM g),
               act AS (SELECT sku, store, CAST(date_trunc('week', ds) AS DATE) AS week, sum(y) AS units
                       FROM sales JOIN series USING (series_id), span
                       WHERE ds >= ? AND ((ds >= span.lo AND ds < span.hi)
                             OR (ds >= ?::DATE AND ds < ?::DATE))
                       GROUP BY ALL),
               rec AS (SELECT sku, store, avg(units) AS recent_avg FROM act
                       WHERE week >= ?::DATE AND week < ?::DATE GROUP BY ALL)
               SELECT g.sku, g.store, g.week, g.forecast, g.p10, g.p90, ly.units AS last_year,
                      rec.recent_avg
               FROM g LEFT JOIN act ly ON ly.sku = g.sku AND ly.store = g.store
                                      AND ly.week = g.week - INTERVAL 364 DAY
                      LEFT JOIN rec ON rec.sku = g.sku AND rec.store = g.store
               ORDER BY g.sku, g.store, g.week""",
            [last, last, weeks, since, *(recent or (None, None)), *(recent or (None, None))],
        ).df()
    finally:
        con.unregister("_fc_frame")


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
