"""What a store manager plans with: the published forecast of the coming weeks per SKU x store,
in Monday-to-Sunday buckets, with the same week last year and the recent weekly average beside
it. Only dates after the last actual count as coming (a past forecast is not a plan), units are
rounded for people and files, and P10/P90 are sums of the per-date quantiles: a wider band than
the week's own quantiles, so a safe side for ordering, and said so on the page.

Filters are applied in the store before anything is summed (core.store.forecast_view): a page
asks for the first rows it shows and the totals of the whole selection, never for every SKU x
store x week of a 100,000-series fleet; a download asks for the whole selection when clicked.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from core import exports
from core.store import forecast_view as store
from core.store import registry, sales, session
from core.store.db import memo

log = logging.getLogger(__name__)
RECENT_WEEKS = 4
MIN_WEEKS, MAX_WEEKS = 4, 13
COLUMNS = ["sku", "store", "category", "week", "forecast", "p10", "p90", "last_year", "recent_avg"]
UNITS = ["forecast", "p10", "p90", "last_year", "recent_avg"]


@dataclass(frozen=True)
class WeeklyForecast:
    """`table`: sku, store, category, week, forecast, p10, p90 (when calibrated), last_year,
    recent_avg: the whole selection, or its first `limit` rows by SKU, store and week.
    `version` None when nothing is published; `last_actual` the newest sales date. `totals`
    (when asked): per week of the whole selection forecast, p10, p90, last_year (sums of the
    rounded rows), rows and series, and a last row with week NaT for all weeks together.
    `options` (when asked): category, sku, store of every series the view holds, for filters."""

    table: pd.DataFrame
    version: int | None
    last_actual: date | None
    has_band: bool
    weeks: tuple[date, ...] = ()
    totals: pd.DataFrame | None = None
    options: pd.DataFrame | None = None

    @property
    def overall(self) -> dict:
        """The selection's totals over all weeks: forecast, p10, p90, last_year, rows, series."""
        if self.totals is None or self.totals.empty:
            return {"forecast": 0, "p10": None, "p90": None, "last_year": 0, "rows": 0, "series": 0}
        r = self.totals[self.totals["week"].isna()].iloc[0]
        return {k: (None if pd.isna(r[k]) else int(r[k])) for k in
                ["forecast", "p10", "p90", "last_year", "rows", "series"]}

    @property
    def by_week(self) -> pd.DataFrame:
        """week, forecast, p10, p90, last_year, rows, series of the selection, one row per week."""
        if self.totals is None:
            return pd.DataFrame(columns=["week", "forecast", "p10", "p90", "last_year", "rows", "series"])
        return self.totals[self.totals["week"].notna()].reset_index(drop=True)


def category(sku: pd.Series) -> pd.Series:
    """The Monitor page's category: the SKU's prefix before the first '-'."""
    return sku.astype(str).str.split("-", n=1).str[0]


@dataclass(frozen=True)
class _Frame:
    version: int | None
    last: date | None
    weeks: list[date]
    has_band: bool
    last_year: tuple[date, date] | None  # the sales the view reads: a year before the most weeks
    recent: tuple[date, date] | None  # ... and the recent complete weeks


def _read_frame(s, weeks: int) -> _Frame:
    """What every read of the view starts from: the published version, the last actual, the
    coming weeks and the sales spans for last year and the recent average. The last-year span
    covers the most weeks the view offers, so moving the weeks slider reads no new sales."""
    version = registry.active_version_id(s)
    last = sales.date_range(s)[1]
    if version is None:
        return _Frame(None, last, [], False, None, None)
    most = store.coming_weeks(s, version, last, MAX_WEEKS)
    band = store.has_band(s, version, last)
    if not most:
        return _Frame(version, last, [], band, None, None)
    year = timedelta(days=364)
    recent = None
    if last is not None:  # complete weeks before the last actual's week
        end = last - timedelta(days=last.weekday())
        recent = (end - timedelta(days=7 * RECENT_WEEKS), end)
    return _Frame(version, last, most[:weeks], band, (most[0] - year, most[-1] + timedelta(days=7) - year),
                  recent)


