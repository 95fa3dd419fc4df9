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
#
# Every metric is a ratio of sums, so `_sums` adds up the parts per group in one pass of numpy
# bincounts (any number of groups: one for `compute`, every series x model x fold of a run for
# `per_series`) and `_finish` turns sums into metrics. At 100,000 series a per-group loop cost
# minutes of pandas overhead for what is arithmetic on a few arrays.
_PARTS = ("n", "abs_err", "abs_y", "err", "sq", "ape", "nz", "sape", "sden", "hit", "have")


def _sums(code: np.ndarray, k: int, y: np.ndarray, yhat: np.ndarray, lower: np.ndarray | None,
          upper: np.ndarray | None) -> dict[str, np.ndarray]:
    """Per group (code in 0..k-1) the summed parts of every metric; pairs where the actual or
    the forecast is missing are left out."""
    y = np.asarray(y, float)
    yhat = np.asarray(yhat, float)
    ok = ~(np.isnan(y) | np.isnan(yhat))
    code = code[ok]
    y, yhat = y[ok], yhat[ok]
    err = yhat - y
    ae, ay = np.abs(err), np.abs(y)
    nz = y != 0
    denom = ay + np.abs(yhat)
    both = denom > 0

    def add(w: np.ndarray | None = None, where: np.ndarray | None = None) -> np.ndarray:
        if where is None:
            return np.bincount(code, w, minlength=k).astype(float)
        return np.bincount(code[where], None if w is None else w[where], minlength=k).astype(float)

    out = {"n": add(), "abs_err": add(ae), "abs_y": add(ay), "err": add(err), "sq": add(err * err),
           "nz": add(where=nz), "sden": add(where=both), "hit": np.zeros(k), "have": np.zeros(k)}
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ape"] = add(ae / ay, nz)
        out["sape"] = add(2 * ae / denom, both)
    if lower is not None and upper is not None:
        lo, hi = np.asarray(lower, float)[ok], np.asarray(upper, float)[ok]
        have = ~(np.isnan(lo) | np.isnan(hi))
        out["have"] = add(where=have)
        out["hit"] = add(where=have & (y >= lo) & (y <= hi))
    return out


def _finish(s: dict[str, np.ndarray], scale: np.ndarray) -> dict[str, np.ndarray]:
    """Metrics from summed parts (arrays over groups); NaN where a metric is undefined."""
    nan = np.nan

    def ratio(a: np.ndarray, b: np.ndarray, empty: float = nan) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b != 0, a / np.where(b != 0, b, 1.0), empty)

    n = s["n"]
    wape = ratio(s["abs_err"], s["abs_y"])
    with np.errstate(divide="ignore", invalid="ignore"):
        mase = np.where((n > 0) & (scale != 0), ratio(s["abs_err"], n) / scale, nan)
        rmse = np.where(n > 0, np.sqrt(ratio(s["sq"], n)), nan)
    return {
        "wape": wape, "mape": ratio(s["ape"], s["nz"]), "mape_skipped": (n - s["nz"]).astype(np.int64),
        "smape": ratio(s["sape"], s["sden"], 0.0), "mase": mase, "bias": ratio(s["err"], s["abs_y"]),
        "rmse": rmse, "coverage": ratio(s["hit"], s["have"]),
        "abs_err": s["abs_err"], "abs_y": s["abs_y"], "n": n.astype(np.int64), "accuracy": 1 - wape,
    }


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
    s = _sums(np.zeros(len(y), np.intp), 1, y, yhat, lower, upper)
    m = _finish(s, np.array([np.nan if scale is None else float(scale)]))
    return {k: (int(v[0]) if k in ("n", "mape_skipped") else float(v[0])) for k, v in m.items()}


