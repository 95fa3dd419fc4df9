"""The steps of one training run, in order: load, regressors, backtest, choose, fallback, final
fits, quantiles, classify, summary, save (core.training.run calls them; each reads and extends
one `Run`).

Only `load` and `save` touch the store (one short read, one final transaction); everything in
between is computation on frames, so the store is never held while models fit.

Choosing each series' model and the honest headline live in `core.training.selection`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core import backtest as bt_mod
from core import metrics, models, parallel, quantiles
from core.models import ensemble
from core.models.base import FitContext, season_length
from core.models.data import complete, runs
from core.store import session, training_reads
from core.store import versions as vstore
from core.training.selection import backtest_frames, model_rows, picked, picked_rows, rows_of


@dataclass
class Run:
    vid: int
    params: dict
    freq: str
    horizon: int
    folds: int
    y: pd.DataFrame
    raw_regs: pd.DataFrame
    coverage: dict[str, int] | None = None  # regressor -> values over the horizon (load)
    regs: pd.DataFrame | None = None
    used: list[str] = field(default_factory=list)
    warns: list[str] = field(default_factory=list)
    cuts: list[pd.Timestamp] = field(default_factory=list)
    bt: pd.DataFrame | None = None  # every model's backtest rows (the ensemble's too unless in bt_ens)
    bt_ens: pd.DataFrame | None = None  # the ensemble's, kept apart (core.training.choice)
    scale: pd.Series | None = None  # MASE denominators
    chosen: pd.Series | None = None  # series_id -> model (or "ensemble")
    members: pd.Series | None = None  # series_id -> tuple of models (ensemble)
    honest: pd.DataFrame | None = None  # the headline's rows: last fold, choice made before it
    honest_sel: pd.DataFrame | None = None  # rows on the choosing folds, for models not read from bt
    honest_chosen: pd.Series | None = None  # the choice those folds made
    sel_folds: list[int] | None = None  # the choosing folds, when honest_sel holds only the ensemble
    measured: dict = field(default_factory=dict)
    forecasts: pd.DataFrame | None = None
    quantiles: pd.DataFrame | None = None
    quantile_metrics: dict = field(default_factory=dict)
    classes: pd.DataFrame | None = None
    items: list = field(default_factory=list)
    explain: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    memos: dict = field(default_factory=dict)  # model -> the run's memo (core.models.make)
    count: int | None = None  # series, kept when the sales are let go (`release`)

    @property
    def seed(self) -> int:
        return int(self.params["seed"])

    @property
    def n_series(self) -> int:
        return self.count if self.y is None else int(self.y["series_id"].nunique())

    def make(self, name: str):
        return models.make(name, self.freq, self.params["options"][name], self.seed,
                           memo=self.memos.setdefault(name, {}))


def load(vid: int, db) -> Run:
    """The run's sales, gap-free, and only the regressors it can use (those with values for every
    series over the horizon); the others are named in `regressors`' warnings."""
    with session(db) as s:
        v = vstore.get_version(s, vid)
        raw_sales = training_reads.sales_arrays(s)  # in (series_id, ds) order
        fut = bt_mod.future_dates(raw_sales["ds"].max(), v.horizon, v.freq)
        coverage = training_reads.regressor_coverage(s, [d.date() for d in fut])
        need = len(fut) * len(runs(raw_sales["series_id"].to_numpy())[0])
        raw_regs = training_reads.regressors_wide(s, [n for n, have in coverage.items() if have >= need])
    y = complete(raw_sales, v.freq)  # computed with the session closed
    del raw_sales
    return Run(vid=vid, params=json.loads(v.params), freq=v.freq, horizon=v.horizon, folds=v.folds,
               y=y, raw_regs=raw_regs, coverage=coverage)


def regressors(run: Run) -> None:
    """Keep the regressors whose values are known for every series over the horizon."""
    names = [c for c in run.raw_regs.columns if c not in ("series_id", "ds")]
    y, horizon = run.y, run.horizon
    last = y["ds"].max()
    fut = bt_mod.future_dates(last, horizon, run.freq)
    need = len(fut) * y["series_id"].nunique()
    coverage = run.coverage
    if coverage is None:  # a Run made without `load` (tests): measure on the frame itself
        ahead = run.raw_regs[run.raw_regs["ds"].isin(fut) & run.raw_regs["series_id"].isin(y["series_id"].unique())]
        coverage = {n: int(ahead[n].notna().sum()) for n in names}
    for n, have in coverage.items():
        if have >= need:
            run.used.append(n)
        else:
            run.warns.append(
                f"Regressor '{n}' was left out: its values for the {horizon} periods after "
                f"{last.date()} are {'incomplete' if have else 'not in the data'} ({have} of "
                f"{need}). Upload a plan with future dates (price, promo calendar) to use it.")
    run.regs = run.raw_regs[["series_id", "ds", *run.used]] if run.used else None


