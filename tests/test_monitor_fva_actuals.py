"""Forecast vs actual reads the SKU's actuals by series and keeps the dates in the aggregate
(issue 13: a date in the scan's filter read every row's date at 100,000 series). The figures
must be the raw sums: per SKU (stores summed) and per store, from `history_from` on."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from core import monitoring
from core.store import sales, session


def test_actuals_are_the_raw_sums_from_the_history_start(monitored):
    info = monitoring.active(monitored)
    with session(monitored) as s:
        raw = sales.load_sales(s)
    raw["ds"] = pd.to_datetime(raw["ds"]).dt.date
    sku = sorted(raw["sku"].unique())[0]
    store = sorted(raw[raw["sku"] == sku]["store"].unique())[-1]
    start = info["forecast_start"] - timedelta(days=56)
    for where in (None, store):
        got = monitoring.forecast_vs_actual(monitored, sku, where, info=info).dropna(subset=["y"])
        rows = raw[(raw["sku"] == sku) & (raw["ds"] >= start) & ((raw["store"] == where) if where else True)]
        want = rows.groupby("ds")["y"].sum()
        assert list(pd.to_datetime(got["ds"]).dt.date) == list(want.index)
        assert got["y"].to_numpy() == pytest.approx(want.to_numpy())
        assert not got["yhat"].dropna().empty  # the forecast side is still there