def naive_scale(train: pd.DataFrame, season: int) -> pd.Series:
    """Per series: mean |y_t - y_{t-season}| over the training rows (the MASE denominator).
    Falls back to lag 1 for series shorter than a season; NaN when even that is impossible.
    Rows are taken in their order within each series; a frame already grouped by series (what
    training passes) is used as it is, without a sort or a copy of its rows."""
    sid = train["series_id"].to_numpy()
    y = train["y"].to_numpy(float)
    if len(sid) > 1 and not (sid[1:] >= sid[:-1]).all():
        order = np.argsort(sid, kind="stable")  # rows of a series keep their order
        sid, y = sid[order], y[order]
        del order
    from core.models.data import runs

    ids, start, n = runs(sid)
    m = np.where(n > season, season, 1)
    code = np.repeat(np.arange(len(ids)), n)
    if len(ids) and (m == season).all():  # rows `season` back in the same series: no lag arrays
        ok = code[season:] == code[:-season]
        d = np.abs(y[season:] - y[:-season])[ok]
        g = code[season:][ok]
    else:
        pos = np.arange(len(y)) - np.repeat(start, n)
        lag = np.repeat(m, n)
        ok = pos >= lag
        g = code[ok]
        d = np.abs(y[ok] - y[np.flatnonzero(ok) - lag[ok]])
    del ok, code
    cnt = np.bincount(g, minlength=len(ids))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(g, d, minlength=len(ids)) / cnt
    return pd.Series(np.where((cnt > 0) & (mean > 0), mean, np.nan), index=ids, name="scale", dtype=float)


PER_SERIES_COLS = ["series_id", "model", "fold", *METRICS, "abs_err", "abs_y", "n", "mape_skipped", "accuracy"]


def per_series(bt: pd.DataFrame, scale: pd.Series | None = None) -> pd.DataFrame:
    """Rows per (series, model, fold) plus one per (series, model) over all folds (fold = NaN),
    sorted by series, model and fold, the all-folds row last.

    `bt` holds series_id, model, fold, y, yhat, yhat_lower, yhat_upper."""
    if bt.empty:
        return pd.DataFrame(columns=PER_SERIES_COLS)
    sc, sids = pd.factorize(bt["series_id"], sort=True)
    mc, names = pd.factorize(bt["model"], sort=True)
    fc, folds = pd.factorize(bt["fold"], sort=True)
    ns, nm, nf = len(sids), len(names), len(folds)
    # one cell per (series, model, fold) on a dense grid, then one more per (series, model) for
    # all folds: laid out as (series x model, folds + 1) its ravel is already in output order
    code = (sc.astype(np.int64) * nm + mc) * nf + fc
    s = _sums(code, ns * nm * nf, bt["y"].to_numpy(float), bt["yhat"].to_numpy(float),
              bt["yhat_lower"].to_numpy(float), bt["yhat_upper"].to_numpy(float))
    rows = np.bincount(code, minlength=ns * nm * nf).reshape(ns * nm, nf)
    s = {k: _with_total(v.reshape(ns * nm, nf)) for k, v in s.items()}
    present = _with_total(rows) > 0
    scale_of = (scale.reindex(np.asarray(sids)).to_numpy(float) if scale is not None and len(scale)
                else np.full(ns, np.nan))
    cell = np.flatnonzero(present)
    pair, f = np.divmod(cell, nf + 1)
    m = _finish({k: v[present] for k, v in s.items()}, scale_of[pair // nm])
    fold_vals = np.append(np.asarray(folds, float), np.nan)
    out = pd.DataFrame({"series_id": np.asarray(sids)[pair // nm], "model": np.asarray(names)[pair % nm],
                        "fold": fold_vals[f], **m})
    return out[PER_SERIES_COLS]


def _with_total(a: np.ndarray) -> np.ndarray:
    """(groups, folds) -> (groups, folds + 1): the last column sums the folds."""
    return np.concatenate([a, a.sum(axis=1, keepdims=True)], axis=1)


def pooled(bt: pd.DataFrame, scale: pd.Series | None = None) -> dict:
    """Metrics over all series together: WAPE/bias as ratios of sums, MASE as the mean of
    per-series MASE (scale-free), the rest over all pairs."""
    if bt.empty:
        return {k: None for k in (*METRICS, "accuracy")}
    m = compute(bt["y"], bt["yhat"], bt["yhat_lower"], bt["yhat_upper"])
    if scale is not None and len(scale):
        sc, sids = pd.factorize(bt["series_id"], sort=True)
        mc, names = pd.factorize(bt["model"], sort=True)
        code = sc.astype(np.int64) * len(names) + mc
        k = len(sids) * len(names)
        s = _sums(code, k, bt["y"].to_numpy(float), bt["yhat"].to_numpy(float), None, None)
        present = np.bincount(code, minlength=k) > 0
        mase = _finish(s, np.repeat(scale.reindex(np.asarray(sids)).to_numpy(float), len(names)))["mase"][present]
        mase = mase[~np.isnan(mase)]
        m["mase"] = float(mase.mean()) if len(mase) else float("nan")
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
