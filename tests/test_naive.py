"""Seasonal naive as one array operation: the same forecasts as the per-series loop it
replaced, on series of mixed lengths (shorter than a season too), and fast at many series."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from core.metrics import Z80
from core.models.base import OUT_COLS, FitContext, clip_nonneg, future_dates
from core.models.naive import SeasonalNaive


def loop_naive(train: pd.DataFrame, horizon: int, freq: str, season: int) -> pd.DataFrame:
    """The per-series implementation this module had before (commit ecad5d5), kept as the
    oracle the vectorised one must match."""
    origin = train["ds"].max()
    dates = future_dates(origin, horizon, freq)
    k = np.arange(horizon)
    frames = []
    for sid, g in train.groupby("series_id", sort=True):
        y = g["y"].to_numpy(float)
        m = season if len(y) >= season else 1
        last = y[-m:]
        yhat = last[k % m]
        diffs = y[m:] - y[:-m]
        sigma = float(np.std(diffs)) if len(diffs) > 1 else float(np.abs(y).mean() if len(y) else 0)
        half = Z80 * sigma * np.sqrt(k // m + 1)
        frames.append(pd.DataFrame({"series_id": sid, "ds": dates, "yhat": yhat,
                                    "yhat_lower": yhat - half, "yhat_upper": yhat + half}))
    out = pd.concat(frames, ignore_index=True)[OUT_COLS]
    return clip_nonneg(out, bool((train["y"] >= 0).all()))


def mixed(freq: str, lengths: list[int], seed: int = 0, negative: bool = False) -> pd.DataFrame:
    """Series of the given lengths, all ending on one origin, rows shuffled."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp("2024-06-30") if freq == "D" else pd.Timestamp("2024-06-01")
    parts = []
    for i, n in enumerate(lengths):
        ds = pd.date_range(end=end, periods=n, freq=freq)
        y = rng.poisson(3 + i, n).astype(float) * (1 + np.sin(np.arange(n)))
        if negative:
            y -= 4
        parts.append(pd.DataFrame({"series_id": 10 + 3 * i, "ds": ds, "y": y}))
    return pd.concat(parts).sample(frac=1, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("freq,lengths,h", [
    ("D", [60, 7, 8, 3, 1, 2, 30], 10),
    ("MS", [40, 12, 13, 5, 24], 18),
    ("W-SUN", [120, 52, 53, 20], 60),
])
@pytest.mark.parametrize("negative", [False, True])
def test_matches_the_per_series_loop(freq, lengths, h, negative):
    train = mixed(freq, lengths, negative=negative)
    model = SeasonalNaive(freq)
    want = loop_naive(train.sort_values(["series_id", "ds"]), h, freq, model.season)
    got = model.fit_predict(train, h, None, FitContext())
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_exact=False, rtol=1e-9,
                                  atol=1e-9)


def test_fit_then_predict_twice_is_the_same_and_reports_every_series():
    train = mixed("D", [50, 40, 5])
    done = []
    model = SeasonalNaive("D").fit(train, None, FitContext(progress=done.append))
    assert sum(done) == 3
    pd.testing.assert_frame_equal(model.predict(14, None, FitContext()),
                                  model.predict(14, None, FitContext()))


def test_ten_thousand_series_in_well_under_a_second_of_numpy():
    n, days = 10_000, 120
    rng = np.random.default_rng(1)
    train = pd.DataFrame({
        "series_id": np.repeat(np.arange(n), days),
        "ds": np.tile(pd.date_range("2024-01-01", periods=days, freq="D").to_numpy(), n),
        "y": rng.poisson(2, n * days).astype(float),
    })
    t = time.perf_counter()
    fc = SeasonalNaive("D").fit_predict(train, 28, None, FitContext())
    took = time.perf_counter() - t
    assert len(fc) == n * 28
    # The loop took ~10 s here (minutes at 10k x 730); a generous bound for a shared machine.
    assert took < 5, took
