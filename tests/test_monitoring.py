"""Monitoring on generated data with injected demand shifts (core.demo, fixed seed): the shifted
SKUs are flagged by every rule and the stable ones by none; alert dedupe and lifecycle; rules
and permissions; drift tests; the CLI."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from core import monitoring
from core.access import Actor
from core.demo import DemoSpec, generate, split_recent
from core.errors import PermissionDenied, ValidationError
from core.store import monitoring as ms
from core.store import session
from core.store.db import raw
from tests.monitor_helpers import ingest_frame, make_active_version

SPEC = DemoSpec(n_skus=16, n_stores=3, days=480, seed=7)
SCI = Actor("sam", "scientist")


def regular_stable(spec: DemoSpec) -> set[str]:
    """SKUs with full history, regular volume and no injected shift."""
    frame = generate(spec)
    skus = set(frame["sku"])
    slow = {s for s in skus if frame[frame["sku"] == s]["units"].mean() < 1}
    return skus - set(spec.shifted_skus) - set(spec.short_skus) - slow


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A store with an active version and the last four weeks of (shifted) actuals ingested."""
    path = tmp_path_factory.mktemp("monitor") / "built.duckdb"
    hist, recent = split_recent(generate(SPEC), SPEC.shift_days)
    make_active_version(path, hist, SPEC.shift_days, SCI, plan=recent)
    ingest_frame(path, recent, SCI)  # the AFTER_INGEST hook evaluates the rules
    return path, recent


@pytest.fixture
def store(built, db):
    shutil.copy(built[0], db)
    return db


def _alerted(db, kind: str, statuses=("open", "acknowledged")) -> set[str]:
    return {a["sku"] for a in monitoring.alerts(db, list(statuses)) if a["kind"] == kind}


def test_injected_shifts_are_flagged_and_stable_series_are_not(store):
    shifted = set(SPEC.shifted_skus)
    stable = regular_stable(SPEC)
    assert len(shifted) == 3 and len(stable) >= 8
    # every rule ran after the ingest, without anyone calling evaluate
    assert _alerted(store, "data_drift") == shifted
    assert shifted <= _alerted(store, "concept_drift")
    assert shifted <= _alerted(store, "accuracy")
    assert not (_alerted(store, "concept_drift") & stable)
    assert not (_alerted(store, "accuracy") & stable)

    acc = monitoring.sku_accuracy(store).set_index("sku")
    assert (acc.loc[list(shifted), "accuracy"] < 0.6).all()
    assert (acc.loc[list(stable), "accuracy"] > 0.88).all()
    down, up = [SPEC.shifted_skus[0], SPEC.shifted_skus[2]], [SPEC.shifted_skus[1]]
    assert (acc.loc[down, "direction"] == "overstock").all()  # demand fell by 55%
    assert (acc.loc[up, "direction"] == "lost sales").all()  # demand rose by 90%

    dd = monitoring.data_drift(store, keep_values=True)
    units = dd[dd["column"] == "units"].set_index("sku")
    assert set(units.index[units["drifted"]]) >= shifted
    assert (units.loc[list(shifted), "test"] == "KS p-value").all()  # 84 values: small sample
    row = units.loc[SPEC.shifted_skus[0]]
    assert len(row["ref_values"]) == row["n_ref"] == 84 and len(row["cur_values"]) == 84
    assert {"price", "promo", "temperature"} <= set(dd["column"])  # regressors are tested too


def test_accuracy_numbers_match_a_direct_computation(store, built):
    """Weekly SKU accuracy from the store equals pandas on the same rows."""
    recent = built[1]
    with session(store) as s:
        fc = raw(s).execute("SELECT sku, store, ds, yhat FROM active_forecasts").df()
    fc["ds"] = pd.to_datetime(fc["ds"])
    m = recent.rename(columns={"date": "ds"}).merge(fc, on=["sku", "store", "ds"])
    m["week"] = m["ds"].dt.to_period("W-SUN").dt.start_time
    w = m.groupby(["sku", "week"])[["units", "yhat"]].sum()
    ae = (w["yhat"] - w["units"]).abs().groupby("sku").sum()
    expected = 1 - ae / w["units"].groupby("sku").sum()  # never floored in data
    assert (expected < 0).any()  # a shifted SKU worse than no forecast at all stays visible
    got = monitoring.sku_accuracy(store).set_index("sku")["accuracy"]
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)
    per = monitoring.accuracy_by_period(store, "week")
    assert per["period"].nunique() == 4
    roll = monitoring.rolling_accuracy(store, window=2)
    last = roll[roll["period"] == roll["period"].max()].set_index("sku")["accuracy"]
    assert last.notna().all()
    head = monitoring.overall(store)
    assert head["skus"] == SPEC.n_skus and head["skus_below"] >= 3
    assert 0 < head["accuracy"] < 1 and head["backtest_accuracy"] > head["accuracy"]