def backtest(run: Run, ctx: FitContext) -> None:
    """Every model of the run on the same rolling-origin folds, into one frame (no copy per
    model); the worker pool is kept while a model's folds run, then let go (core.parallel.held)."""
    run.cuts = bt_mod.cutoffs(run.y["ds"].max(), run.horizon, run.folds, run.freq)
    run.bt = bt_mod.run_models([lambda m=m: run.make(m) for m in run.params["models"]], run.y, run.regs,
                               run.freq, run.horizon, run.cuts, ctx, hold=parallel.held)
    first = run.y.loc[run.y["ds"].to_numpy() <= np.datetime64(run.cuts[0]), ["series_id", "y"]]
    run.scale = metrics.naive_scale(first, season_length(run.freq))


def final_fits(run: Run, progress, should_cancel) -> None:
    """Fit on all history and forecast: each model for the series that use it (alone or in an
    ensemble); a global model always learns from every series."""
    need: dict[str, set] = {}
    for sid, m in run.chosen.items():
        used = run.members[sid] if m == ensemble.NAME else (m,)
        for name in used:
            need.setdefault(name, set()).add(sid)
    frames = []
    for m in run.params["models"]:
        sids = need.get(m)
        if not sids:
            continue
        ctx = FitContext(progress=progress, should_cancel=should_cancel, keep=True)
        model = run.make(m)
        # (every series: the sales as they are, not a copy of them, 1.75 GB at 100,000 series)
        data = run.y[run.y["series_id"].isin(sids)] if model.per_series and len(sids) < len(run.chosen) else run.y
        with parallel.held():
            fc = model.fit_predict(data, run.horizon, run.regs, ctx)
        del data
        frames.append(fc[fc["series_id"].isin(sids)].assign(model=m))
        run.items += ctx.artefacts
        run.explain.update(ctx.explain)
    each = pd.concat(frames, ignore_index=True)
    alone = picked(each, run.chosen)
    out = [alone]
    ens_sids = run.chosen.index[run.chosen == ensemble.NAME]
    if len(ens_sids):
        out.append(ensemble.combine(each, run.members.loc[ens_sids], run.params["combine"], ["ds"]))
    run.forecasts = pd.concat(out, ignore_index=True).sort_values(["series_id", "ds"], ignore_index=True)


def calibrate_quantiles(run: Run) -> None:
    """Conformal quantiles per model from its backtest errors (core.quantiles); the forecasts'
    80% band becomes P10/P90. Scored out of sample: the headline rows' quantiles come from the
    choosing folds only."""
    qs = tuple(run.params["quantiles"])
    window = max(run.horizon, season_length(run.freq))
    nonneg = bool((run.y["y"] >= 0).all())
    sc_bt = quantiles.scales(run.y, run.cuts, window)
    final_scale = quantiles.scales(run.y, [run.y["ds"].max()], window).set_index("series_id")["scale"]
    parts = []
    cols = ["series_id", "fold", "cutoff", "ds", "y", "yhat"]  # what calibrate reads
    for m, fc in run.forecasts.groupby("model", sort=True):
        table = quantiles.calibrate(model_rows(run, m, cols), sc_bt, qs, run.horizon)
        parts.append(quantiles.apply(fc, table, final_scale, qs, nonneg))
    fc = pd.concat(parts, ignore_index=True).sort_values(["series_id", "ds"], ignore_index=True)
    fc["yhat_lower"], fc["yhat_upper"] = fc[quantiles.column(0.1)], fc[quantiles.column(0.9)]
    run.quantiles = quantiles.long(fc, qs)
    run.forecasts = fc[["series_id", "ds", "yhat", "yhat_lower", "yhat_upper", "model"]]
    run.quantile_metrics = _honest_quantile_scores(run, sc_bt, qs, nonneg, cols)


