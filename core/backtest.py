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
from core.models.data import is_sorted, runs

MIN_TRAIN = 2


def cutoffs(last: pd.Timestamp, horizon: int, folds: int, freq: str) -> list[pd.Timestamp]:
    """Fold origins, oldest first."""
    cal = pd.date_range(end=pd.Timestamp(last), periods=horizon * folds + 1, freq=freq)
    return [cal[len(cal) - 1 - k * horizon] for k in range(folds, 0, -1)]


def split(y: pd.DataFrame, cutoff: pd.Timestamp, horizon: int, freq: str,
          code: np.ndarray | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) for one fold: train ends at the cut-off; test is the next horizon periods,
    for series with enough training history. Rows keep their order (boolean masks, no groupby).
    `code`: each row's series as 0..n-1 (`series_codes`), to share between folds."""
    end = future_dates(cutoff, horizon, freq)[-1]
    ds = y["ds"].to_numpy()
    if code is None:
        code = series_codes(y)
    before = ds <= np.datetime64(cutoff)
    enough = np.bincount(code[before], minlength=code.max() + 1 if len(code) else 0) >= MIN_TRAIN
    if enough.all():  # the usual case: no per-row mask of series to build
        return y[before], y[~before & (ds <= np.datetime64(end))]
    keep = enough[code]
    train = y[before & keep]
    test = y[~before & (ds <= np.datetime64(end)) & keep]
    return train, test


def series_codes(y: pd.DataFrame) -> np.ndarray:
    """Each row's series as 0..n-1: from the runs of a sorted frame (no hashing of 73M ids),
    else by factorizing."""
    if is_sorted(y):
        _, _, n = runs(y["series_id"].to_numpy())
        return np.repeat(np.arange(len(n), dtype=np.int32), n)
    return pd.factorize(y["series_id"])[0]


def regs_until(regs: pd.DataFrame | None, end: pd.Timestamp) -> pd.DataFrame | None:
    return None if regs is None else regs[regs["ds"] <= end]


def run(make_model: Callable[[], Forecaster], y: pd.DataFrame, regs: pd.DataFrame | None,
        freq: str, horizon: int, cuts: list[pd.Timestamp], ctx: FitContext) -> pd.DataFrame:
    """Backtest rows (series_id, model, fold, cutoff, ds, y, yhat, yhat_lower, yhat_upper)."""
    frames = []
    code = series_codes(y)
    for fold, cut in enumerate(cuts):
        ctx.check()
        train, test = split(y, cut, horizon, freq, code)
        if train.empty or test.empty:
            continue
        model = make_model()
        end = future_dates(cut, horizon, freq)[-1]
        fc = model.fit_predict(train, horizon, regs_until(regs, end), FitContext(
            progress=ctx.progress, should_cancel=ctx.should_cancel))
        del train
        frames.append(_scored(test, fc, model.name, fold, cut))
    if not frames:
        return pd.DataFrame(columns=COLS)
    out = pd.concat(frames, ignore_index=True)
    return out if list(out.columns) == COLS else out[COLS]  # (reordering copies every row)


COLS = ["series_id", "model", "fold", "cutoff", "ds", "y", "yhat", "yhat_lower", "yhat_upper"]


def _scored(test: pd.DataFrame, fc: pd.DataFrame, name: str, fold: int, cut: pd.Timestamp) -> pd.DataFrame:
    """A fold's rows: the test rows with the forecast of their (series, date). When the forecast
    has the test's rows in the test's order (every model forecasts each series' horizon in date
    order) its columns are taken as they are; a merge otherwise (same result, slower)."""
    sid, ds = test["series_id"].to_numpy(), test["ds"].to_numpy()
    if (len(fc) == len(test) and np.array_equal(fc["series_id"].to_numpy(), sid)
            and np.array_equal(fc["ds"].to_numpy(), ds)):
        return pd.DataFrame({"series_id": sid, "model": name, "fold": fold, "cutoff": cut, "ds": ds,
                             "y": test["y"].to_numpy(),
                             **{c: fc[c].to_numpy() for c in ("yhat", "yhat_lower", "yhat_upper")}})
    got = test.merge(fc, on=["series_id", "ds"], how="left")
    got.insert(1, "model", name)
    got.insert(2, "fold", fold)
    got.insert(3, "cutoff", cut)
    return got
