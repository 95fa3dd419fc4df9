"""The demo ends with a published forecast that runs past the last sales (issue 14 point 2):
after the recent weeks arrive as actuals, the seed trains and promotes a fresh version."""

from __future__ import annotations

from core import freshness, registry, seed
from core.access import SYSTEM
from core.demo import DemoSpec


def test_seed_ends_with_a_forecast_of_the_coming_weeks(db):
    said: list[str] = []
    spec = DemoSpec(n_skus=3, n_stores=2, days=120, shift_days=14)
    seed.seed_demo(SYSTEM, db, spec, say=said.append)
    f = freshness.check(db, today=spec.end)
    assert f.last_actual == spec.end and f.forecast_start > f.last_actual
    assert f.periods_left > f.lead_days and not f.stale
    h = registry.history(db)
    assert list(h["action"]) == ["promote", "promote"]  # the first version stays in the history
    assert any("now runs past the last sales" in m for m in said)
