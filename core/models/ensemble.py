"""Combinations of candidate models per series, and the per-series choice between them.

Both work on backtest rows (series_id, model, fold, ds, y, yhat, ...) and on the folds they are
told to look at, so core.training can make a choice on earlier folds and score it on a later one
that the choice never saw (see core.training.selection.choose).

Ranking within a series uses the summed absolute error over the given folds: every model is
scored on the same rows of that series, so this orders models exactly as WAPE does, and it still
orders them where the series sold nothing (WAPE undefined). A model missing a forecast in those
rows ranks last.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NAME = "ensemble"
METHODS = ("mean", "median")
SCOPES = ("global", "series")


def scores(bt: pd.DataFrame, folds: list[int]) -> pd.DataFrame:
    """series_id, model, err: summed |y − ŷ| over `folds` (inf when a forecast is missing),
    sorted by series and model. Sums by integer codes (np.bincount): best-of scores every
    strategy with this, and a groupby on the model names cost seconds per call at 10,000 series."""
    rows = bt[bt["fold"].isin(folds) & bt["y"].notna()]
    s_code, sids = pd.factorize(rows["series_id"], sort=True)
    m_code, names = pd.factorize(rows["model"], sort=True)
    key = s_code.astype(np.int64) * len(names) + m_code
    err = np.abs(rows["y"].to_numpy(float) - rows["yhat"].to_numpy(float))
    miss = np.isnan(err)
    size = len(sids) * len(names)
    total = np.bincount(key, weights=np.where(miss, 0.0, err), minlength=size)
    total[np.bincount(key, weights=miss, minlength=size) > 0] = np.inf
    at = np.flatnonzero(np.bincount(key, minlength=size) > 0)
    return pd.DataFrame({"series_id": np.asarray(sids)[at // len(names)],
                         "model": np.asarray(names, dtype=object)[at % len(names)], "err": total[at]})


def rank(sc: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Scores sorted best first within each series; ties go to the earlier model in `order`."""
    pos = {m: i for i, m in enumerate(order)}
    sc = sc[sc["model"].isin(order)].assign(o=lambda d: d["model"].map(pos))
    return sc.sort_values(["series_id", "err", "o"])


def members(bt: pd.DataFrame, folds: list[int], candidates: list[str], k: int,
            scope: str = "global", sc: pd.DataFrame | None = None) -> pd.Series:
    """Per series, the tuple of its top-k candidates on `folds`: ranked on that series alone
    (scope="series") or over all series together (scope="global", the default: the same members
    everywhere). A few folds of one series pick members by luck; on the shared real data the
    global ranking forecast better (pizza_daily holdout WAPE 0.640 v 0.654 per series,
    txhousing 0.065 v 0.068). `sc`: `scores(bt, folds)` when the caller has it already."""
    sc = scores(bt, folds) if sc is None else sc
    if scope == "series":
        top = rank(sc, candidates).groupby("series_id").head(k)
        return top.groupby("series_id")["model"].agg(tuple)
    finite = sc[np.isfinite(sc["err"]) & sc["model"].isin(candidates)]
    total = finite.groupby("model")["err"].sum().reindex(candidates).dropna()
    pos = {m: i for i, m in enumerate(candidates)}
    best = tuple(sorted(total.index, key=lambda m: (total[m], pos[m]))[:k])
    sids = np.sort(sc["series_id"].unique())
    return pd.Series([best] * len(sids), index=sids, dtype=object)


def combine(frames: pd.DataFrame, mem: pd.Series, method: str, keys: list[str]) -> pd.DataFrame:
    """The ensemble's rows: per series and `keys` (ds, fold, ...), the mean or median of its
    members' yhat and bands. `frames` holds every candidate's rows, tagged by `model` (other
    models' rows are ignored)."""
    fast = _combine_aligned(frames, mem, keys) if method == "mean" else None
    if fast is not None:
        return fast
    pairs = pd.DataFrame([(s, m) for s, ms in mem.items() for m in ms], columns=["series_id", "model"])
    rows = frames.merge(pairs, on=["series_id", "model"])
    value_cols = [c for c in ("yhat", "yhat_lower", "yhat_upper") if c in rows]
    other = [c for c in ("y", "cutoff") if c in rows]
    g = rows.groupby(["series_id", *keys], sort=True)
    out = g[value_cols].agg(method)
    if other:
        out = out.join(g[other].first())
    return out.reset_index().assign(model=NAME)


