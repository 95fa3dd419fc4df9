"""Training runs end to end on a real store: versions, lineage, metrics, artefacts, failure modes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from core import artifacts, training
from core.access import Actor
from core.errors import PermissionDenied, ValidationError
from core.store import session
from core.store import versions as vs
from tests.train_helpers import SCI, add_future_regressor, make_store

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("daily"), n_skus=3, n_stores=1, days=400)


def load(db, vid):
    with session(db) as s:
        return (vs.get_version(s, vid), vs.forecasts(s, vid), vs.backtests(s, vid),
                vs.series_metrics(s, vid, pooled_only=False), vs.artifacts(s, vid))


@pytest.mark.parametrize("kind,options,models", [
    ("naive", {}, {"naive"}),
    ("sklearn", {"estimator": "ridge"}, {"naive", "sklearn"}),
    ("prophet", {"uncertainty_samples": "50"}, {"naive", "prophet"}),
    ("best", {"models": "naive,sklearn,prophet", "uncertainty_samples": "50", "margin": "0"},
     {"naive", "sklearn", "prophet", "ensemble"}),
    ("ensemble", {"models": "naive,sklearn", "top_k": "2", "combine": "median"}, {"naive", "sklearn", "ensemble"}),
])
def test_each_kind_makes_a_ready_version(daily, kind, options, models):
    seen = []
    vid = training.train(SCI, kind, horizon=7, folds=2, options=options, db=daily,
                         progress=lambda d, t: seen.append((d, t)))
    v, fc, bt, ms, arts = load(daily, vid)
    assert v.status == "ready" and v.error is None
    assert (v.kind, v.horizon, v.folds, v.freq, v.created_by, v.n_series) == (kind, 7, 2, "D", "sam", 3)
    assert v.dataset_id == 1 and v.data_hash and v.code_version.startswith("0.1.0")
    assert v.progress_done == v.progress_total > 0 and seen[-1][0] == seen[-1][1]
    assert len(fc) == 3 * 7 and fc[["yhat", "yhat_lower", "yhat_upper"]].notna().all().all()
    assert set(bt["model"]) == models and set(bt["fold"]) == {0, 1}
    assert len(bt) == len(models) * 2 * 3 * 7
    assert set(ms["model"]) == models and ms["fold"].isna().sum() == 3 * len(models)
    m = json.loads(v.metrics)
    assert 0 < m["wape"] < 1 and m["accuracy"] == pytest.approx(1 - m["wape"])
    assert set(m) >= {"mape", "smape", "mase", "bias", "rmse", "coverage", "by_model", "winners"}
    with session(daily) as s:
        qs = vs.forecast_quantiles(s, vid)
    assert sorted(qs["q"].unique()) == [0.1, 0.5, 0.9] and len(qs) == 3 * 7 * 3
    wide = qs.pivot_table(index=["series_id", "ds"], columns="q", values="value")
    assert ((wide[0.1] <= wide[0.5]) & (wide[0.5] <= wide[0.9]) & (wide[0.1] >= 0)).all()
    band = fc.set_index(["series_id", "ds"])[["yhat_lower", "yhat_upper"]]
    band.index = wide.index
    assert (band["yhat_lower"] == wide[0.1]).all() and (band["yhat_upper"] == wide[0.9]).all()
    assert set(m["quantiles"]["coverage"]) == {"0.1", "0.5", "0.9"} and m["quantiles"]["wql"] > 0
    assert m["measured"]["method"] == ("out-of-selection" if kind in ("best", "ensemble") else "all-folds")
    if kind == "ensemble":
        assert set(fc["model"]) == {"ensemble"}
    elif kind == "best":
        winners = fc.groupby("series_id")["model"].first()
        per = ms[ms["fold"].isna()].pivot(index="series_id", columns="model", values="wape")
        assert (winners == per.idxmin(axis=1)).all()  # lowest backtest WAPE won each series
    else:
        assert set(fc["model"]) == {kind}
    formats = {a.format for a in arts}
    assert formats == {"naive": set(), "sklearn": {"skops", "json"}, "prophet": {"prophet-json"},
                       "best": formats, "ensemble": {"skops", "json"}}[kind]
    warns = json.loads(v.warnings)
    assert not [w for w in warns if w.startswith("Regressor")]  # no regressors in this store
    assert all("MAPE skips" in w for w in warns)  # zero actuals are named, nothing else


@pytest.mark.parametrize("freq,horizon", [("W-SUN", 13), ("MS", 12)])
def test_weekly_and_monthly_use_their_default_horizon(tmp_path, freq, horizon):
    db = make_store(tmp_path, n_skus=2, days=3 * 365, freq=freq)
    vid = training.train(SCI, "best", folds=1, options={"models": "naive,sklearn"}, db=db)
    v, fc, _, _, _ = load(db, vid)
    assert v.status == "ready" and v.horizon == horizon and v.freq == freq
    dates = sorted(fc["ds"].unique())
    assert len(dates) == horizon and len(fc) == 2 * horizon
    assert pd.infer_freq(pd.DatetimeIndex(dates)) == freq


def test_same_data_same_params_same_forecasts(daily):
    a = training.train(SCI, "prophet", horizon=7, folds=1, options={"uncertainty_samples": 50}, db=daily)
    b = training.train(SCI, "prophet", horizon=7, folds=1, options={"uncertainty_samples": 50}, db=daily)
    fa, fb = load(daily, a)[1], load(daily, b)[1]
    pd.testing.assert_frame_equal(fa, fb)
    assert load(daily, a)[0].data_hash == load(daily, b)[0].data_hash


def test_refusals_create_no_version(daily):
    with session(daily) as s:
        before = len(vs.list_versions(s))
    with pytest.raises(PermissionDenied):
        training.train(Actor("maya", "manager"), "naive", db=daily)
    with pytest.raises(ValidationError, match="Unknown option"):
        training.train(SCI, "sklearn", options={"colour": "blue"}, db=daily)
    with pytest.raises(ValidationError, match="Unknown model"):
        training.train(SCI, "oracle", db=daily)
    with pytest.raises(ValidationError, match="quantiles must lie between"):
        training.train(SCI, "naive", options={"quantiles": "0.1,0.999"}, db=daily)
    with pytest.raises(ValidationError, match="at least two candidates"):
        training.train(SCI, "ensemble", options={"models": "sklearn"}, db=daily)
    with pytest.raises(ValidationError, match="Horizon"):
        training.train(SCI, "naive", horizon=0, db=daily)
    with session(daily) as s:
        assert len(vs.list_versions(s)) == before


def test_empty_store_says_what_to_do(db):
    with pytest.raises(ValidationError, match="Upload a sales file"):
        training.train(SCI, "naive", db=db)


def test_regressors_used_only_with_known_future(tmp_path):
    db = make_store(tmp_path, n_skus=2, days=200, regressors=True)
    add_future_regressor(db, "promo", pd.date_range("2026-11-02", periods=7))
    vid = training.train(SCI, "sklearn", horizon=7, folds=1, db=db)
    v = load(db, vid)[0]
    assert json.loads(v.params)["regressors"] == ["promo"]
    warns = json.loads(v.warnings)
    assert {w.split("'")[1] for w in warns if w.startswith("Regressor")} == {"price", "temperature"}
    # a horizon longer than the plan drops promo too
    vid = training.train(SCI, "naive", horizon=14, folds=1, db=db)
    v = load(db, vid)[0]
    assert json.loads(v.params)["regressors"] == []
    assert any("'promo'" in w and "incomplete" in w for w in json.loads(v.warnings))


def test_cancel_leaves_a_cancelled_version_without_results(daily):
    calls = []

    def cancel_soon() -> bool:
        calls.append(1)
        return len(calls) > 2

    vid = training.train(SCI, "sklearn", horizon=7, folds=2, db=daily, should_cancel=cancel_soon)
    v, fc, bt, ms, arts = load(daily, vid)
    assert v.status == "cancelled" and fc.empty and bt.empty and ms.empty and not arts
    assert not artifacts.version_dir(daily, vid).exists()


def test_failure_is_recorded_and_raised(daily, monkeypatch):
    from core.models import naive

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(naive.SeasonalNaive, "fit_predict", boom)
    with pytest.raises(RuntimeError):
        training.train(SCI, "naive", horizon=7, folds=1, db=daily)
    with session(daily) as s:
        v = vs.list_versions(s)[0]
    assert v.status == "failed" and "disk on fire" in v.error


def test_artefacts_are_checked_on_load(daily):
    vid = training.train(SCI, "sklearn", horizon=7, folds=1, db=daily)
    est, meta = artifacts.load_sklearn(daily, vid)
    assert meta["strategy"] == "recursive" and hasattr(est, "predict")
    row = artifacts.find(daily, vid, "sklearn", None, "skops")
    path = artifacts.version_dir(daily, vid).parent / row.path
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(artifacts.ArtifactError, match="sha256 mismatch"):
        artifacts.load_sklearn(daily, vid)
    path.unlink()
    with pytest.raises(artifacts.ArtifactError, match="missing"):
        artifacts.load_sklearn(daily, vid)


def test_prophet_artefact_round_trip(daily):
    vid = training.train(SCI, "prophet", horizon=7, folds=1, options={"uncertainty_samples": 0}, db=daily)
    m = artifacts.load_prophet(daily, vid, 1)
    fut = m.make_future_dataframe(periods=7, include_history=False)
    again = m.predict(fut)["yhat"].to_numpy()
    stored = load(daily, vid)[1].query("series_id == 1")["yhat"].to_numpy()
    assert again == pytest.approx(stored.clip(min=0))


KILL_SCRIPT = """
import sys
from core import training
from tests.train_helpers import SCI
training.train(SCI, "prophet", horizon=7, folds=3, options={"uncertainty_samples": 50}, db=sys.argv[1])
"""


@pytest.mark.slow
def test_killed_run_never_looks_ready(daily):
    with session(daily) as s:
        known = {v.id for v in vs.list_versions(s)}
    env = dict(os.environ, SHELFCAST_WORKERS="1", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(daily)], cwd=ROOT, env=env)
    vid, deadline = None, time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            time.sleep(0.5)
            with session(daily) as s:
                new = [v for v in vs.list_versions(s) if v.id not in known]
            # Killed as soon as the run exists: Prophet's fleet now reports progress as its chunks
            # come back, which on 3 small series can be the very end of the run.
            if new and new[0].status == "running":
                vid = new[0].id
                break
        assert vid is not None, "training never started"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    v, fc, bt, ms, arts = load(daily, vid)
    assert v.status == "running" and fc.empty and bt.empty and ms.empty and not arts
    assert training.mark_interrupted(daily) == [vid]
    assert load(daily, vid)[0].status == "interrupted"
    assert training.mark_interrupted(daily) == []


def test_mark_interrupted_spares_live_runs(daily):
    vid = training.start(SCI, "naive", horizon=7, folds=1, db=daily)
    with training._live_lock:
        training._live.add(vid)
    try:
        assert vid not in training.mark_interrupted(daily)
    finally:
        with training._live_lock:
            training._live.discard(vid)
    assert vid in training.mark_interrupted(daily)


def test_train_for_demo_makes_a_ready_best_of_version(daily):
    said = []
    vid = training.train_for_demo(SCI, daily, said.append)
    v = load(daily, vid)[0]
    assert v.status == "ready" and v.kind == "best"
    assert json.loads(v.params)["candidates"] == ["naive", "sklearn"]
    assert said[0].startswith("Training a first forecast") and f"Version {vid}: ready" in said[-1]


def test_training_builds_the_versions_page_rollups_in_its_final_write(daily):
    """Compare, the gate and Train read per-version rollups at fleet scale; a version trained
    without them would be read from raw rows until the store is next reopened by new code."""
    from core.store import version_rollups
    vid = training.train(SCI, "naive", horizon=7, folds=2, db=daily)
    with session(daily) as s:
        assert version_rollups.built(s, [vid]) == {vid}


def test_a_run_shares_one_form_memo_per_model_across_its_folds(daily, monkeypatch):
    """ETS/Theta search a series' form on the first fold and refit it later (core.models.make's
    memo): the run must hand every fold the same memo, and a new run a new one."""
    from core import models
    seen: list[int] = []
    real = models.make

    def spy(name, freq, options=None, seed=0, memo=None):
        if memo is not None:  # None: only to read a model's options, no fit
            seen.append(id(memo))
        return real(name, freq, options, seed, memo=memo)

    monkeypatch.setattr(models, "make", spy)
    training.train(SCI, "naive", horizon=7, folds=2, db=daily)
    first = set(seen)
    seen.clear()
    training.train(SCI, "naive", horizon=7, folds=2, db=daily)
    assert len(first) == 1 and len(set(seen)) == 1 and first != set(seen)
