"""What a store manager plans with: the published forecast of the coming weeks per SKU x store,
in Monday-to-Sunday buckets, with the same week last year and the recent weekly average beside
it. Only dates after the last actual count as coming (a past forecast is not a plan), units are
rounded for people and files, and P10/P90 are sums of the per-date quantiles: a wider band than
the week's own quantiles, so a safe side for ordering, and said so on the page.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from core import exports, forecasts, registry
from core.store import forecast_view as store
from core.store import sales, session

RECENT_WEEKS = 4
MIN_WEEKS, MAX_WEEKS = 4, 13


@dataclass(frozen=True)
class WeeklyForecast:
    """`table`: sku, store, category, week, forecast, p10, p90 (when calibrated), last_year,
    recent_avg. `version` None when nothing is published; `last_actual` the newest sales date."""

    table: pd.DataFrame
    version: int | None
    last_actual: date | None
    has_band: bool


def category(sku: pd.Series) -> pd.Series:
    """The Monitor page's category: the SKU's prefix before the first '-'."""
    return sku.astype(str).str.split("-", n=1).str[0]


def weekly(db=None, weeks: int = 13) -> WeeklyForecast:
    weeks = int(min(max(weeks, MIN_WEEKS), MAX_WEEKS))
    version = registry.active_version(db)
    with session(db) as s:
        last = sales.date_range(s)[1]
    cols = ["sku", "store", "category", "week", "forecast", "p10", "p90", "last_year", "recent_avg"]
    if version is None:
        return WeeklyForecast(pd.DataFrame(columns=cols), None, last, False)
    fc = forecasts.forecast_frame(version, db)
    if last is not None:
        fc = fc[pd.to_datetime(fc["date"]) > pd.Timestamp(last)]
    has_band = {"p10", "p90"} <= set(fc.columns) and fc[["p10", "p90"]].notna().any().all() if len(fc) else False
    if not has_band:
        fc = fc.assign(p10=np.nan, p90=np.nan)
    if fc.empty:
        return WeeklyForecast(pd.DataFrame(columns=cols), version, last, has_band)
    first_day = pd.Timestamp(min(fc["date"])).date()
    first = first_day - timedelta(days=first_day.weekday())
    since = first - timedelta(days=364 + 7 * weeks) if last is None else min(
        first - timedelta(days=364), last - timedelta(days=7 * (RECENT_WEEKS + 1)))
    recent = None
    if last is not None:  # complete weeks before the last actual's week
        end = last - timedelta(days=last.weekday())
        recent = (end - timedelta(days=7 * RECENT_WEEKS), end)
    with session(db) as s:
        out = store.weekly_table(s, fc, last, weeks, since, recent)
    out["week"] = pd.to_datetime(out["week"]).dt.date
    out["category"] = category(out["sku"])
    for c in ["forecast", "p10", "p90", "last_year", "recent_avg"]:
        out[c] = out[c].astype("float64").clip(lower=0).round().astype("Int64")
    return WeeklyForecast(out[cols], version, last, has_band)


def to_xlsx_bytes(df: pd.DataFrame) -> bytes:
    """An Excel workbook of a table, with text cells formula-neutralised as in the CSV export."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        exports.safe_frame(df).to_excel(xw, index=False, sheet_name="forecast")
    return buf.getvalue()
