"""Rolling-origin backtest: K folds, each one horizon long, ending at the last actual.

Cut-offs (the last date a fold's model may see) are origin_k = last - k·horizon periods for
k = K..1, shared by every model of a run so their scores compare like with like. A fold's model
gets only rows dated on or before its cut-off, plus regressors up to the end of its test window
(known future values, as a promo plan would be); it is scored on the next `horizon` periods.
Series with fewer than two periods before a cut-off sit that fold out, for every model alike.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

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
    train, test = _masks(y, cutoff, horizon, freq, series_codes(y) if code is None else code)
    return y[train], y[test]


def _masks(y: pd.DataFrame, cutoff: pd.Timestamp, horizon: int, freq: str,
           code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`split`'s rows as masks over y's rows: (train, test)."""
    end = future_dates(cutoff, horizon, freq)[-1]
    ds = y["ds"].to_numpy()
    before = ds <= np.datetime64(cutoff)
    enough = np.bincount(code[before], minlength=code.max() + 1 if len(code) else 0) >= MIN_TRAIN
    test = ~before
    test &= ds <= np.datetime64(end)
    if not enough.all():  # the usual case needs no per-row mask of series
        keep = enough[code]
        before &= keep
        test &= keep
    return before, test


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
    return run_models([make_model], y, regs, freq, horizon, cuts, ctx)


def run_models(makers: list[Callable[[], Forecaster]], y: pd.DataFrame, regs: pd.DataFrame | None,
               freq: str, horizon: int, cuts: list[pd.Timestamp], ctx: FitContext,
               hold: Callable[[], AbstractContextManager] = nullcontext) -> pd.DataFrame:
    """`run` of each model in turn, as one frame: each model's rows one block, in the given
    order, each block's folds in order (what concatenating `run`'s frames gives). Every model
    is scored on the same rows of each fold (its split depends on the data only), so the frame's
    columns are allocated once and each fold's forecasts written in place: concatenating each
    model's folds, then the models, copied the whole backtest twice (1.7 GB at 100,000 daily
    series x 3 models, the copy at the run's peak). `hold`: a context kept while one model's
    folds run (core.training keeps the worker pool that long, core.parallel.held)."""
    code = series_codes(y)
    tests = []  # per fold: the test rows' positions in y, or None when the fold is sat out
    for cut in cuts:
        train, test = _masks(y, cut, horizon, freq, code)
        tests.append(np.flatnonzero(test) if train.any() and test.any() else None)
        del train, test
    per_model = sum(len(t) for t in tests if t is not None)
    n = per_model * len(makers)
    if not n:
        return pd.DataFrame(columns=COLS)
    sid, ds, yv = y["series_id"].to_numpy(), y["ds"].to_numpy(), y["y"].to_numpy()
    out = _columns(y, n)
    at = 0
    for make_model in makers:
        with hold():
            for fold, cut in enumerate(cuts):
                ctx.check()
                idx = tests[fold]
                if idx is None:
                    continue
                train = y[_masks(y, cut, horizon, freq, code)[0]]
                model = make_model()
                end = future_dates(cut, horizon, freq)[-1]
                fc = model.fit_predict(train, horizon, regs_until(regs, end), FitContext(
                    progress=ctx.progress, should_cancel=ctx.should_cancel))
                del train
                rows = slice(at, at + len(idx))
                _fill(out, rows, idx, sid, ds, yv, fc, model.name, fold, cut, y)
                at += len(idx)
                del fc
    return pd.DataFrame(out, copy=False)


def _columns(y: pd.DataFrame, n: int) -> dict[str, np.ndarray]:
    """Empty columns for n backtest rows (COLS; the keys and actuals in y's dtypes)."""
    dtypes = {"series_id": y["series_id"].dtype, "model": object, "fold": np.int64, "cutoff": "datetime64[ns]",
              "ds": y["ds"].dtype, "y": y["y"].dtype, "yhat": float, "yhat_lower": float, "yhat_upper": float}
    return {c: np.empty(n, dtypes[c]) for c in COLS}


def _fill(out: dict[str, np.ndarray], rows: slice, idx: np.ndarray, sid: np.ndarray, ds: np.ndarray,
          yv: np.ndarray, fc: pd.DataFrame, name: str, fold: int, cut: pd.Timestamp, y: pd.DataFrame) -> None:
    """A fold's rows into `out` at `rows`: the test rows (`idx` in y) with the forecast of their
    (series, date). When the forecast has the test's rows in the test's order (every model
    forecasts each series' horizon in date order) its columns are taken as they are; a merge
    otherwise (same result, slower)."""
    t_sid, t_ds = sid[idx], ds[idx]
    if (len(fc) == len(idx) and np.array_equal(fc["series_id"].to_numpy(), t_sid)
            and np.array_equal(fc["ds"].to_numpy(), t_ds)):
        got = {"series_id": t_sid, "ds": t_ds, "y": yv[idx], **{c: fc[c].to_numpy() for c in ("yhat", "yhat_lower", "yhat_upper")}}
    else:
        merged = y.iloc[idx].merge(fc, on=["series_id", "ds"], how="left")
        if len(merged) != len(idx):
            raise RuntimeError(f"{name}: the forecast repeats a series and date of fold {fold + 1}.")
        got = {c: merged[c].to_numpy() for c in ("series_id", "ds", "y", "yhat", "yhat_lower", "yhat_upper")}
    for c, v in got.items():
        out[c][rows] = v
    out["model"][rows] = name
    out["fold"][rows] = fold
    out["cutoff"][rows] = np.datetime64(cut, "ns")


COLS = ["series_id", "model", "fold", "cutoff", "ds", "y", "yhat", "yhat_lower", "yhat_upper"]
