"""Forecast freshness on a real trained version: periods left after the last sales, stale once
the forecast ends before the last sales plus the lead time or before today, and the banner on
Overview and Monitor that names the action (retrain)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import freshness, registry, training
from core.demo import DemoSpec, generate, split_recent
from tests.auth import page, signed_in_app
from tests.monitor_helpers import ingest_frame

SPEC = DemoSpec(n_skus=3, n_stores=2, days=420, seed=4)
H = 21


@pytest.fixture
def split(db):
    from tests.auth import make_user

    sam = make_user("sam", "scientist")
    hist, recent = split_recent(generate(SPEC), H)
    ingest_frame(db, hist, sam, "history.parquet")
    vid = training.train(sam, "sklearn", horizon=H, folds=2, db=db)
    registry.promote(sam, vid, "first", db=db)
    return sam, recent


def test_fresh_then_stale_after_the_forecast_weeks_arrive(db, split, monkeypatch):
    sam, recent = split
    f = freshness.check(db, today=SPEC.end)
    assert f.periods_left == H and f.forecast_end == f.last_actual + timedelta(days=H)
    assert not f.stale and "21 period(s)" in f.message
    assert freshness.check(db, today=f.forecast_end + timedelta(days=1)).ends_before_today
    monkeypatch.setenv("SHELFCAST_LEAD_DAYS", str(H + 1))
    assert freshness.check(db, today=SPEC.end).stale  # an order now lands after it ends
    monkeypatch.delenv("SHELFCAST_LEAD_DAYS")
    ingest_frame(db, recent, sam, "recent.parquet")
    g = freshness.check(db, today=SPEC.end)
    assert g.periods_left == 0 and g.stale and "Retrain" in g.message


def test_overview_and_monitor_flag_a_stale_forecast(db, split):
    sam, recent = split
    ingest_frame(db, recent, sam, "recent.parquet")
    at = signed_in_app("manager")
    assert not at.exception
    assert any("Retrain" in w.value for w in at.warning), [w.value for w in at.warning]
    at.switch_page(page("monitor.py")).run()
    assert not at.exception
    assert any("Retrain" in w.value for w in at.warning)