def test_reevaluation_dedupes_and_lifecycle_keeps_history(store, built, manager, viewer):
    before = monitoring.alerts(store, ["open"])
    ev = monitoring.evaluate(SCI, store)
    assert ev.opened == [] and ev.updated == len(before) and ev.resolved == []
    assert [a["id"] for a in monitoring.alerts(store, ["open"])] == [a["id"] for a in before]

    sku = SPEC.shifted_skus[0]
    target = next(a for a in before if a["sku"] == sku and a["kind"] == "accuracy")
    with pytest.raises(PermissionDenied):
        monitoring.acknowledge(viewer, target["id"], "seen", store)
    with pytest.raises(ValidationError, match="note"):
        monitoring.acknowledge(manager, target["id"], "  ", store)
    acked = monitoring.acknowledge(manager, target["id"], "cut the order, watching", store)
    assert (acked["status"], acked["acknowledged_by"], acked["ack_note"]) == (
        "acknowledged", "maya", "cut the order, watching")
    with pytest.raises(ValidationError, match="acknowledged"):
        monitoring.acknowledge(manager, target["id"], "again", store)
    monitoring.evaluate(SCI, store)  # still firing: stays acknowledged, same alert
    assert monitoring.alerts(store, ["acknowledged"])[0]["id"] == target["id"]

    # corrected actuals arrive for that SKU (they match the forecast): its alerts resolve
    recent = built[1]
    with session(store) as s:
        fc = raw(s).execute("SELECT sku, store, ds, yhat FROM active_forecasts WHERE sku = ?", [sku]).df()
    fixed = recent[recent["sku"] == sku].copy()
    fc["ds"] = pd.to_datetime(fc["ds"])
    fixed = fixed.merge(fc.rename(columns={"ds": "date"}), on=["sku", "store", "date"])
    fixed["units"] = fixed.pop("yhat").round()
    ingest_frame(store, fixed, SCI, "corrected.parquet")
    live = {(a["sku"], a["kind"]) for a in monitoring.alerts(store, ["open", "acknowledged"])}
    assert (sku, "accuracy") not in live and (sku, "concept_drift") not in live
    resolved = [a for a in monitoring.alerts(store, ["resolved"]) if a["id"] == target["id"]]
    assert resolved and resolved[0]["resolved_at"] and resolved[0]["acknowledged_by"] == "maya"
    actions = [e["action"] for e in reversed(monitoring.history(store, target["id"]))]
    assert actions == ["opened", "acknowledged", "resolved"]

    # the shift comes back: a new alert, the old one stays resolved as history
    ingest_frame(store, recent[recent["sku"] == sku], SCI, "again.parquet")
    again = [a for a in monitoring.alerts(store, ["open"]) if a["sku"] == sku and a["kind"] == "accuracy"]
    assert len(again) == 1 and again[0]["id"] != target["id"]


