"""Forecast accuracy metrics, per series and pooled.

WAPE is pooled as sum|error| / sum|actual| over all series (never the mean of per-series WAPEs,
which slow movers would dominate). Accuracy shown to users is 1 - WAPE. MAPE skips periods whose
actual is zero (it is undefined there) and reports how many it skipped. MASE divides by the
in-sample mean absolute error of the seasonal naive forecast on the training data before the first
backtest cut-off, so it never looks at the future either.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

Z80 = 1.2815515655446004  # standard normal quantile for an 80% central interval
METRICS = ("wape", "mape", "smape", "mase", "bias", "rmse", "coverage")


def _safe_div(a: float, b: float) -> float:
    return float(a / b) if b else float("nan")


# One definition per metric. WAPE = sum|y − ŷ| / sum|y| (NaN without actuals); accuracy = 1 − WAPE,
# never floored in data (a WAPE above 1 stays visible to concept drift and the gate); bias =
# sum(ŷ − y) / sum|y|; coverage = share of actuals inside [lower, upper]. The SQL twin of each is a
# DuckDB macro in core.store.metrics (tests/test_metrics_sql.py holds them to 1e-9).


def wape_of(abs_err: float, abs_y: float) -> float:
    """WAPE from its summed parts (the same ratio as the SQL macro metric_wape_of); a signed
    error sum gives the bias the same way."""
    return _safe_div(float(abs_err), float(abs_y))


def display_accuracy(accuracy: float | None) -> float | None:
    """The one flooring rule: accuracy is shown floored at 0 (a forecast cannot be less than
    useless to a planner), and only when shown. None stays None."""
    if accuracy is None or np.isnan(accuracy):
        return None
    return max(0.0, float(accuracy))


def none_if_nan(x: float | None) -> float | None:
    return None if x is None or np.isnan(x) else float(x)


def compute(y: np.ndarray, yhat: np.ndarray, lower: np.ndarray | None = None,
            upper: np.ndarray | None = None, scale: float | None = None) -> dict:
    """Every metric for one set of (actual, forecast) pairs; NaN where undefined."""
    y = np.asarray(y, float)
    yhat = np.asarray(yhat, float)
    ok = ~(np.isnan(y) | np.isnan(yhat))
    y, yhat = y[ok], yhat[ok]
    err = yhat - y
    abs_err, abs_y = float(np.abs(err).sum()), float(np.abs(y).sum())
    nz = y != 0
    denom = np.abs(y) + np.abs(yhat)
    both = denom > 0
    out = {
        "wape": _safe_div(abs_err, abs_y),
        "mape": float(np.mean(np.abs(err[nz]) / np.abs(y[nz]))) if nz.any() else float("nan"),
        "mape_skipped": int((~nz).sum()),
        "smape": float(np.mean(2 * np.abs(err[both]) / denom[both])) if both.any() else 0.0,
        "mase": _safe_div(float(np.abs(err).mean()), scale) if len(y) and scale else float("nan"),
        "bias": _safe_div(float(err.sum()), abs_y),
        "rmse": float(np.sqrt(np.mean(err**2))) if len(y) else float("nan"),
        "coverage": float("nan"),
        "abs_err": abs_err,
        "abs_y": abs_y,
        "n": int(len(y)),
    }
    if lower is not None and upper is not None:
        lo = np.asarray(lower, float)[ok]
        hi = np.asarray(upper, float)[ok]
        have = ~(np.isnan(lo) | np.isnan(hi))
        if have.any():
            out["coverage"] = float(np.mean((y[have] >= lo[have]) & (y[have] <= hi[have])))
    out["accuracy"] = 1 - out["wape"] if not np.isnan(out["wape"]) else float("nan")
    return out


def naive_scale(train: pd.DataFrame, season: int) -> pd.Series:
    """Per series: mean |y_t - y_{t-season}| over the training rows (the MASE denominator).
    Falls back to lag 1 for series shorter than a season; NaN when even that is impossible."""
    out = {}
    for sid, g in train.groupby("series_id", sort=False):
        y = g["y"].to_numpy(float)
        m = season if len(y) > season else 1
        d = np.abs(y[m:] - y[:-m]) if len(y) > m else np.array([])
        out[sid] = float(d.mean()) if len(d) and d.mean() > 0 else float("nan")
    return pd.Series(out, name="scale", dtype=float)


def per_series(bt: pd.DataFrame, scale: pd.Series | None = None) -> pd.DataFrame:
    """Rows per (series, model, fold) plus one per (series, model) over all folds (fold = NaN).

    `bt` holds series_id, model, fold, y, yhat, yhat_lower, yhat_upper."""
    scale = scale if scale is not None else pd.Series(dtype=float)
    rows = []
    for (sid, model), g in bt.groupby(["series_id", "model"], sort=True):
        sc = scale.get(sid, float("nan"))
        for fold, gf in [*g.groupby("fold", sort=True), (None, g)]:
            m = compute(gf["y"], gf["yhat"], gf["yhat_lower"], gf["yhat_upper"], sc)
            rows.append({"series_id": sid, "model": model, "fold": fold, **m})
    cols = ["series_id", "model", "fold", *METRICS, "abs_err", "abs_y", "n", "mape_skipped", "accuracy"]
    return pd.DataFrame(rows, columns=cols)


def pooled(bt: pd.DataFrame, scale: pd.Series | None = None) -> dict:
    """Metrics over all series together: WAPE/bias as ratios of sums, MASE as the mean of
    per-series MASE (scale-free), the rest over all pairs."""
    if bt.empty:
        return {k: None for k in (*METRICS, "accuracy")}
    m = compute(bt["y"], bt["yhat"], bt["yhat_lower"], bt["yhat_upper"])
    if scale is not None and len(scale):
        ps = per_series(bt.assign(fold=0), scale)
        ps = ps[ps["fold"].isna()]
        m["mase"] = float(ps["mase"].mean(skipna=True)) if ps["mase"].notna().any() else float("nan")
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in m.items()}


# -- quantile forecasts (core.quantiles calibrates them; these score them) -----------------------

def pinball(y: np.ndarray, pred: np.ndarray, q: float) -> float:
    """Mean pinball (quantile) loss of one quantile's forecasts: q·(y−p) above, (1−q)·(p−y) below."""
    y, pred = np.asarray(y, float), np.asarray(pred, float)
    ok = ~(np.isnan(y) | np.isnan(pred))
    d = y[ok] - pred[ok]
    return float(np.mean(np.maximum(q * d, (q - 1) * d))) if ok.any() else float("nan")


def quantile_scores(y: np.ndarray, preds: dict[float, np.ndarray]) -> dict:
    """Pinball loss and observed coverage (share of actuals at or below the forecast) per
    quantile, and the weighted quantile loss wQL = 2·Σ_q Σ pinball_q / (Q·Σ|y|), the scale-free
    figure (M5, GluonTS) that is comparable across data sets like WAPE (wQL at P50 alone = WAPE)."""
    y = np.asarray(y, float)
    abs_y = float(np.nansum(np.abs(y)))
    out: dict = {"pinball": {}, "coverage": {}}
    total = 0.0
    for q, p in sorted(preds.items()):
        p = np.asarray(p, float)
        ok = ~(np.isnan(y) | np.isnan(p))
        d = y[ok] - p[ok]
        loss = np.maximum(q * d, (q - 1) * d)
        total += float(loss.sum())
        out["pinball"][f"{q:g}"] = float(loss.mean()) if ok.any() else None
        out["coverage"][f"{q:g}"] = float(np.mean(y[ok] <= p[ok])) if ok.any() else None
    out["wql"] = 2 * total / (len(preds) * abs_y) if abs_y and preds else None
    return out
