"""Units before percentages: the Overview's top issues, Monitor's needs-attention table and the
Train page's per-series table rank by units at stake (lost sales + overstock, or the backtest's
absolute error) by default, by accuracy on request; forecast numbers are rounded for people and
the published download holds only the periods after the last sales."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from app import widgets
from core import forecasts, monitoring, training
from core.access import Actor
from tests.helpers import open_page
from tests.monitor_helpers import MONITORED_SPEC

SPEC = MONITORED_SPEC
SCI = Actor("sam", "scientist")


@pytest.fixture
def store(monitored):
    return monitored


def _frame(at, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_monitor_and_overview_rank_by_units(store):
    acc = monitoring.Monitoring(store).accuracy(4, "week", "sku")
    stake = (acc["lost_units"] + acc["over_units"]).set_axis(acc["sku"])
    assert list(stake.sort_values(ascending=False).index) != list(acc["sku"])  # the orders differ here

    at = open_page("monitor", Actor("maya", "manager"))
    assert not at.exception, at.exception
    t = _frame(at, "lost_units")
    units = t["lost_units"] + t["over_units"]
    assert list(units) == sorted(units, reverse=True)
    at.radio(key="mon-attn-rank").set_value("Accuracy (%)").run()
    t = _frame(at, "lost_units")
    assert list(t["accuracy_shown"]) == sorted(t["accuracy_shown"])

    ov = open_page("overview", Actor("vic", "viewer"))
    assert not ov.exception, ov.exception
    below = acc[acc["below_threshold"]]
    want = list((below["lost_units"] + below["over_units"]).set_axis(below["sku"])
                .sort_values(ascending=False).index[:5])
    issues = [m.value for m in ov.markdown if " — accuracy " in m.value]
    assert [next(s for s in want if s in line) for line in issues] == want


def test_train_table_ranks_by_error_units(store):
    training.train(SCI, "naive", horizon=14, folds=2, db=store)  # a real run: every series scored
    at = open_page("train", SCI)
    assert not at.exception, at.exception
    t = _frame(at, "error_units")
    err = t["error_units"].dropna()
    assert len(err) > 1 and list(err) == sorted(err, reverse=True) and list(err.index) == list(range(len(err)))
    assert t["accuracy"].min() >= 0  # floored as everywhere else
    at.radio(key="res-rank").set_value("Accuracy (%)").run()
    t = _frame(at, "error_units")
    acc = t["accuracy"].dropna()
    assert list(acc) == sorted(acc) and list(acc.index) == list(range(len(acc)))


def test_forecast_downloads_rounded_and_future_only(store):
    vid = monitoring.active(store)["version_id"]
    df = forecasts.forecast_frame(vid, store)
    assert (df["yhat"] != df["yhat"].round(1)).any()  # stored with full precision
    out = widgets.in_units(widgets.future_only(df, date(2026, 10, 20)))
    assert (out["yhat"] == out["yhat"].round(1)).all() and (out["yhat_lower"] >= 0).all()
    assert pd.to_datetime(out["date"]).min() > pd.Timestamp("2026-10-20") and len(out) < len(df)
    assert widgets.future_only(df, SPEC.end).empty  # this version's forecast lies in the past
