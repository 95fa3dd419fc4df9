"""The demo ends the way a store in service looks: the published forecast runs past the last
sales (four weeks monitored, four ahead), the freshness banner says how much is left, and the
shifted SKUs still raise their alerts."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from core import freshness, monitoring
from core.access import SYSTEM
from core.demo import DemoSpec, future_plan, generate
from core.seed import seed_demo

SPEC = DemoSpec(n_skus=14, n_stores=2, days=420, seed=7)  # SKU 13 is younger than a year


def test_future_plan_follows_the_history_without_units():
    spec = DemoSpec(n_skus=14, n_stores=2, days=420)
    assert spec.short_skus  # a SKU younger than a year is in it
    frame = generate(spec)
    plan = future_plan(frame, 28)
    end = frame["date"].max()
    assert plan["date"].min() == end + timedelta(days=1) and plan["date"].max() == end + timedelta(days=28)
    assert plan["units"].isna().all() and plan[["price", "promo", "temperature"]].notna().all().all()
    assert len(plan) == 28 * spec.n_skus * spec.n_stores  # every series, every day, no gap
    assert not plan.duplicated(["date", "sku", "store"]).any()


def test_demo_forecast_runs_into_the_future_and_alerts_fire(db):
    said: list[str] = []
    seed_demo(SYSTEM, db, SPEC, say=said.append)
    fresh = freshness.check(db, today=SPEC.end)
    assert fresh.last_actual == SPEC.end
    assert fresh.forecast_end == SPEC.end + timedelta(days=SPEC.shift_days)
    assert fresh.periods_left == SPEC.shift_days and not fresh.stale
    assert "28 period(s) after the last sales" in fresh.message
    info = monitoring.active(db)
    assert pd.Timestamp(info["forecast_start"]) == pd.Timestamp(SPEC.end - timedelta(days=SPEC.shift_days - 1))
    live = monitoring.alerts(db, ["open"])
    assert {a["sku"] for a in live} & set(SPEC.shifted_skus)
    assert any("next 56 days" in m for m in said)
    from core.forecasts import versions

    assert not [w for w in versions(db)[0].warnings if "left out" in w]  # the plan covers the horizon
