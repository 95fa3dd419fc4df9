"""Data drift (has what is sold, or a regressor, moved away from what the model learnt on?) and
concept drift (has the relation moved: is the live error worse than the version promised?).

The statistical tests are scipy.stats; nothing hand-rolled. A missing value (a units-only upload
into a store that holds price or promo, a gap in a regressor) is left out of a sample, never
turned into a number: the samples are cleaned once, in `_values`.
"""

from __future__ import annotations

import warnings
from datetime import timedelta

import numpy as np
import pandas as pd

from core.errors import ValidationError
from core.monitoring import shared
from core.monitoring.accuracy import accuracy_by_period, sku_accuracy
from core.monitoring.errors import active
from core.monitoring.shared import once
from core.monitoring.windows import Filters, window_start
from core.store import monitoring as ms
from core.store import session

DRIFT_METHODS = ("auto", "ks", "wasserstein", "psi")
KS_P = 0.05  # drift when the KS p-value is below this
WASSERSTEIN_T = 0.1  # drift when the Wasserstein distance / reference std is above this
PSI_T = 0.2  # drift when the population stability index is above this
LARGE_SAMPLE = 1000  # 'auto': KS up to this many reference values, Wasserstein above (as Evidently)
MIN_DRIFT_VALUES = 7  # fewer current values than this: too early to test

DATA_COLUMNS = ["sku", "store", "column", "test", "score", "threshold", "drifted", "n_ref", "n_cur",
                "ref_mean", "cur_mean", "change", "reference", "current"]
CONCEPT_COLUMNS = ["sku", "store", "units", "live_wape", "backtest_wape", "excess", "wape_drift",
                   "bias_streak", "streak_direction", "bias_drift", "drifted"]


