"""Seasonal naive: each future period repeats the same period of the last observed season
(last week's Monday for daily data, last year's week or month otherwise). The baseline every
other model must beat; trained alongside every run for reference.

One array operation over all series: at 10,000+ series a per-series loop spent minutes in
pandas overhead for what is an index lookup."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.metrics import Z80
from core.models.base import OUT_COLS, FitContext, Forecaster, clip_nonneg, future_dates
from core.models.data import runs, sort_long


class SeasonalNaive(Forecaster):
    name = "naive"
    OPTIONS: dict[str, object] = {}

    def fit(self, train: pd.DataFrame, regs: pd.DataFrame | None, ctx: FitContext) -> SeasonalNaive:
        """Keep, per series, the last season of values and the spread of its seasonal
        differences (the 80% band grows with the square root of the seasons ahead)."""
        df = sort_long(train)
        y = df["y"].to_numpy(float)
        ids, start, n = runs(df["series_id"].to_numpy())
        m = np.where(n >= self.season, self.season, 1)
        # a block of series at a time: each series' sums are its own, so blocks give the same
        # floats, and the temporaries are a block's rows, not 73M rows' (2 GB at 100,000 series)
        self.sigma_ = np.empty(len(ids))
        for a in range(0, len(ids), BLOCK):
            b = min(a + BLOCK, len(ids))
            lo, hi = start[a], start[b - 1] + n[b - 1]
            self.sigma_[a:b] = _sigma(y[lo:hi], start[a:b] - lo, n[a:b], m[a:b], self.season)
        self.ids_, self.m_ = ids, m
        # each series' last season (one value repeated where the season is 1): what predict
        # repeats; not the whole history (0.5 GB held by every backtest fold's model at 100k)
        end = start + n
        self.last_ = y[end[:, None] - m[:, None] + np.arange(self.season)[None, :] % m[:, None]]
        self.origin_ = df["ds"].max()
        self.nonneg_ = bool((y >= 0).all())
        ctx.progress(len(ids))
        return self

    def predict(self, horizon: int, regs: pd.DataFrame | None, ctx: FitContext) -> pd.DataFrame:
        k = np.arange(horizon)
        m = self.m_[:, None]
        yhat = np.take_along_axis(self.last_, k[None, :] % m, axis=1)
        half = Z80 * self.sigma_[:, None] * np.sqrt(k // m + 1)
        dates = future_dates(self.origin_, horizon, self.freq)
        out = pd.DataFrame({
            "series_id": np.repeat(self.ids_, horizon), "ds": np.tile(dates.to_numpy(), len(self.ids_)),
            "yhat": yhat.ravel(), "yhat_lower": (yhat - half).ravel(), "yhat_upper": (yhat + half).ravel(),
        })[OUT_COLS]
        return clip_nonneg(out, self.nonneg_)

    def fit_predict(self, train: pd.DataFrame, horizon: int, regs: pd.DataFrame | None,
                    ctx: FitContext) -> pd.DataFrame:
        return self.fit(train, regs, ctx).predict(horizon, regs, ctx)


BLOCK = 8192  # series per block of the spread's temporaries (~6M rows of daily data)


def _sigma(y: np.ndarray, start: np.ndarray, n: np.ndarray, m: np.ndarray, season: int) -> np.ndarray:
    """Per series (contiguous rows, `start`/`n`): the spread of its seasonal differences
    y[t] - y[t-m], or its mean absolute value with fewer than two differences."""
    sid = np.repeat(np.arange(len(n)), n)  # intp: what bincount takes without a converted copy
    if (m == season).all():
        ok = sid[season:] == sid[:-season]
        d, g = (y[season:] - y[:-season])[ok], sid[season:][ok]
    else:  # some series shorter than a season difference at lag 1
        pos = np.arange(len(y)) - np.repeat(start, n)
        lag = np.repeat(m, n)
        ok = pos >= lag
        d, g = y[ok] - y[np.flatnonzero(ok) - lag[ok]], sid[ok]
    del ok
    cnt = np.bincount(g, minlength=len(n))
    mean = np.bincount(g, d, minlength=len(n)) / np.maximum(cnt, 1)
    # (d - mean[g])², in one temporary
    sq = mean[g]
    np.subtract(d, sq, out=sq)
    np.square(sq, out=sq)
    del d
    var = np.bincount(g, sq, minlength=len(n)) / np.maximum(cnt, 1)
    del sq, g
    absmean = np.bincount(sid, np.abs(y), minlength=len(n)) / np.maximum(n, 1)
    return np.where(cnt > 1, np.sqrt(var), absmean)
