"""Quantile forecasts (P10/P50/P90 by default) for any model, calibrated on its backtest.

Split-conformal by horizon step: every backtest error y − ŷ of a model is divided by its
series' scale (mean |y| over the `window` periods before that fold's cut-off: what the model
could see) and pooled over series and folds, separately for each step ahead (errors grow with
the step). The q-quantile of those scaled errors at step h, times a series' scale, added to its
point forecast, is its q-quantile forecast at step h. Steps with too few errors (small data) use
the errors of all steps. Quantiles of one error distribution are monotone in q by construction;
clipping at zero for unit data (never negative) keeps them so.

Why conformal rather than each model's own interval: one method for every model (Prophet's
sampled band, the global model's residuals and ETS's likelihood band are not comparable), and
it is calibrated on the model's actual out-of-sample errors, so P90 covers ~90% when the future
behaves like the backtest, which a planner can check.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_PER_STEP = 40  # scaled errors needed at one step before it gets its own quantiles
DEFAULT = (0.1, 0.5, 0.9)


def parse(text: str | list | tuple | None) -> tuple[float, ...]:
    """'0.1,0.5,0.9' -> (0.1, 0.5, 0.9); always includes 0.1 and 0.9 (the stored 80% band)."""
    from core.errors import ValidationError

    if text is None or text == "":
        return DEFAULT
    items = text if isinstance(text, list | tuple) else str(text).replace(";", ",").split(",")
    try:
        qs = {round(float(str(q).strip()), 4) for q in items if str(q).strip()}
    except ValueError:
        raise ValidationError(f"quantiles={text!r}: write probabilities like 0.1,0.5,0.9.") from None
    bad = sorted(q for q in qs if not 0.01 <= q <= 0.99)
    if bad:
        raise ValidationError(f"quantiles must lie between 0.01 and 0.99 (P1 to P99); got {bad}.")
    return tuple(sorted(qs | {0.1, 0.9}))


def column(q: float) -> str:
    """The export column of a quantile: p10, p50, p90, p975."""
    return "p" + f"{100 * q:g}".replace(".", "_")


def scales(y: pd.DataFrame, cutoffs: list[pd.Timestamp], window: int) -> pd.DataFrame:
    """series_id, cutoff, scale: mean |y| over the last `window` rows up to each cut-off (array
    sums over the sorted frame, no per-series call). Only each series' last `window` rows up to
    a cut-off are gathered (a series' rows up to a date are a prefix of its run in the sorted
    frame), not a copy of every row per cut-off."""
    from core.models.data import runs, sort_long

    y = sort_long(y)
    sid, ds, v = y["series_id"].to_numpy(), y["ds"].to_numpy(), y["y"].to_numpy(float)
    ids, start, _ = runs(sid)
    frames = []
    for cut in cutoffs:
        past = ds <= np.datetime64(pd.Timestamp(cut))
        k = np.add.reduceat(past, start, dtype=np.int64) if len(start) else np.zeros(0, np.int64)
        has = k > 0
        n, first = k[has], start[has]
        w = np.minimum(n, window)
        g = np.repeat(np.arange(len(n)), w)
        rows = np.repeat(first + n - w, w) + (np.arange(len(g)) - np.repeat(np.cumsum(w) - w, w))
        total = np.bincount(g, np.abs(v[rows]), minlength=len(n))
        frames.append(pd.DataFrame({"series_id": ids[has], "cutoff": pd.Timestamp(cut),
                                    "scale": total / np.minimum(n, window)}))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["series_id", "cutoff", "scale"])
    return out


def with_steps(rows: pd.DataFrame) -> pd.DataFrame:
    """Backtest rows with `step` (1 = first period after the cut-off)."""
    rows = rows.sort_values(["model", "series_id", "fold", "ds"])
    return rows.assign(step=rows.groupby(["model", "series_id", "fold"]).cumcount() + 1)


def _steps_in_order(sid: np.ndarray, fold: np.ndarray, ds: np.ndarray) -> np.ndarray | None:
    """`step` of rows already grouped as a backtest writes them (by fold, then series, dates
    ascending): each row's place in its (series, fold) run plus one. None when the rows are in
    another order (then `with_steps` sorts them)."""
    if len(sid) < 2:
        return np.ones(len(sid), np.int64)
    same_f = fold[1:] == fold[:-1]
    same = same_f & (sid[1:] == sid[:-1])
    if not ((fold[1:] >= fold[:-1]).all() and (~same_f | (sid[1:] >= sid[:-1])).all()
            and (~same | (ds[1:] > ds[:-1])).all()):
        return None
    start = np.concatenate([[0], np.flatnonzero(~same) + 1])
    n = np.diff(np.append(start, len(sid)))
    return np.arange(len(sid)) - np.repeat(start, n) + 1


def scale_of(sc: pd.DataFrame, sid: np.ndarray, cutoff: np.ndarray) -> np.ndarray:
    """Each row's scale from `scales` rows by (series_id, cutoff), NaN where there is none (the
    lookup a left merge would do, per cut-off: a handful of them)."""
    out = np.full(len(sid), np.nan)
    cuts = sc["cutoff"].to_numpy()
    for cut in np.unique(cuts):
        at = cutoff == cut
        if not at.any():
            continue
        mine = cuts == cut
        pos = pd.Index(sc["series_id"].to_numpy()[mine]).get_indexer(sid[at])
        got = sc["scale"].to_numpy(float)[mine][np.maximum(pos, 0)]
        out[at] = np.where(pos >= 0, got, np.nan)
    return out


def calibrate(rows: pd.DataFrame, sc: pd.DataFrame, qs: tuple[float, ...], horizon: int) -> np.ndarray:
    """(horizon x len(qs)) scaled-error quantiles from backtest rows (series_id, fold, cutoff,
    ds, y, yhat) of one model."""
    sid, fold = rows["series_id"].to_numpy(), rows["fold"].to_numpy()
    step = _steps_in_order(sid, fold, rows["ds"].to_numpy())
    if step is None:
        r = with_steps(rows.assign(model="m")).merge(sc, on=["series_id", "cutoff"], how="left")
        y, yhat, scale, step = (r["y"].to_numpy(float), r["yhat"].to_numpy(float),
                                r["scale"].to_numpy(float), r["step"].to_numpy())
    else:  # the same rows, in the backtest's order (quantiles do not depend on the order)
        y, yhat = rows["y"].to_numpy(float), rows["yhat"].to_numpy(float)
        scale = scale_of(sc, sid, rows["cutoff"].to_numpy())
    ok = ~np.isnan(y) & ~np.isnan(yhat) & (scale > 0)
    if not ok.any():
        return np.zeros((horizon, len(qs)))
    e = (y[ok] - yhat[ok]) / scale[ok]
    step = step[ok]
    pooled = np.quantile(e, qs)
    out = np.tile(pooled, (horizon, 1))
    for h in range(1, horizon + 1):
        eh = e[step == h]
        if len(eh) >= MIN_PER_STEP:
            out[h - 1] = np.quantile(eh, qs)
    return np.maximum.accumulate(out, axis=1)  # monotone across q


def apply(fc: pd.DataFrame, table: np.ndarray, scale: pd.Series, qs: tuple[float, ...],
          nonneg: bool) -> pd.DataFrame:
    """Quantile columns for point forecasts (series_id, ds, yhat in step order per series)."""
    from core.models.data import is_sorted, runs

    if is_sorted(fc):  # already in (series, date) order: steps from the runs, no sort
        ids, start, n = runs(fc["series_id"].to_numpy())
        step = np.arange(len(fc)) - np.repeat(start, n)
        s = np.repeat(scale.reindex(ids).fillna(0.0).to_numpy(float), n) if len(ids) else np.zeros(0)
    else:
        fc = fc.sort_values(["series_id", "ds"])
        step = fc.groupby("series_id").cumcount().to_numpy()
        s = fc["series_id"].map(scale).fillna(0.0).to_numpy(float)
    step = np.minimum(step, len(table) - 1)
    vals = fc["yhat"].to_numpy(float)[:, None] + s[:, None] * table[step]
    if nonneg:
        vals = np.maximum(vals, 0.0)
    vals = np.maximum.accumulate(vals, axis=1)
    return fc.assign(**{column(q): vals[:, i] for i, q in enumerate(qs)})


def long(fc: pd.DataFrame, qs: tuple[float, ...]) -> pd.DataFrame:
    """series_id, ds, q, value rows (the forecast_quantiles table) from quantile columns."""
    parts = [pd.DataFrame({"series_id": fc["series_id"], "ds": fc["ds"], "q": q, "value": fc[column(q)]})
             for q in qs]
    return pd.concat(parts, ignore_index=True)


def wide(rows: pd.DataFrame) -> pd.DataFrame:
    """series_id, ds, p10, p50, ... from stored (series_id, ds, q, value) rows."""
    if rows.empty:
        return pd.DataFrame(columns=["series_id", "ds"])
    out = rows.pivot_table(index=["series_id", "ds"], columns="q", values="value").reset_index()
    out.columns = [c if isinstance(c, str) else column(float(c)) for c in out.columns]
    return out


def export_columns(version_id: int, db=None) -> pd.DataFrame:
    """sku, store, date, p10, p50, p90, ... of a version, to join onto its export rows (empty
    columns for a version trained before quantiles were stored)."""
    from core.store import session
    from core.store import versions as vstore

    with session(db) as s:
        rows = vstore.forecast_quantiles(s, version_id)
        names = vstore.series_ids(s, version_id)[["series_id", "sku", "store"]]
    out = wide(rows)
    out = out.merge(names, on="series_id").drop(columns="series_id")
    out["date"] = pd.to_datetime(out["ds"]).dt.date
    qcols = sorted((c for c in out.columns if c.startswith("p") and c[1:2].isdigit()),
                   key=lambda c: float(c[1:].replace("_", ".")))
    return out.drop(columns="ds")[["sku", "store", "date", *qcols]]


def with_columns(df: pd.DataFrame, version_id: int, db=None) -> pd.DataFrame:
    """Export rows (sku, store, date, yhat, yhat_lower, yhat_upper, model, version) with the
    version's quantile columns inserted after the band."""
    q = export_columns(version_id, db)
    cols = [c for c in q.columns if c not in ("sku", "store", "date")]
    out = df.merge(q, on=["sku", "store", "date"], how="left")
    at = list(df.columns).index("yhat_upper") + 1
    order = [*df.columns[:at], *cols, *df.columns[at:]]
    return out[order]
