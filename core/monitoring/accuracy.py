"""Accuracy of the active forecast against the actuals that arrived: per period, rolling, per SKU
over a window, and the headline. Numbers come from DuckDB (core.store.monitoring, through the
metric macros of core.store.metrics); accuracy is 1 − WAPE and never floored here (only the
display floors it, core.metrics.display_accuracy). At SKU level the stores in scope are summed per
period before the error is taken. Bias is (forecast − actual) / |actual|: positive means
overstock risk, negative means lost sales.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from core import config, metrics
from core.monitoring.errors import active
from core.monitoring.shared import once
from core.monitoring.windows import Filters, category, window_start
from core.store import monitoring as ms
from core.store import session

SKU_COLUMNS = ["sku", "store", "category", "units", "forecast", "wape", "accuracy",
               "backtest_wape", "backtest_accuracy", "gap", "bias", "direction", "lost_units",
               "over_units", "below_threshold", "window_start"]


def accuracy_by_period(db=None, grain: str = "week", level: str = "sku",
                       filters: Filters | None = None) -> pd.DataFrame:
    """sku, store, period, units, forecast, abs_err, wape, accuracy, bias, n."""
    args = (filters or Filters()).args()

    def compute() -> pd.DataFrame:
        with session(db) as s:
            return ms.accuracy_by_period(s, grain, level, **args)

    return once(db, ("by_period", grain, level, repr(args)), compute).copy()


def rolling_accuracy(db=None, window: int = 4, grain: str = "week", level: str = "sku",
                     filters: Filters | None = None) -> pd.DataFrame:
    """sku, store, period, wape, accuracy, bias over the `window` periods ending there."""
    with session(db) as s:
        return ms.rolling_accuracy(s, window, grain, level, **(filters or Filters()).args())


def trend(db=None, grain: str = "week", filters: Filters | None = None) -> pd.DataFrame:
    """Accuracy of all SKUs in the filter together, per period: period, units, forecast,
    abs_err, wape, accuracy, bias. Once per page run (the headline and the chart both ask)."""
    args = (filters or Filters()).args()

    def compute() -> pd.DataFrame:
        with session(db) as s:
            return ms.total_by_period(s, grain, **args)

    return once(db, ("trend", grain, repr(args)), compute).copy()


def sku_accuracy(db=None, window: int = 4, grain: str = "week", level: str = "sku",
                 filters: Filters | None = None,
                 threshold: float = config.ACCURACY_THRESHOLD) -> pd.DataFrame:
    """Per SKU (or SKU × store) over the last `window` periods, worst first: SKU_COLUMNS (live
    and backtest WAPE and accuracy, the gap between them, bias and its direction, lost-sales and
    overstock units, below_threshold, window_start). Once per page run for the same arguments:
    the headline, the table and the worklist of Monitor all ask."""
    args = (filters or Filters()).args()
    key = ("sku_accuracy", window, grain, level, repr(args))  # the threshold only marks rows
    out = once(db, key, lambda: _sku_accuracy(db, window, grain, level, args, threshold)).copy()
    out["below_threshold"] = out["accuracy"] < threshold
    return out


def _sku_accuracy(db, window: int, grain: str, level: str, args: dict, threshold: float) -> pd.DataFrame:
    with session(db) as s:
        last = ms.max_error_date(s)
        if last is None:
            return pd.DataFrame(columns=SKU_COLUMNS)
        start = window_start(last, grain, window)
        acc = ms.window_accuracy(s, start, grain, level, **args)
        bt = ms.backtest_wape(s, grain, level, **args)
    out = acc.merge(bt, on=["sku", "store"], how="left")
    out["backtest_accuracy"] = 1 - out["backtest_wape"]
    out["gap"] = out["accuracy"] - out["backtest_accuracy"]
    out["direction"] = np.where(out["bias"] > 0, "overstock", np.where(out["bias"] < 0, "lost sales", "–"))
    out["category"] = out["sku"].map(category)
    out["below_threshold"] = out["accuracy"] < threshold
    out["window_start"] = start
    return out[SKU_COLUMNS].sort_values(["accuracy", "sku"], na_position="last").reset_index(drop=True)


def backtest_accuracy(db=None, grain: str = "week", filters: Filters | None = None) -> float | None:
    """The active version's backtest accuracy for the SKUs in the filter, measured like the live
    accuracy (SKU totals per period)."""
    args = (filters or Filters()).args()

    def compute() -> float | None:
        with session(db) as s:
            return ms.backtest_total(s, grain, **args)

    bt = once(db, ("backtest_total", grain, repr(args)), compute)
    return None if bt is None else 1 - bt


def forecast_vs_actual(db=None, sku: str = "", store: str | None = None,
                       history_days: int = 56, info: dict | None = None) -> pd.DataFrame:
    """ds, y, yhat, yhat_lower, yhat_upper of one SKU (stores summed, or one store), from
    `history_days` before the forecast start (`info`: core.monitoring.active(), if at hand)."""
    info = info or active(db)
    start = None
    if info and info["forecast_start"]:
        start = info["forecast_start"] - timedelta(days=history_days)
    with session(db) as s:
        return ms.forecast_vs_actual(s, sku, store, start)


def overall(db=None, window: int = 4, grain: str = "week",
            threshold: float = config.ACCURACY_THRESHOLD,
            filters: Filters | None = None, info: dict | None = None) -> dict:
    """Headline numbers over the window: accuracy of all SKUs in the filter together, backtest
    accuracy, bias, window_start/window_end, skus and skus_below the threshold, open_alerts and
    acknowledged_alerts (all SKUs). Without actuals for the active forecast, accuracy is None."""
    info = info or active(db)
    with session(db) as s:
        counts = ms.alert_counts(s)
    alerts = {"open_alerts": counts.get("open", 0), "acknowledged_alerts": counts.get("acknowledged", 0)}
    if info is None or info["last_actual"] is None:
        return {"accuracy": None, "backtest_accuracy": info and info["backtest_accuracy"],
                "bias": None, "skus": 0, "skus_below": 0, **alerts}
    start = window_start(info["last_actual"], grain, window)
    t = trend(db, grain, filters)
    t = t[pd.to_datetime(t["period"]).dt.date >= start]
    acc = sku_accuracy(db, window, grain, filters=filters, threshold=threshold)
    ay = t["abs_y"].sum()
    return {
        "accuracy": metrics.none_if_nan(1 - metrics.wape_of(t["abs_err"].sum(), ay)),
        "backtest_accuracy": backtest_accuracy(db, grain, filters),
        "bias": metrics.none_if_nan(metrics.wape_of(t["forecast"].sum() - t["units"].sum(), ay)),
        "window_start": str(start), "window_end": str(info["last_actual"]),
        "skus": int(len(acc)), "skus_below": int(acc["below_threshold"].sum()), **alerts,
    }
