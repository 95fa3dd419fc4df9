"""Best-of's choice from arrays (core.training.choice) makes the frame path's choice to the bit:
the same models, members, strategy scores, headline rows and saved rows, in less memory."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from core import training
from core.models import ensemble
from core.store import session
from core.store import versions as vs
from core.training import choice, selection, steps
from tests.train_helpers import SCI, make_store

MODELS = ["naive", "sklearn", "croston"]


def backtest_rows(n_series: int = 60, folds: int = 3, h: int = 7, seed: int = 0) -> pd.DataFrame:
    """Rows the way core.backtest makes them (model, fold, series, date): slow movers with zero
    weeks, forecasts of different quality per model and series, some missing forecasts and
    actuals, one series that sits the first fold out."""
    rng = np.random.default_rng(seed)
    level = rng.lognormal(0.5, 1.2, n_series) * (rng.random(n_series) > 0.1)
    skill = rng.uniform(0.2, 1.5, (len(MODELS), n_series))
    frames = []
    truth = {}
    for f in range(folds):
        cut = pd.Timestamp("2025-01-01") + pd.Timedelta(days=h * f)
        sids = np.arange(n_series) * 7 + 3
        keep = sids != sids[5] if f == 0 else np.ones(n_series, bool)
        sid = np.repeat(sids[keep], h)
        ds = np.tile(pd.date_range(cut + pd.Timedelta(days=1), periods=h).to_numpy(), keep.sum())
        y = rng.poisson(np.repeat(level[keep], h)).astype(float)
        y[rng.random(len(y)) < 0.01] = np.nan
        truth[f] = (cut, sid, ds, y)
    for i, m in enumerate(MODELS):
        for f in range(folds):
            cut, sid, ds, y = truth[f]
            noise = rng.normal(0, 1, len(sid)) * skill[i][(sid - 3) // 7]
            yhat = np.nan_to_num(y) + noise * (1 + np.sqrt(np.nan_to_num(y)))
            yhat[rng.random(len(yhat)) < 0.01] = np.nan
            frames.append(pd.DataFrame({"series_id": sid, "model": m, "fold": f, "cutoff": cut, "ds": ds,
                                        "y": y, "yhat": yhat, "yhat_lower": yhat - 2.0, "yhat_upper": yhat + 2.5}))
    return pd.concat(frames, ignore_index=True)


def params(**kw) -> dict:
    return {"kind": "best", "candidates": MODELS, "top_k": 3, "combine": "mean", "scope": "global",
            "margin": 0.25, "strategy": "auto", **kw}


def chosen_both_ways(bt: pd.DataFrame, p: dict, monkeypatch) -> tuple[steps.Run, steps.Run]:
    def run() -> steps.Run:
        return steps.Run(vid=0, params=dict(p), freq="D", horizon=7, folds=3, y=bt, raw_regs=bt, bt=bt)

    fast = run()
    assert choice.fits(p) and choice.panel(bt) is not None  # the array path runs
    selection.choose(fast)
    with monkeypatch.context() as m:
        m.setattr(choice, "fits", lambda _p: False)
        slow = run()
        selection.choose(slow)
    return fast, slow


@pytest.mark.parametrize(("folds", "kw"), [
    (3, {}), (3, {"margin": 0.0}), (3, {"top_k": 0}), (3, {"top_k": 2}), (2, {}), (1, {}), (4, {"seed": 3}),
    (3, {"strategy": "one-model"}), (3, {"strategy": "mean-top-2"}), (3, {"strategy": "per-series", "margin": 0.1}),
])
def test_array_choice_equals_the_frame_choice_to_the_bit(folds, kw, monkeypatch):
    seed = kw.pop("seed", 0)
    bt = backtest_rows(folds=folds, seed=seed)
    fast, slow = chosen_both_ways(bt, params(**kw), monkeypatch)
    pd.testing.assert_series_equal(fast.chosen, slow.chosen, check_exact=True, check_names=False)
    if slow.members is None:
        assert fast.members is None
    else:
        pd.testing.assert_series_equal(fast.members, slow.members, check_names=False)
    assert fast.measured == slow.measured  # strategy scores as floats, to the bit
    assert slow.bt_ens is None and (fast.bt_ens is None) == (slow.members is None)
    saved = pd.concat(selection.backtest_frames(fast), ignore_index=True)  # what the store keeps
    pd.testing.assert_frame_equal(saved, slow.bt, check_exact=True)
    pd.testing.assert_frame_equal(fast.honest.reset_index(drop=True), slow.honest.reset_index(drop=True),
                                  check_exact=True)
    pd.testing.assert_series_equal(fast.honest_chosen, slow.honest_chosen, check_exact=True, check_names=False)
    if folds >= 2:  # the choosing folds' rows: the ensemble's kept, the candidates' read from bt
        sel = slow.honest_sel
        for m in sel["model"].unique():
            want = sel[sel["model"] == m].reset_index(drop=True)
            if m == ensemble.NAME:
                got = fast.honest_sel
            else:
                got = fast.bt[(fast.bt["model"] == m) & fast.bt["fold"].isin(fast.sel_folds)]
            pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_exact=True)


def test_rows_that_do_not_line_up_take_the_frame_path(monkeypatch):
    bt = backtest_rows()
    assert choice.panel(bt.sample(frac=1, random_state=1).reset_index(drop=True)) is None
    assert choice.panel(bt.drop(index=bt.index[-3:])) is None  # the last model misses rows
    assert choice.panel(bt[bt["model"] != "croston"].reset_index(drop=True)) is not None
    assert not choice.fits(params(combine="median")) and not choice.fits(params(scope="series"))
    shuffled = bt.sample(frac=1, random_state=1).reset_index(drop=True)
    run = steps.Run(vid=0, params=params(), freq="D", horizon=7, folds=3, y=bt, raw_regs=bt, bt=shuffled)
    selection.choose(run)  # the frame path, same choice as on the ordered rows
    fast, _ = chosen_both_ways(bt, params(), monkeypatch)
    pd.testing.assert_series_equal(run.chosen, fast.chosen, check_names=False)


def peak_of(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_array_choice_needs_far_less_memory_than_the_frames(monkeypatch):
    """What issue #13 needs at 100,000 series: the choice's peak above the backtest itself was
    6.3 times the backtest (a concatenation per strategy, a copy of the choosing folds); now it
    is about the ensemble's rows and the arrays of one strategy's scores."""
    bt = backtest_rows(n_series=3000, h=28)

    def run() -> steps.Run:
        return steps.Run(vid=0, params=params(), freq="D", horizon=28, folds=3, y=bt, raw_regs=bt, bt=bt)

    fast = peak_of(lambda: selection.choose(run()))
    with monkeypatch.context() as m:
        m.setattr(choice, "fits", lambda _p: False)
        slow = peak_of(lambda: selection.choose(run()))
    size = bt.memory_usage(deep=False, index=False).sum()
    assert fast < 0.3 * slow, (fast / size, slow / size)  # measured 1.3 v 6.3 times the backtest
    assert fast < 1.6 * size, fast / size


def test_a_whole_run_saves_the_same_version_either_way(tmp_path, monkeypatch):
    """Real fits on a small store: the version saved through the array path equals the frame
    path's (metrics, strategy scores, headline, quantile scores; backtests, forecasts)."""
    db = make_store(tmp_path, n_skus=6, n_stores=1, days=200)
    opts = {"models": "naive,croston,sklearn", "estimator": "ridge"}
    fast = training.train(SCI, "best", horizon=7, folds=3, db=db, options=opts)
    with monkeypatch.context() as m:
        m.setattr(choice, "fits", lambda _p: False)
        slow = training.train(SCI, "best", horizon=7, folds=3, db=db, options=opts)
    with session(db) as s:
        got = [(json.loads(vs.get_version(s, v).metrics), vs.backtests(s, v), vs.forecasts(s, v))
               for v in (fast, slow)]
    assert got[0][0] == got[1][0] and got[0][0]["measured"]["method"] == "out-of-selection"
    pd.testing.assert_frame_equal(got[0][1], got[1][1], check_exact=True)
    pd.testing.assert_frame_equal(got[0][2], got[1][2], check_exact=True)
