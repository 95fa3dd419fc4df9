"""Seasonal naive: each future period repeats the same period of the last observed season
(last week's Monday for daily data, last year's week or month otherwise). The baseline every
other model must beat; trained alongside every run for reference."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.metrics import Z80
from core.models.base import OUT_COLS, FitContext, Forecaster, clip_nonneg, future_dates


class SeasonalNaive(Forecaster):
    name = "naive"
    OPTIONS: dict[str, object] = {}

    def fit_predict(self, train: pd.DataFrame, horizon: int, regs: pd.DataFrame | None,
                    ctx: FitContext) -> pd.DataFrame:
        origin = train["ds"].max()
        dates = future_dates(origin, horizon, self.freq)
        k = np.arange(horizon)
        frames = []
        for sid, g in train.groupby("series_id", sort=True):
            y = g["y"].to_numpy(float)
            m = self.season if len(y) >= self.season else 1
            last = y[-m:]
            yhat = last[k % m]
            diffs = y[m:] - y[:-m]
            sigma = float(np.std(diffs)) if len(diffs) > 1 else float(np.abs(y).mean() if len(y) else 0)
            half = Z80 * sigma * np.sqrt(k // m + 1)
            frames.append(pd.DataFrame({"series_id": sid, "ds": dates, "yhat": yhat,
                                        "yhat_lower": yhat - half, "yhat_upper": yhat + half}))
            ctx.progress(1)
        out = pd.concat(frames, ignore_index=True)[OUT_COLS]
        return clip_nonneg(out, bool((train["y"] >= 0).all()))