def test_rules_need_permission_scope_and_disable(store, manager):
    rules = monitoring.rules(store)
    assert {r.kind for r in rules} == {"accuracy", "data_drift", "concept_drift"} and all(r.is_default for r in rules)
    acc_rule = next(r for r in rules if r.kind == "accuracy")
    assert acc_rule.threshold == pytest.approx(0.88)
    with pytest.raises(PermissionDenied):
        monitoring.save_rule(manager, store, acc_rule.id, name="x", kind="accuracy", threshold=0.5)
    with pytest.raises(ValidationError, match="between 0 and 1"):
        monitoring.save_rule(SCI, store, acc_rule.id, name="x", kind="accuracy", threshold=88)
    one = SPEC.shifted_skus[1]
    monitoring.save_rule(SCI, store, acc_rule.id, name="Accuracy, one SKU", kind="accuracy",
                         threshold=0.88, window=4, grain="week", skus=[one],
                         params={"min_units": 100})
    monitoring.evaluate(SCI, store)
    assert _alerted(store, "accuracy") == {one}
    monitoring.save_rule(SCI, store, acc_rule.id, name="off", kind="accuracy", threshold=0.88,
                         enabled=False)
    monitoring.evaluate(SCI, store)
    assert _alerted(store, "accuracy") == set()
    per_store = monitoring.save_rule(SCI, store, name="Per store", kind="accuracy", threshold=0.88,
                                     level="series", stores=["Leeds"])
    ev = monitoring.evaluate(SCI, store)
    mine = [a for a in ev.opened if a["rule_id"] == per_store.id]
    assert mine and {a["store"] for a in mine} == {"Leeds"}
    monitoring.delete_rule(SCI, per_store.id, store)
    assert not [a for a in monitoring.alerts(store, ["open"]) if a["rule_id"] == per_store.id]


def test_no_active_version_is_an_empty_state(db, tmp_path):
    ingest_frame(db, generate(DemoSpec(n_skus=2, n_stores=1, days=30)), SCI)
    ev = monitoring.evaluate(SCI, db)
    assert ev.version_id is None and "promote" in ev.skipped
    rep = monitoring.report(SCI, db)
    assert rep["active"] is None and rep["alerts"] == []


def test_failing_evaluation_never_fails_ingest_and_is_reported(store, built, monkeypatch, tmp_path):
    import importlib

    from core.ingest import ingest

    alerts_mod = importlib.import_module("core.monitoring.alerts")  # the module, not the function

    def boom(*a, **k):
        raise RuntimeError("monitoring broke")

    monkeypatch.setattr(alerts_mod, "evaluate", boom)
    with session(store) as s:
        before = raw(s).execute("SELECT count(*) FROM datasets").fetchone()[0]
    path = tmp_path / "again.parquet"
    built[1].to_parquet(path, index=False)
    result = ingest(path, SCI, db=store)  # accepted although the evaluation after it failed
    with session(store) as s:
        assert raw(s).execute("SELECT count(*) FROM datasets").fetchone()[0] == before + 1
    assert "could not be checked" in result.monitoring_error and "log id" in result.monitoring_error
    assert monitoring.active(store)["last_failure"] == result.monitoring_error  # Monitor shows it
    monkeypatch.undo()
    monitoring.evaluate(SCI, store)  # a successful check clears it
    assert monitoring.active(store)["last_failure"] is None


def test_viewer_may_not_evaluate_and_reads_write_nothing(store, viewer):
    from tests.monitor_helpers import content_hash

    with pytest.raises(PermissionDenied):
        monitoring.evaluate(viewer, store)
    with pytest.raises(PermissionDenied):
        monitoring.report(viewer, store)
    before = content_hash(store)
    m = monitoring.Monitoring(store)
    info = m.active()
    m.overview()
    m.accuracy()
    m.data_drift(info, keep_values=True)
    m.concept_drift()
    m.rules()
    m.alerts()
    assert content_hash(store) == before


def test_drift_tests_are_size_aware():
    rng = np.random.default_rng(1)
    same_a, same_b = rng.normal(10, 2, 200), rng.normal(10, 2, 200)
    moved = rng.normal(13, 2, 200)
    assert monitoring.drift_test(same_a, same_b)["test"] == "KS p-value"
    assert not monitoring.drift_test(same_a, same_b)["drifted"]
    assert monitoring.drift_test(same_a, moved)["drifted"]
    big_a, big_b = rng.normal(10, 2, 5000), rng.normal(10, 2, 5000)
    r = monitoring.drift_test(big_a, big_b)
    assert r["test"].startswith("Wasserstein") and not r["drifted"]
    assert monitoring.drift_test(big_a, rng.normal(11, 2, 5000))["drifted"]  # 0.5 std apart
    psi_same = monitoring.drift_test(same_a, same_b, "psi")
    psi_moved = monitoring.drift_test(same_a, moved, "psi")
    assert psi_same["score"] < 0.2 < psi_moved["score"] and psi_moved["drifted"]
    with pytest.raises(ValidationError):
        monitoring.drift_test(same_a, same_b, "chi2")