def _honest_quantile_scores(run: Run, sc_bt: pd.DataFrame, qs: tuple[float, ...], nonneg: bool,
                            cols: list[str]) -> dict:
    """Out-of-sample score of the quantiles on the headline rows, each model's table calibrated
    on the choosing folds only. Arrays over the headline rows in (model, cut-off, series, date)
    order, the order the scores were always summed in; no quantile frame per model and cut-off
    (at 100,000 series those copies were gigabytes)."""
    h = run.honest
    if h is None or not len(h):
        return {}
    mcode, names = pd.factorize(h["model"], sort=True)
    sid, cut, ds = h["series_id"].to_numpy(), h["cutoff"].to_numpy(), h["ds"].to_numpy()
    order = _lex_order(ds, sid, cut, mcode)
    if order is not None:
        mcode, sid, cut, ds = mcode[order], sid[order], cut[order], ds[order]
    y = h["y"].to_numpy(float) if order is None else h["y"].to_numpy(float)[order]
    yhat = h["yhat"].to_numpy(float) if order is None else h["yhat"].to_numpy(float)[order]
    # a row's step: its place in its (model, cut-off, series) run, dates ascending
    new = np.ones(len(sid), bool)
    new[1:] = (mcode[1:] != mcode[:-1]) | (cut[1:] != cut[:-1]) | (sid[1:] != sid[:-1])
    start = np.flatnonzero(new)
    step = np.arange(len(sid)) - np.repeat(start, np.diff(np.append(start, len(sid))))
    del new, start
    scale = np.nan_to_num(quantiles.scale_of(sc_bt, sid, cut), nan=0.0)
    vals = np.empty((len(sid), len(qs)))
    sel_model = run.honest_sel["model"].to_numpy() if run.honest_sel is not None else np.array([], object)
    for i, m in enumerate(names):
        at = mcode == i
        mine = sel_model == m
        cal = run.honest_sel.loc[mine, cols] if mine.any() else None
        if cal is None and run.sel_folds is not None and m != ensemble.NAME:
            # a candidate's rows on the choosing folds are the backtest's own (no copy is kept)
            bt = run.bt
            cal = rows_of(bt, (bt["model"].to_numpy() == m) & np.isin(bt["fold"].to_numpy(), run.sel_folds), cols)
        if cal is None or not len(cal):
            cal = model_rows(run, m, cols)
        table = quantiles.calibrate(cal, sc_bt, qs, run.horizon)
        del cal
        v = yhat[at][:, None] + scale[at][:, None] * table[np.minimum(step[at], len(table) - 1)]
        if nonneg:
            v = np.maximum(v, 0.0)
        vals[at] = np.maximum.accumulate(v, axis=1)
    qm = metrics.quantile_scores(y, {q: vals[:, i] for i, q in enumerate(qs)})
    lo, hi = vals[:, qs.index(0.1)], vals[:, qs.index(0.9)]
    qm["band_coverage"] = float(((y >= lo) & (y <= hi)).mean())
    return {"levels": list(qs), **qm}


def _lex_order(*keys: np.ndarray) -> np.ndarray | None:
    """np.lexsort's order of rows (last key primary), or None when they already are in it."""
    n = len(keys[0])
    if n < 2:
        return None
    tie = np.ones(n - 1, bool)
    ok = True
    for k in reversed(keys):
        up, eq = k[1:] > k[:-1], k[1:] == k[:-1]
        if (tie & ~up & ~eq).any():
            ok = False
            break
        tie &= eq
    return None if ok else np.lexsort(keys)


def release(run: Run) -> None:
    """Let go of what summary and save do not read (the sales, the regressors, the choosing
    folds' ensemble rows): at 100,000 daily series the sales alone are 1.75 GB, held through
    the save otherwise."""
    run.count = run.n_series
    run.y = run.raw_regs = run.regs = run.honest_sel = None


def classify(run: Run) -> None:
    """Each series' demand class, when core.models.classify is installed (models-stat's work)."""
    try:
        from core.models.classify import classify as demand_class
    except ImportError:
        return
    season = season_length(run.freq)
    out = demand_class(run.y, season, max(run.horizon, season))
    run.classes = out.rename(columns={"klass": "class"})[vstore.CLASS_COLS]


def summary(run: Run) -> None:
    pooled = metrics.pooled(run.honest, run.scale)
    s = {k: pooled.get(k) for k in (*metrics.METRICS, "accuracy", "mape_skipped")}
    if run.quantile_metrics.get("band_coverage") is not None:
        s["coverage"] = run.quantile_metrics["band_coverage"]  # the stored band: calibrated P10-P90
    s["measured"] = run.measured
    in_sel = metrics.pooled(picked_rows(run, run.chosen), run.scale)
    s["in_selection"] = {"wape": in_sel.get("wape"), "accuracy": in_sel.get("accuracy")}
    names = [*run.params["models"], *([ensemble.NAME] if run.members is not None else [])]
    last = run.bt["fold"].max()
    s["by_model"] = {m: metrics.pooled(model_rows(run, m), run.scale).get("wape") for m in names}
    s["by_model_last_fold"] = {}
    for m in names:
        rows = model_rows(run, m)
        s["by_model_last_fold"][m] = metrics.pooled(rows[rows["fold"] == last]).get("wape")
        del rows
    s["winners"] = {m: int((run.chosen == m).sum()) for m in names}
    s["cutoffs"] = [str(c.date()) for c in run.cuts]
    s["quantiles"] = run.quantile_metrics
    if run.classes is not None:
        s["classes"] = {str(k): int(v) for k, v in run.classes["class"].value_counts().items()}
    if pooled.get("mape_skipped"):
        run.warns.append(f"MAPE skips the {pooled['mape_skipped']} backtest periods with zero sales "
                         "(it is undefined there); WAPE and sMAPE include them.")
    run.params["regressors"] = run.used
    run.summary = s


def series_metrics(run: Run) -> pd.DataFrame:
    """Per (series, model, fold) metrics of every backtest row; each frame's on its own (a
    group's rows are all in one of them), in the order one frame would give."""
    parts = [metrics.per_series(f, run.scale) for f in backtest_frames(run)]
    ms = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True).sort_values(
        ["series_id", "model"], kind="stable", ignore_index=True)
    ms["fold"] = ms["fold"].astype("Int64")
    return ms
