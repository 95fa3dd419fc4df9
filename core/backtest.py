"""Rolling-origin backtest: K folds, each one horizon long, ending at the last actual.

Cut-offs (the last date a fold's model may see) are origin_k = last - k·horizon periods for
k = K..1, shared by every model of a run so their scores compare like with like. A fold's model
gets only rows dated on or before its cut-off, plus regressors up to the end of its test window
(known future values, as a promo plan would be); it is scored on the next `horizon` periods.
Series with fewer than two periods before a cut-off sit that fold out, for every model alike.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from core.models.base import FitContext, Forecaster, future_dates

MIN_TRAIN = 2


def cutoffs(last: pd.Timestamp, horizon: int, folds: int, freq: str) -> list[pd.Timestamp]:
    """Fold origins, oldest first."""
    cal = pd.date_range(end=pd.Timestamp(last), periods=horizon * folds + 1, freq=freq)
    return [cal[len(cal) - 1 - k * horizon] for k in range(folds, 0, -1)]


def split(y: pd.DataFrame, cutoff: pd.Timestamp, horizon: int, freq: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) for one fold: train ends at the cut-off; test is the next horizon periods,
    for series with enough training history. Rows keep their order (boolean masks, no groupby)."""
    end = future_dates(cutoff, horizon, freq)[-1]
    ds = y["ds"].to_numpy()
    code, _ = pd.factorize(y["series_id"])
    before = ds <= np.datetime64(cutoff)
    keep = (np.bincount(code[before], minlength=code.max() + 1 if len(code) else 0) >= MIN_TRAIN)[code]
    train = y[before & keep]
    test = y[~before & (ds <= np.datetime64(end)) & keep]
    return train, test


def regs_until(regs: pd.DataFrame | None, end: pd.Timestamp) -> pd.DataFrame | None:
    return None if regs is None else regs[regs["ds"] <= end]


def run(make_model: Callable[[], Forecaster], y: pd.DataFrame, regs: pd.DataFrame | None,
        freq: str, horizon: int, cuts: list[pd.Timestamp], ctx: FitContext) -> pd.DataFrame:
    """Backtest rows (series_id, model, fold, cutoff, ds, y, yhat, yhat_lower, yhat_upper)."""
    frames = []
    for fold, cut in enumerate(cuts):
        ctx.check()
        train, test = split(y, cut, horizon, freq)
        if train.empty or test.empty:
            continue
        model = make_model()
        end = future_dates(cut, horizon, freq)[-1]
        fc = model.fit_predict(train, horizon, regs_until(regs, end), FitContext(
            progress=ctx.progress, should_cancel=ctx.should_cancel))
        got = test.merge(fc, on=["series_id", "ds"], how="left")
        got.insert(1, "model", model.name)
        got.insert(2, "fold", fold)
        got.insert(3, "cutoff", cut)
        frames.append(got)
    cols = ["series_id", "model", "fold", "cutoff", "ds", "y", "yhat", "yhat_lower", "yhat_upper"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)
