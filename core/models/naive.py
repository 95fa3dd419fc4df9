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
        # Seasonal differences y[t] - y[t-m] of every row that has a row m periods back in its
        # own series (rows are contiguous per series, so: the row m back has the same series).
        sid = np.repeat(np.arange(len(ids)), n)  # intp: what bincount takes without a converted copy
        if (m == self.season).all():
            s = self.season
            ok = sid[s:] == sid[:-s]
            d, g = (y[s:] - y[:-s])[ok], sid[s:][ok]
        else:  # some series shorter than a season difference at lag 1
            pos = np.arange(len(y)) - np.repeat(start, n)
            lag = np.repeat(m, n)
            ok = pos >= lag
            d, g = y[ok] - y[np.flatnonzero(ok) - lag[ok]], sid[ok]
        del ok
        cnt = np.bincount(g, minlength=len(ids))
        mean = np.bincount(g, d, minlength=len(ids)) / np.maximum(cnt, 1)
        # (d - mean[g])², in one temporary (at 73M rows each one is half a gigabyte)
        sq = mean[g]
        np.subtract(d, sq, out=sq)
        np.square(sq, out=sq)
        del d
        var = np.bincount(g, sq, minlength=len(ids)) / np.maximum(cnt, 1)
        del sq, g
        absmean = np.bincount(sid, np.abs(y), minlength=len(ids)) / np.maximum(n, 1)
        self.sigma_ = np.where(cnt > 1, np.sqrt(var), absmean)
        self.ids_, self.m_ = ids, m
        self.last_ = y, start + n  # values and each series' end (exclusive)
        self.origin_ = df["ds"].max()
        self.nonneg_ = bool((y >= 0).all())
        ctx.progress(len(ids))
        return self

    def predict(self, horizon: int, regs: pd.DataFrame | None, ctx: FitContext) -> pd.DataFrame:
        y, end = self.last_
        k = np.arange(horizon)
        m = self.m_[:, None]
        yhat = y[end[:, None] - m + k % m]
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