def _values(v: object) -> np.ndarray:
    """A sample as floats without its missing values (None, NaN, pd.NA, a NULL list)."""
    if v is None or (np.ndim(v) == 0 and pd.isna(v)):
        return np.empty(0)
    try:  # the usual sample (floats, None for a gap) converts at once; pandas per value took seconds
        out = np.asarray(v, dtype=float)
        return out[~np.isnan(out)]
    except (TypeError, ValueError):  # pd.NA, text: leave the odd value out, one at a time
        pass
    out = pd.to_numeric(pd.Series(list(v), dtype="object"), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return out[~np.isnan(out)]


def drift_test(ref: np.ndarray, cur: np.ndarray, method: str = "auto") -> dict:
    """One reference/current comparison with size-aware defaults (in the spirit of Evidently):
    two-sample KS (drift if p < 0.05) up to 1,000 reference values, the Wasserstein distance
    divided by the reference standard deviation (drift if > 0.1) above; PSI (drift if > 0.2) on
    request. Returns test, score, threshold and drifted."""
    # scipy.stats is imported here, not with the module: ~1 s a cold Monitor pays before its
    # first chart otherwise.
    from scipy import stats

    ref = np.asarray(ref, dtype=float)
    cur = np.asarray(cur, dtype=float)
    if method not in DRIFT_METHODS:
        raise ValidationError(f"Drift method must be one of {', '.join(DRIFT_METHODS)}.")
    if method == "auto":
        method = "ks" if len(ref) <= LARGE_SAMPLE else "wasserstein"
    if method == "ks":
        with warnings.catch_warnings():  # "exact calculation unsuccessful": it falls back, fine
            warnings.simplefilter("ignore", RuntimeWarning)
            p = float(stats.ks_2samp(ref, cur).pvalue)
        return {"test": "KS p-value", "score": p, "threshold": KS_P, "drifted": p < KS_P}
    if method == "wasserstein":
        scale = float(np.std(ref)) or float(np.mean(np.abs(ref))) or 1.0
        d = float(stats.wasserstein_distance(ref, cur)) / scale
        return {"test": "Wasserstein (normed)", "score": d, "threshold": WASSERSTEIN_T,
                "drifted": d > WASSERSTEIN_T}
    psi = population_stability(ref, cur)
    return {"test": "PSI", "score": psi, "threshold": PSI_T, "drifted": psi > PSI_T}


def drift_tests(pairs: list[tuple[np.ndarray, np.ndarray]], method: str = "auto") -> list[dict]:
    """`drift_test` of many (reference, current) pairs: the KS tests of pairs of equal sizes run
    as one scipy call along an axis (every SKU's windows usually have the same length), which
    cost a tenth of one call per SKU after an upload; other tests run pair by pair."""
    from scipy import stats

    out: list[dict | None] = [None] * len(pairs)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, (ref, cur) in enumerate(pairs):
        m = method if method != "auto" else ("ks" if len(ref) <= LARGE_SAMPLE else "wasserstein")
        if m == "ks":
            groups.setdefault((len(ref), len(cur)), []).append(i)
        else:
            out[i] = drift_test(ref, cur, method)
    for idx in groups.values():
        with warnings.catch_warnings():  # "exact calculation unsuccessful": it falls back, fine
            warnings.simplefilter("ignore", RuntimeWarning)
            p = np.atleast_1d(stats.ks_2samp(np.stack([np.asarray(pairs[i][0], dtype=float) for i in idx]),
                                             np.stack([np.asarray(pairs[i][1], dtype=float) for i in idx]),
                                             axis=1).pvalue)
        for i, pv in zip(idx, p, strict=True):
            out[i] = {"test": "KS p-value", "score": float(pv), "threshold": KS_P, "drifted": bool(pv < KS_P)}
    return out  # type: ignore[return-value]


def population_stability(ref: np.ndarray, cur: np.ndarray, bins: int = 10) -> float:
    """PSI over reference-quantile bins: sum (a − e) ln(a / e), which is KL(a‖e) + KL(e‖a), taken
    with scipy.stats.entropy. Empty bins get a small floor so the logarithm stays finite."""
    from scipy import stats

    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        edges = np.array([ref.min() - 0.5, ref.max() + 0.5])
    edges[0], edges[-1] = -np.inf, np.inf
    e = np.histogram(ref, edges)[0] / len(ref)
    a = np.histogram(cur, edges)[0] / len(cur)
    e, a = np.clip(e, 1e-4, None), np.clip(a, 1e-4, None)
    return float(stats.entropy(a, e) + stats.entropy(e, a))


def drift_windows(db=None, window: int = 4, grain: str = "week", info: dict | None = None) -> dict | None:
    """The current window (the last `window` periods of actuals since the active version's
    forecasts began) and its reference: as many days of the training data just before the
    training cutoff. Adjacent windows keep trend and most seasonality out of the comparison
    (a same-weeks-last-year reference flagged ordinary year-on-year growth instead). `info` is
    core.monitoring.active() when the caller already has it."""
    info = info or active(db)
    if not info or not info["last_actual"] or not info["forecast_start"]:
        return None
    with session(db) as s:
        first, _ = ms.series_span(s)
    last, cut = info["last_actual"], info["forecast_start"]
    cur_start = max(window_start(last, grain, window), cut)
    n_days = (last - cur_start).days + 1
    train_end = cut - timedelta(days=1)
    ref = (max(first or train_end, train_end - timedelta(days=n_days - 1)), train_end)
    return {"reference": ref, "current": (cur_start, last),
            "reference_kind": "training data just before the cutoff", "current_days": n_days}


def data_drift(db=None, window: int = 4, grain: str = "week", level: str = "sku",
               method: str = "auto", filters: Filters | None = None,
               keep_values: bool = False, info: dict | None = None,
               units_only: bool = False) -> pd.DataFrame:
    """Per SKU (or SKU × store) and column (units, then each regressor; `units_only`: units
    alone): DATA_COLUMNS (the test used, its score, whether it flags drift, sample sizes and
    means, both windows) and, with keep_values, ref_values and cur_values. The units rows are
    the same either way; a rule that ignores regressors skipped scanning and testing them."""
    args = (filters or Filters()).args()
    key = ("data_drift", window, grain, level, method, repr(args), keep_values)
    full = shared.kept(db, key)
    if units_only and full is None and not shared.wants_full_drift():
        out = once(db, (*key, "units"), lambda: _data_drift(db, window, grain, level, method, args,
                                                             keep_values, info, False))
        return out.copy()
    out = full if full is not None else once(
        db, key, lambda: _data_drift(db, window, grain, level, method, args, keep_values, info, True))
    return (out[out["column"] == "units"].reset_index(drop=True) if units_only else out).copy()


def _data_drift(db, window: int, grain: str, level: str, method: str, args: dict,
                keep_values: bool, info: dict | None, regressors: bool) -> pd.DataFrame:
    w = drift_windows(db, window, grain, info)
    extra = ["ref_values", "cur_values"] if keep_values else []
    if w is None:
        return pd.DataFrame(columns=DATA_COLUMNS + extra)
    with session(db) as s:
        samples = ms.drift_samples(s, w["reference"], w["current"], level, **args, regressors=regressors)
    rows = []
    span = {"reference": f"{w['reference'][0]} – {w['reference'][1]}",
            "current": f"{w['current'][0]} – {w['current'][1]}"}
    kept = []
    for r in samples.itertuples(index=False):
        ref, cur = _values(r.ref), _values(r.cur)
        if len(ref) >= MIN_DRIFT_VALUES and len(cur) >= MIN_DRIFT_VALUES:
            kept.append((r, ref, cur))
    results = drift_tests([(ref, cur) for _r, ref, cur in kept], method)
    for (r, ref, cur), res in zip(kept, results, strict=True):
        ref_mean, cur_mean = float(ref.mean()), float(cur.mean())
        row = {"sku": r.sku, "store": r.store, "column": r.col, **res, "n_ref": len(ref),
               "n_cur": len(cur), "ref_mean": ref_mean, "cur_mean": cur_mean,
               "change": (cur_mean - ref_mean) / abs(ref_mean) if ref_mean else np.nan, **span}
        if keep_values:
            row["ref_values"], row["cur_values"] = ref, cur
        rows.append(row)
    return pd.DataFrame(rows, columns=DATA_COLUMNS + extra)


def concept_drift(db=None, window: int = 4, grain: str = "week", level: str = "sku",
                  margin: float = 0.10, bias_periods: int = 3, bias_min: float = 0.10,
                  filters: Filters | None = None) -> pd.DataFrame:
    """Per SKU (or SKU × store), CONCEPT_COLUMNS: the live WAPE over the window against the
    backtest WAPE (drift when it is worse by more than `margin`, in WAPE points; both WAPEs as
    they are, so a backtest WAPE above 1 counts), and the bias of each of the last
    `bias_periods` periods (drift when all lean the same way by at least `bias_min`)."""
    acc = sku_accuracy(db, window, grain, level, filters)
    if acc.empty:
        return pd.DataFrame(columns=CONCEPT_COLUMNS)
    per = accuracy_by_period(db, grain, level, filters).sort_values("period")
    tail = per.groupby(["sku", "store"], sort=False).tail(bias_periods).dropna(subset=["bias"])
    g = tail.groupby(["sku", "store"])["bias"]
    streak = pd.DataFrame({"bias_streak": g.size(), "lo": g.min(), "hi": g.max()})
    same = (streak["bias_streak"] == bias_periods) & ((streak["lo"] >= bias_min) | (streak["hi"] <= -bias_min))
    streak["bias_drift"] = same
    streak["streak_direction"] = np.where(same & (streak["lo"] > 0), "overstock",
                                          np.where(same, "lost sales", "–"))
    out = acc[["sku", "store", "units"]].assign(live_wape=acc["wape"], backtest_wape=acc["backtest_wape"])
    out = out.merge(streak.reset_index(), on=["sku", "store"], how="left")
    out["excess"] = out["live_wape"] - out["backtest_wape"]
    out["wape_drift"] = (out["excess"] > margin).fillna(False).astype(bool)
    out["bias_streak"] = out["bias_streak"].fillna(0).astype(int)
    out["streak_direction"] = out["streak_direction"].fillna("–")
    out["bias_drift"] = out["bias_drift"].eq(True)
    out["drifted"] = out["wape_drift"] | out["bias_drift"]
    return out[CONCEPT_COLUMNS]
