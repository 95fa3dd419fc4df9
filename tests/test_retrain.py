"""The retraining policy on a real store with real fits: it fires on age, on new periods and on
open alerts, does not fire otherwise, records why, and auto-promotes only a challenger that
passes the accuracy gate and beats the champion on live sales (audited as "policy")."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from core import challengers, forecasts, monitoring, registry, retrain, training
from core.errors import StoreBusy, ValidationError
from tests.helpers import hold_store, run_cli
from tests.retrain_fixtures import HISTORY_DAYS, HORIZON, days_of, serving_store, upload

LATER = datetime.now(UTC) + timedelta(days=31)


def _versions(db) -> list[int]:
    return sorted(v["id"] for v in forecasts.list_versions(db))


def _week(df, tmp, actor, db, n: int = 1):
    lo = HISTORY_DAYS + 7 * (n - 1) + 1
    return upload(days_of(df, lo, lo + 6), tmp / f"week{n}.csv", actor, db)


def test_fires_on_age_and_records_why(db, tmp_path, scientist):
    serving_store(db, tmp_path, scientist)
    retrain.set_policy(scientist, db, max_age_days=30, model="naive", folds=1)
    before = _versions(db)
    quiet = retrain.apply(scientist, db)
    assert not quiet.trained and not quiet.needed and "Nothing needed" in quiet.message
    assert _versions(db) == before and retrain.runs(db) == []

    r = retrain.apply(scientist, db, at=LATER)
    assert r.trained and r.version_id not in before
    assert len(r.reasons) == 1 and "days old" in r.reasons[0]
    assert [c["version_id"] for c in challengers.list_challengers(db)] == [r.version_id]
    assert registry.active_version(db) == before[0]  # "challenger": never promoted
    [run] = retrain.runs(db)
    assert run["version_id"] == r.version_id and run["reasons"] == r.reasons


def test_fires_on_new_periods(db, tmp_path, scientist):
    df, _ = serving_store(db, tmp_path, scientist)
    retrain.set_policy(scientist, db, new_periods=7, model="naive", folds=1)
    assert not retrain.apply(scientist, db).needed
    _week(df, tmp_path, scientist, db)
    r = retrain.apply(scientist, db)
    assert r.trained and "7 new periods" in r.reasons[0]


def test_fires_on_open_alerts(db, tmp_path, scientist):
    df, _ = serving_store(db, tmp_path, scientist)
    retrain.set_policy(scientist, db, alert_share=0.5, model="naive", folds=1)
    monitoring.save_rule(scientist, db, name="strict", kind="accuracy", threshold=0.99,
                         params={"min_units": 0})
    assert not retrain.apply(scientist, db).needed  # no actuals yet: no alert
    _week(df, tmp_path, scientist, db)
    assert monitoring.alerts(db, ["open"])
    r = retrain.apply(scientist, db)
    assert r.trained and "alerts are open on 100.0%" in r.reasons[0]
    assert r.decision["alert_share"] == pytest.approx(1.0)


def test_does_not_fire_when_nothing_changed(db, tmp_path, scientist):
    df, _ = serving_store(db, tmp_path, scientist)
    retrain.set_policy(scientist, db, max_age_days=30, new_periods=8, alert_share=0.9,
                       model="naive", folds=1)
    _week(df, tmp_path, scientist, db)  # 7 new periods; the default rules' alerts cover < 90%
    r = retrain.apply(scientist, db)
    assert not r.needed and not r.trained and r.reasons == []
    assert r.decision["new_periods"] == 7 and r.decision["age_days"] < 1
    assert 0 < r.decision["alert_share"] < 0.9


def _trained_challenger(db, tmp, actor, champion: str, model: str, promote: str):
    """`champion` in service; the policy (age trigger) trains `model` as its challenger; two
    weeks of actuals arrive; returns (champion id, challenger id)."""
    df, champ = serving_store(db, tmp, actor, kind=champion)
    retrain.set_policy(actor, db, max_age_days=30, model=model, promote=promote, folds=1,
                       min_live_periods=2)
    r = retrain.apply(actor, db, at=LATER)
    assert r.trained and r.promoted is None
    upload(days_of(df, HISTORY_DAYS + 1, HISTORY_DAYS + HORIZON), tmp / "actuals.csv", actor, db)
    return champ, r.version_id


def test_auto_promotes_when_gate_and_live_accuracy_pass(db, tmp_path, scientist):
    champ, chall = _trained_challenger(db, tmp_path, scientist, "theta", "ets", "auto")
    # Preconditions, measured: ets beats theta on the backtest gate and on live sales.
    assert not registry.check_gate(chall, db).needs_override
    assert challengers.report(db).duels[0].points > 0
    r = retrain.apply(scientist, db)
    assert r.promoted == chall and not r.trained
    assert registry.active_version(db) == chall
    last = registry.history(db).iloc[0]  # newest first
    assert last["actor"] == "policy" and last["action"] == "promote"
    assert "Retraining policy" in last["note"]


def test_challenger_mode_never_promotes(db, tmp_path, scientist):
    champ, chall = _trained_challenger(db, tmp_path, scientist, "theta", "ets", "challenger")
    r = retrain.apply(scientist, db)
    assert r.promoted is None and registry.active_version(db) == champ


def test_auto_does_not_promote_when_only_live_accuracy_passes(db, tmp_path, scientist):
    champ, chall = _trained_challenger(db, tmp_path, scientist, "naive", "ets", "auto")
    # ets is better live than naive here, but worse on the backtest gate.
    assert challengers.report(db).duels[0].points > 0
    assert registry.check_gate(chall, db).needs_override
    r = retrain.apply(scientist, db)
    assert r.promoted is None and "gate not passed" in r.promotion
    assert registry.active_version(db) == champ
    assert all(a != "policy" for a in registry.history(db)["actor"])


def test_refused_when_busy_or_without_a_valid_policy(db, tmp_path, scientist, manager):
    serving_store(db, tmp_path, scientist)
    with pytest.raises(ValidationError, match="No retraining policy"):
        retrain.apply(scientist, db)
    with pytest.raises(ValidationError, match="at least one trigger.*model must be"):
        retrain.set_policy(scientist, db, model="nope")
    retrain.set_policy(scientist, db, max_age_days=1, model="naive", folds=1)
    vid = training.start(scientist, "naive", horizon=7, folds=1, db=db)  # a run in progress
    with pytest.raises(StoreBusy, match=f"version {vid}"):
        retrain.apply(scientist, db, at=LATER)


def test_cli_exit_codes(db, tmp_path, scientist):
    serving_store(db, tmp_path, scientist)
    p = run_cli("retrain", "--json", db=db)
    assert p.returncode == 2 and "No retraining policy" in p.stderr
    p = run_cli("policy", "set", "--alert-share", "3", db=db)
    assert p.returncode == 2 and "alert-share" in p.stderr
    p = run_cli("policy", "set", "--max-age-days", "30", "--new-periods", "7", "--alert-share",
                "0.2", "--model", "naive", "--folds", "1", db=db)
    assert p.returncode == 0, p.stderr
    p = run_cli("policy", "show", "--json", db=db)
    assert json.loads(p.stdout)["new_periods"] == 7
    p = run_cli("retrain", "--json", db=db)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["needed"] is False and out["trained"] is False and "Nothing needed" in out["message"]
    training.start(scientist, "naive", horizon=7, folds=1, db=db)
    p = run_cli("retrain", "--json", db=db)
    assert p.returncode == 2 and "in progress" in p.stderr


def test_cli_exit_2_when_the_store_file_is_locked(db, tmp_path, scientist):
    serving_store(db, tmp_path, scientist)
    retrain.set_policy(scientist, db, max_age_days=30, model="naive", folds=1)
    holder = hold_store(db, None)
    try:
        p = run_cli("retrain", "--json", db=db, env_extra={"SHELFCAST_LOCK_TIMEOUT": "1"})
    finally:
        holder.kill()
        holder.wait()
    assert p.returncode == 2 and p.stdout == "" and "Traceback" not in p.stderr
    assert "busy" in p.stderr.lower() or "lock" in p.stderr.lower()
