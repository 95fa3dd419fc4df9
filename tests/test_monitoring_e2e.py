"""The monitoring journey on the real engine: ingest history, train (scikit-learn on small data),
promote, then the last four weeks arrive with injected demand shifts. Alerts must name the
shifted SKUs and leave the stable ones alone."""

from __future__ import annotations

import pytest

from core import monitoring, registry, training
from core.access import Actor
from core.demo import DemoSpec, generate, split_recent
from tests.monitor_helpers import ingest_frame
from tests.test_monitoring import regular_stable

SPEC = DemoSpec(n_skus=16, n_stores=3, days=480, seed=7)


@pytest.mark.slow
def test_trained_and_promoted_version_flags_the_shifted_skus(db):
    sci = Actor("sam", "scientist")
    hist, recent = split_recent(generate(SPEC), SPEC.shift_days)
    ingest_frame(db, hist, sci, "history.parquet")
    assert monitoring.evaluate(sci, db).skipped  # nothing active yet: an empty state, no alerts
    vid = training.train(sci, "sklearn", horizon=SPEC.shift_days, folds=2, db=db)
    registry.promote(sci, vid, "first version", db=db)
    ev_before = monitoring.evaluate(sci, db)
    assert ev_before.version_id == vid and ev_before.opened == []  # no actuals yet

    ingest_frame(db, recent, sci, "recent.parquet")  # the AFTER_INGEST hook evaluates

    shifted, stable = set(SPEC.shifted_skus), regular_stable(SPEC)
    live = monitoring.alerts(db, ["open"])
    by_kind = {k: {a["sku"] for a in live if a["kind"] == k} for k in monitoring.KINDS}
    assert by_kind["data_drift"] == shifted
    assert shifted <= by_kind["concept_drift"] and not (by_kind["concept_drift"] & stable)
    assert shifted <= by_kind["accuracy"]
    assert len(by_kind["accuracy"] & stable) <= 2  # a stable SKU may sit just under 88%
    acc = monitoring.sku_accuracy(db).set_index("sku")
    assert (acc.loc[sorted(stable), "accuracy"] > 0.85).all()
    assert (acc.loc[sorted(shifted), "accuracy"] < 0.7).all()  # far under the 88% threshold
    head = monitoring.overall(db)
    assert head["skus_below"] >= len(shifted) and head["open_alerts"] == len(live)
