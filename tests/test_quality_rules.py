"""Data-quality rules on a real store with a real version in service: a store that stops sending,
a series that drops to zero, an upload with a tenth of the usual rows each raise their own alert
through the ingest write path; normal weekly uploads (with their plans) raise none."""

from __future__ import annotations

import pytest

from core import monitoring
from core.errors import ValidationError
from tests.retrain_fixtures import HISTORY_DAYS, days_of, serving_store, upload

QUALITY = {"feed_freshness": 2, "series_stopped": 7, "upload_volume": 3, "regressor_plans": 0}


def _quality_alerts(db) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {k: [] for k in QUALITY}
    for a in monitoring.alerts(db, ["open"]):
        if a["kind"] in out:
            out[a["kind"]].append(a)
    return out


@pytest.fixture
def store(db, tmp_path, scientist):
    """Serving store, the four quality rules, and two normal weekly uploads with their plans."""
    df, _ = serving_store(db, tmp_path, scientist)
    for kind, threshold in QUALITY.items():
        monitoring.save_rule(scientist, db, name=kind, kind=kind, threshold=threshold, level="series")
    d = HISTORY_DAYS
    for week in (1, 2):
        lo, hi = d + 7 * (week - 1) + 1, d + 7 * week
        upload(days_of(df, lo, hi), tmp_path / f"week{week}.csv", scientist, db,
               plans=days_of(df, hi + 1, hi + 14))
    return df


def test_normal_uploads_raise_no_quality_alert(db, store):
    assert _quality_alerts(db) == {k: [] for k in QUALITY}
    assert {r.kind for r in monitoring.rules(db)} >= set(QUALITY)


def test_a_store_that_stops_sending(db, tmp_path, scientist, store):
    lo = HISTORY_DAYS + 15
    week = days_of(store, lo, lo + 6)
    upload(week[week["store"] != "Bristol"], tmp_path / "leeds.csv", scientist, db,
           plans=days_of(store, lo + 7, lo + 20))
    found = _quality_alerts(db)
    assert [(a["sku"], a["store"]) for a in found["feed_freshness"]] == [("*", "Bristol")]
    assert "Bristol" in found["feed_freshness"][0]["message"]
    # The store sends again: its alert resolves.
    upload(week[week["store"] == "Bristol"], tmp_path / "bristol.csv", scientist, db)
    assert _quality_alerts(db)["feed_freshness"] == []


def test_a_series_that_drops_to_zero(db, tmp_path, scientist, store):
    lo = HISTORY_DAYS + 15
    week = days_of(store, lo, lo + 6)
    hit = (week["sku"] == "BEV-001") & (week["store"] == "Leeds")
    week.loc[hit, "units"] = 0.0
    upload(week, tmp_path / "zeros.csv", scientist, db, plans=days_of(store, lo + 7, lo + 20))
    found = _quality_alerts(db)
    assert [(a["sku"], a["store"]) for a in found["series_stopped"]] == [("BEV-001", "Leeds")]
    assert found["feed_freshness"] == [] and found["upload_volume"] == []


def test_an_upload_with_a_tenth_of_the_usual_rows(db, tmp_path, scientist, store):
    lo = HISTORY_DAYS + 15
    week = days_of(store, lo, lo + 6)
    one = week[(week["sku"] == "DRY-003") & (week["store"] == "Leeds")]  # 1 of 10 series
    assert len(one) * 10 == len(week)
    upload(one, tmp_path / "short.csv", scientist, db)
    found = _quality_alerts(db)
    assert len(found["upload_volume"]) == 1
    assert "short.csv" in found["upload_volume"][0]["message"]


def test_missing_regressor_plans(db, tmp_path, scientist, store):
    lo = HISTORY_DAYS + 15
    upload(days_of(store, lo, lo + 6), tmp_path / "noplan.csv", scientist, db)  # no plans sent
    found = _quality_alerts(db)
    assert len(found["regressor_plans"]) == 10
    assert "promo" in found["regressor_plans"][0]["message"]


def test_quality_thresholds_are_validated(db, scientist):
    with pytest.raises(ValidationError, match="whole number"):
        monitoring.save_rule(scientist, db, name="x", kind="series_stopped", threshold=2.5)
    with pytest.raises(ValidationError, match="above 1"):
        monitoring.save_rule(scientist, db, name="x", kind="upload_volume", threshold=0.5)


def test_quality_kinds_judge_the_feed_without_a_version(db, tmp_path, scientist):
    """No version is active: the quality kinds still find the problems (needs_forecast False),
    so the evaluation can run them before the first promotion."""
    from tests.retrain_fixtures import demo_frame

    df = demo_frame()
    upload(days_of(df, 1, HISTORY_DAYS), tmp_path / "h.csv", scientist, db)
    upload(days_of(df, HISTORY_DAYS + 1, HISTORY_DAYS + 7), tmp_path / "w1.csv", scientist, db)
    week = days_of(df, HISTORY_DAYS + 8, HISTORY_DAYS + 21)
    upload(week[(week["sku"] == "DRY-003") & (week["store"] == "Leeds")], tmp_path / "w2.csv",
           scientist, db)
    got = {}
    for kind in ("feed_freshness", "upload_volume"):
        rule = monitoring.save_rule(scientist, db, name=kind, kind=kind, threshold=QUALITY[kind])
        assert rule.spec.needs_forecast is False
        got[kind] = sorted(rule.spec.findings(rule, None, db))
    assert got == {"feed_freshness": [("*", "Bristol")], "upload_volume": [("*", "*")]}
    acc = next(r for r in monitoring.rules(db) if r.kind == "accuracy")
    assert acc.spec.needs_forecast is True