def _combine_aligned(frames: pd.DataFrame, mem: pd.Series, keys: list[str]) -> pd.DataFrame | None:
    """`combine`'s mean without a merge and a groupby, for the usual case: every series has the
    same members (scope=global) and each member's rows are one block of `frames` with the same
    (series, keys) in the same order (a backtest's rows are). Best-of combines every strategy's
    ensemble twice; at 100,000 series the merge and groupby held ~3x the backtest rows at once.
    The mean is pandas' groupby mean to the bit: Kahan-compensated sums over the members in
    frame order, NaN skipped; y and cutoff the first non-missing. None when the rows do not
    line up that way (the merge then does it)."""
    if not len(mem) or mem.nunique() != 1:
        return None
    model = frames["model"].to_numpy()
    parts = sorted((np.flatnonzero(model == m) for m in mem.iloc[0]), key=lambda p: p[0] if len(p) else -1)
    first = parts[0]
    if not len(first) or any(len(p) != len(first) or p[0] <= q[-1] for q, p in zip(parts, parts[1:], strict=False)):
        return None
    cols = ["series_id", *keys]
    ref = [frames[c].to_numpy()[first] for c in cols]
    if any(not np.array_equal(frames[c].to_numpy()[p], r) for p in parts[1:] for c, r in zip(cols, ref, strict=True)):
        return None
    mine = np.isin(ref[0], mem.index.to_numpy())
    order = np.lexsort([r[mine] for r in ref[::-1]])  # groupby's sort: series, then keys
    sel = [p[mine][order] for p in parts]
    key = [r[mine][order] for r in ref]
    same = np.ones(len(order) - 1 if len(order) else 0, bool)
    for k in key:
        same &= k[1:] == k[:-1]
    if same.any():  # a repeated (series, keys): a group of several rows per member
        return None
    out = {c: k for c, k in zip(cols, key, strict=True)}
    for c in ("yhat", "yhat_lower", "yhat_upper"):
        if c in frames:
            v = frames[c].to_numpy(float)
            out[c] = mean_of([v[p] for p in sel])
    for c in ("y", "cutoff"):
        if c in frames:
            v = frames[c].to_numpy()
            got = v[sel[0]].copy()
            for p in sel[1:]:
                miss = pd.isna(got)
                got[miss] = v[p][miss]
            out[c] = got
    out["model"] = NAME  # in the frame as it is made: `assign` would copy every column again
    return pd.DataFrame(out)


def mean_of(values: list[np.ndarray]) -> np.ndarray:
    """Element-wise mean of the members' aligned forecasts, NaN skipped, as pandas' groupby mean
    computes it to the bit (Kahan-compensated sums, members in the order given): `combine` and
    best-of's array choice (core.training.choice) must agree exactly."""
    total, comp, n = np.zeros(len(values[0])), np.zeros(len(values[0])), np.zeros(len(values[0]))
    for x in values:
        ok = ~np.isnan(x)
        y = x - comp
        t = total + y
        c_new = t - total - y
        comp = np.where(ok, np.where(np.isnan(c_new), 0.0, c_new), comp)
        total = np.where(ok, t, total)
        n += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / n, np.nan)


def choose(bt: pd.DataFrame, folds: list[int], candidates: list[str], margin: float = 0.0,
           sc: pd.DataFrame | None = None) -> pd.Series:
    """Per series, the candidate with the lowest error on `folds`, shrunk towards the candidate
    that is best over all series: a series leaves that one only for a model at least `margin`
    (a fraction) better on it. A few folds of a noisy series often crown a model by luck; the
    pooled winner is the better bet unless the evidence is clear (pizza_daily, naive v the
    global model: per-series choice 0.657 holdout WAPE, with margin 0.1 0.647, with 0.25 0.639 =
    the global model alone; txhousing: 0.070, 0.066, 0.065 where the best single is 0.068).
    The pooled winner itself is plain lowest error: over every series and fold it is not noisy
    (preferring the ensemble within the margin cost pizza_daily 0.631 v 0.616).
    `sc`: `scores(bt, folds)` when the caller has it already (bt is then not read)."""
    sc = scores(bt, folds) if sc is None else sc
    sc = sc[sc["model"].isin(candidates)]
    ranked = rank(sc, candidates)
    best = ranked.drop_duplicates("series_id").set_index("series_id")
    if margin <= 0 or sc.empty:
        return best["model"]
    finite = sc[np.isfinite(sc["err"])]
    total = finite.groupby("model")["err"].sum().reindex(candidates).dropna()
    default = total.idxmin() if len(total) else candidates[0]
    own = sc[sc["model"] == default].set_index("series_id")["err"].reindex(best.index)
    keep = own.notna() & ~(best["err"] < (1 - margin) * own)
    return best["model"].where(~keep, default)
