"""Statistical fits spread over worker processes (StatsForecastModel.fit_predict with several
workers): the same forecasts, bands, explanations and remembered forms as the serial path, every
series once and in place. Real statsforecast fits on small data, 2 loky workers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import backtest, models
from core.models import statistical
from core.models.base import FitContext
from core.models.statistical import split_series


def retail(n_series: int = 40, days: int = 120, seed: int = 3) -> pd.DataFrame:
    """Slow and fast movers with a weekly season, series of different lengths (one too short for
    ETS), and one negative value (a return), so the whole fleet is not clipped at zero."""
    rng = np.random.default_rng(seed)
    frames = []
    for sid in range(n_series):
        n = days if sid % 3 else days - 17 * (sid % 5 + 1)
        n = 6 if sid == 7 else n
        ds = pd.date_range(end="2025-06-30", periods=n, freq="D")
        rate = rng.choice([0.2, 1.0, 8.0]) * (1 + 0.5 * np.sin(2 * np.pi * np.arange(n) / 7))
        frames.append(pd.DataFrame({"series_id": sid * 10 + 5, "ds": ds, "y": rng.poisson(rate).astype(float)}))
    y = pd.concat(frames, ignore_index=True)
    y.loc[y.index[50], "y"] = -1.0
    return y


@pytest.fixture
def chunked(monkeypatch):
    """Small chunks on 2 workers, so that 40 series go through several worker tasks."""
    monkeypatch.setenv("SHELFCAST_WORKERS", "2")
    monkeypatch.setattr(statistical, "MIN_PARALLEL", 2)
    monkeypatch.setattr(statistical, "ROWS_PER_CHUNK", 5 * 120)


def serial(name, train, h, memo=None, ctx=None):
    model = models.make(name, "D", {}, 0, memo=memo)
    return model.fit(train, None, ctx or FitContext()).predict(h, None, ctx or FitContext())


@pytest.mark.parametrize("name", ["ets", "theta", "croston", "tsb", "adida", "imapa"])
def test_workers_forecast_what_the_serial_path_does(chunked, name):
    y = retail()
    done: list[int] = []
    ctx_par, ctx_ser = FitContext(progress=done.append), FitContext()
    got = models.make(name, "D").fit_predict(y, 14, None, ctx_par)
    want = serial(name, y, 14, ctx=ctx_ser)
    pd.testing.assert_frame_equal(got, want)
    assert sum(done) == y["series_id"].nunique()
    assert ctx_par.explain == ctx_ser.explain
    if name == "ets":
        assert "fallback_ets" in ctx_par.explain  # the 6-day series, counted across chunks


def test_shuffled_rows_come_back_in_series_order(chunked):
    y = retail(seed=5)
    got = models.make("croston", "D").fit_predict(y.sample(frac=1, random_state=1), 7, None, FitContext())
    pd.testing.assert_frame_equal(got, serial("croston", y, 7))


@pytest.mark.parametrize("name", ["ets", "theta"])
def test_the_runs_form_memo_works_across_workers(chunked, name):
    """Fold 1 searches each series' form in the workers, later folds fit that form; the memo
    and every fold's rows equal a serial run's."""
    y = retail(seed=11)
    cuts = backtest.cutoffs(y["ds"].max(), 14, 3, "D")
    memo_par: dict = {}
    par = backtest.run(lambda: models.make(name, "D", {}, 0, memo=memo_par), y, None, "D", 14, cuts, FitContext())

    memo_ser: dict = {}

    class Serial:  # the same model, fitted in this process
        def __init__(self) -> None:
            self.m = models.make(name, "D", {}, 0, memo=memo_ser)
            self.name = self.m.name

        def fit_predict(self, train, h, regs, ctx):
            return self.m.fit(train, regs, ctx).predict(h, regs, ctx)

    ser = backtest.run(Serial, y, None, "D", 14, cuts, FitContext())
    pd.testing.assert_frame_equal(par, ser)
    (forms,) = memo_par.values()
    assert memo_par == memo_ser and len(forms) == y["series_id"].nunique() - 1  # all but the 6-day one


def test_split_series_keeps_every_series_once_and_balances_rows():
    rng = np.random.default_rng(0)
    n = rng.integers(30, 730, 5000)
    parts = split_series(n, 2)
    flat = np.concatenate(parts)
    assert np.array_equal(np.sort(flat), np.arange(len(n)))  # none lost, none twice
    assert all(np.array_equal(p, np.sort(p)) for p in parts)  # in the frame's order
    rows = np.array([n[p].sum() for p in parts])
    assert len(parts) >= 8 and rows.max() <= statistical.ROWS_PER_CHUNK + n.max()
    assert rows.max() <= 1.1 * rows.mean()  # balanced by length, not by count
    assert min(n[parts[0]]) >= max(n[parts[-1]])  # longest first
    big = split_series(np.full(100_000, 730), 2)  # the fleet: ~5 s of ETS a chunk
    assert 100 <= len(big) <= 200 and sum(map(len, big)) == 100_000
    assert [len(p) for p in split_series(n, 1)] == [len(n)]  # one worker: one chunk
    assert [len(p) for p in split_series(n[:10], 2)] == [10] and split_series(n[:0], 2) == []