def weekly(db=None, weeks: int = 13, *, categories: Sequence[str] | None = None,
           stores: Sequence[str] | None = None, skus: Sequence[str] | None = None,
           limit: int | None = None, totals: bool = False, options: bool = False) -> WeeklyForecast:
    """The coming `weeks` (4-13) of the published forecast for the chosen categories, stores and
    SKUs (none chosen = all): every row, or the first `limit` (0: none, for a caller that wants
    only the version, the weeks or the `options`); with `totals`, the selection's sums per
    week and overall as well."""
    filters = {"categories": _key(categories), "stores": _key(stores), "skus": _key(skus)}
    weeks = int(min(max(weeks, MIN_WEEKS), MAX_WEEKS))
    key = ("core.forecast_view.weekly", weeks, *filters.values(), limit, totals, options)
    return memo(db, key, lambda: _weekly(db, weeks, filters, limit, totals, options))


def _key(chosen: Sequence[str] | None) -> tuple[str, ...] | None:
    return tuple(chosen) if chosen else None


# Every read goes through the process's read cache (core.store.db.memo: valid while the store
# is unchanged, a copy for each caller): the view as asked, and, under their own keys, what the
# view starts from and the actuals beside it. The sales scan behind last year and the recent
# average is the view's costly read (73M rows at 100,000 series); kept, a filter change or the
# weeks slider does not pay it again.
def _weekly(db, weeks: int, filters: dict, limit: int | None, totals: bool, options: bool) -> WeeklyForecast:
    with session(db) as s:
        f = memo(db, ("core.forecast_view.frame", weeks), lambda: _read_frame(s, weeks))
        if f.version is None or not f.weeks:
            empty = pd.DataFrame(columns=["category", "sku", "store"]) if options else None
            return WeeklyForecast(pd.DataFrame(columns=COLUMNS), f.version, f.last, f.has_band, options=empty)
        opts = memo(db, ("core.forecast_view.options", weeks),
                    lambda: store.choices(s, f.version, f.last, f.weeks)) if options else None
        if limit == 0 and not totals:
            out, tot = pd.DataFrame(columns=COLUMNS), None
        else:
            actuals = memo(db, ("core.forecast_view.actuals", f.last_year, f.recent),
                           lambda: _actuals(s, f))
            out, tot = store.weekly_view(s, f.version, f.last, f.weeks, actuals, limit=limit,
                                         totals=totals, **filters)
    if limit == 0:
        out = out.iloc[:0]
    if not f.has_band:
        out = out.assign(p10=np.nan, p90=np.nan)
        if tot is not None:
            tot = tot.assign(p10=np.nan, p90=np.nan)
    out["week"] = pd.to_datetime(out["week"]).dt.date
    out["category"] = category(out["sku"])
    for c in UNITS:
        out[c] = out[c].astype("float64").clip(lower=0).round().astype("Int64")
    if tot is not None:
        tot["week"] = pd.to_datetime(tot["week"]).dt.date
        for c in ["forecast", "p10", "p90", "last_year"]:
            tot[c] = tot[c].astype("float64").round().astype("Int64")
    return WeeklyForecast(out[COLUMNS], f.version, f.last, f.has_band, tuple(f.weeks), tot, opts)


def _actuals(s, f: _Frame):
    """None when the kept actuals are current (the view reads them in the store), else the
    scan of the sales (`weekly_actuals`)."""
    if store.kept_actuals(s, store.actuals_mark(s, f.last_year, f.recent)):
        return None
    return store.weekly_actuals(s, f.last_year, f.recent)


def refresh(db=None) -> bool:
    """Keep the view's actuals for the present sales and coming weeks (after an upload or
    deletion of sales, or a promotion: see core.plan_rollups). Never raises: a failure leaves
    the kept actuals behind, and the view scans the sales itself. True when they were kept."""
    try:
        with session(db) as s:
            f = _read_frame(s, MAX_WEEKS)
            if f.last_year is None:
                return False
            mark = store.actuals_mark(s, f.last_year, f.recent)
            if store.kept_actuals(s, mark):
                return True
            got = store.weekly_actuals(s, f.last_year, f.recent)
        with session(db, write=True) as s:
            g = _read_frame(s, MAX_WEEKS)
            if g.last_year is None or store.actuals_mark(s, g.last_year, g.recent) != mark:
                return False  # the sales or the weeks changed meanwhile
            store.keep_actuals(s, got, mark)
        return True
    except Exception:  # noqa: BLE001 - the write it follows is committed; the view scans instead
        log.exception("keeping the forecast view's actuals failed")
        return False


def to_xlsx_bytes(df: pd.DataFrame) -> bytes:
    """An Excel workbook of a table, with text cells formula-neutralised as in the CSV export."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        exports.safe_frame(df).to_excel(xw, index=False, sheet_name="forecast")
    return buf.getvalue()

import core.plan_rollups  # noqa: E402, F401 - registers the refresh of the kept actuals after every ingest