def test_cli_monitor_and_alerts(store, capsys):
    from core.cli import main

    assert main(["--db", str(store), "monitor", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["active"]["version_id"] and len(rep["accuracy"]) == SPEC.n_skus
    assert {d["sku"] for d in rep["data_drift"] if d["drifted"] and d["column"] == "units"} >= set(SPEC.shifted_skus)
    assert rep["alerts"] and all(a["status"] == "open" for a in rep["alerts"])
    assert main(["--db", str(store), "monitor"]) == 0
    text = capsys.readouterr().out
    assert "Accuracy over the last 4 weeks" in text and SPEC.shifted_skus[0] in text

    assert main(["--db", str(store), "alerts", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    aid = listed[0]["id"]
    assert main(["--db", str(store), "alerts", "ack", str(aid)]) == 2  # a note is required
    assert "note" in capsys.readouterr().err
    assert main(["--db", str(store), "alerts", "ack", str(aid), "--note", "on it"]) == 0
    assert "acknowledged" in capsys.readouterr().out
    assert main(["--db", str(store), "alerts", "history", str(aid), "--json"]) == 0
    assert [e["action"] for e in json.loads(capsys.readouterr().out)][0] == "acknowledged"
    assert main(["--db", str(store), "alerts", "ack", "99999", "--note", "x"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_alert_store_keeps_one_live_alert_per_key(store):
    with session(store) as s:
        dup = raw(s).execute(
            """SELECT rule_id, sku, store, count(*) FROM alerts WHERE status <> 'resolved'
               GROUP BY ALL HAVING count(*) > 1"""
        ).fetchall()
        assert dup == []
        assert ms.live_alerts(s)


def test_stored_errors_follow_promotion_and_rollback(store):
    """A promotion rebuilds the stored errors for the new version and re-evaluates the rules in
    the same write; a rollback does the same for the old version. Reads in between change
    nothing."""
    from core import registry
    from core.store.versions import Version

    shifted = SPEC.shifted_skus[0]
    first = monitoring.active(store)["version_id"]
    with session(store, write=True) as s:
        v = Version(kind="naive", horizon=28, folds=1, freq="D", created_by="sam", status="ready",
                    metrics='{"wape": 0.0, "accuracy": 1.0}')
        s.add(v)
        s.flush()
        raw(s).execute(  # a perfect forecast: the actuals themselves
            """INSERT INTO forecasts SELECT ?, f.series_id, f.ds, sa.y, sa.y, sa.y, 'perfect'
               FROM forecasts f JOIN sales sa USING (series_id, ds) WHERE f.version_id = ?""",
            [v.id, first])
        second = v.id
    live_before = monitoring.alerts(store, ["open"])
    assert live_before
    registry.promote(SCI, second, "perfect", override_reason="test", db=store)
    assert monitoring.active(store)["errors_current"]
    assert (monitoring.sku_accuracy(store)["accuracy"] == 1.0).all()
    # the forecast alerts of the old version were resolved by the promotion; data drift stays,
    # because the demand itself did move
    still = monitoring.alerts(store, ["open"])
    assert {a["kind"] for a in still} == {"data_drift"}
    gone = [a for a in live_before if a["kind"] != "data_drift"]
    notes = [e for a in gone for e in monitoring.history(store, a["id"]) if e["action"] == "resolved"]
    assert gone and {e["actor"] for e in notes} == {"sam"}
    assert all(f"version {second} replaced version {first}" in e["note"] for e in notes)
    assert monitoring.sync(store) == "current"
    registry.promote(SCI, first, "back", override_reason="it served before", db=store)
    acc = monitoring.sku_accuracy(store).set_index("sku")
    assert acc.loc[shifted, "accuracy"] < 0.5 and monitoring.active(store)["version_id"] == first
    assert {a["sku"] for a in monitoring.alerts(store, ["open"]) if a["kind"] == "data_drift"} == set(SPEC.shifted_skus)
    assert second != first
