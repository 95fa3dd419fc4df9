"""Best-of's choice from arrays: the same decisions as core.training.selection's frame path,
without a frame per strategy.

Choosing needs, per series and candidate, the summed absolute error over some folds (WAPE's
numerator; every candidate is scored on the same rows of a series), and for each strategy the
pooled WAPE of its picks on the scoring fold. The frame path got them by concatenating the
backtest with each strategy's ensemble rows and filtering the result again, twice per strategy
(the forecasts' choice and the headline's), and kept a copy of the choosing folds: at 30,000
series the choice peaked at 4.45 GB, 1.6x the backtest's step, and ~15 GB projected at 100,000.

Here a backtest whose models' rows line up (each model one block of rows with the same series,
fold and date in the same order, what core.backtest makes) is read as a `Panel`: the keys and
actuals once, one forecast array per model, all views into the frame. The ensemble's forecast is
an array over the same rows (`ensemble.mean_of`, the mean `combine` computes, to the bit). Sums
are np.bincount over each series' rows in row order, as `ensemble.scores` and `metrics.compute`
add them, so every choice, score and headline equals the frame path's to the bit
(tests/test_best_of_arrays.py compares them; bench/bestof_fingerprint.py compares whole runs).
Only the chosen ensemble's rows (kept apart from the backtest, Run.bt_ens) and the headline's
rows (one fold's picks) become frames.

Inputs the panel cannot represent (rows that do not line up, median or per-series ensembles) go
through the frame path (`fits`, `panel` return False / None).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core import metrics
from core.models import ensemble


@dataclass
class Panel:
    """Every model's backtest rows as arrays aligned to one row order (views into `bt`)."""

    bt: pd.DataFrame
    models: list[str]  # in the frame's block order
    start: dict[str, int]  # where each model's block starts in `bt`
    fold: np.ndarray
    y: np.ndarray
    code: np.ndarray  # each row's series as a position in `sids`
    sids: np.ndarray  # sorted
    yhat: dict[str, np.ndarray]
    ens: dict[tuple, np.ndarray] = field(default_factory=dict)  # members -> their mean forecast


@dataclass
class Ens:
    """A strategy's ensemble: its forecast on the panel's rows and the series it covers."""

    members: tuple
    yhat: np.ndarray
    covers: np.ndarray  # per series of the panel: has the ensemble (in the members' index)


def fits(params: dict) -> bool:
    """Whether the array path can make this run's choice: best-of with the mean over the same
    members for every series (the defaults); other runs take the frame path."""
    return (params.get("kind") == "best" and params.get("combine") == "mean"
            and params.get("scope", "global") == "global")


def panel(bt: pd.DataFrame) -> Panel | None:
    """The backtest as a Panel, or None when its rows do not line up that way."""
    if not len(bt):
        return None
    model = bt["model"].to_numpy()
    starts = np.flatnonzero(np.concatenate([[True], model[1:] != model[:-1]]))
    names = [str(model[i]) for i in starts]
    sizes = np.diff(np.append(starts, len(bt)))
    if len(set(names)) != len(names) or (sizes != sizes[0]).any():
        return None
    n = int(sizes[0])
    sid, fold, ds = bt["series_id"].to_numpy(), bt["fold"].to_numpy(), bt["ds"].to_numpy()
    y = bt["y"].to_numpy(float)
    for s in starts[1:]:
        if not (np.array_equal(sid[s:s + n], sid[:n]) and np.array_equal(fold[s:s + n], fold[:n])
                and np.array_equal(ds[s:s + n], ds[:n]) and np.array_equal(y[s:s + n], y[:n], equal_nan=True)):
            return None
    sid, fold, ds, y = sid[:n], fold[:n], ds[:n], y[:n]
    # fold, then series, then date, each row once: a series' rows of a fold are then in the
    # order `combine` sorts the ensemble's rows, so sums over them add in the same order
    if not _strictly_sorted(fold, sid, ds):
        return None
    sids, code = np.unique(sid, return_inverse=True)
    yhat = bt["yhat"].to_numpy(float)
    return Panel(bt=bt, models=names, start={m: int(s) for m, s in zip(names, starts, strict=True)},
                 fold=fold, y=y, code=code.ravel(), sids=sids,
                 yhat={m: yhat[s:s + n] for m, s in zip(names, starts, strict=True)})


def _strictly_sorted(*keys: np.ndarray) -> bool:
    """Rows in ascending order of the keys (first primary), no two rows equal on all of them."""
    if len(keys[0]) < 2:
        return True
    tie = np.ones(len(keys[0]) - 1, bool)
    for k in keys:
        up, eq = k[1:] > k[:-1], k[1:] == k[:-1]
        if (tie & ~up & ~eq).any():
            return False
        tie &= eq
    return not tie.any()


def ensemble_of(p: Panel, mem: pd.Series) -> Ens:
    """The members' mean on every row of the panel (members in the frame's block order, the
    order `combine` averages them in); the same members for every series (`fits`)."""
    chosen = tuple(mem.iloc[0])
    order = tuple(m for m in p.models if m in chosen)
    if order not in p.ens:
        p.ens[order] = ensemble.mean_of([p.yhat[m] for m in order])
    return Ens(members=chosen, yhat=p.ens[order], covers=np.isin(p.sids, mem.index.to_numpy()))


def scores(p: Panel, folds: list[int], ens: Ens | None = None) -> pd.DataFrame:
    """`ensemble.scores` of the backtest rows of `folds` (and the ensemble's rows), to the bit:
    each (series, model) sum adds the same rows in the same order."""
    mask = np.isin(p.fold, folds) & ~np.isnan(p.y)
    code, y, ns = p.code[mask], p.y[mask], len(p.sids)
    have = np.bincount(code, minlength=ns) > 0
    names = sorted([*p.models, *([ensemble.NAME] if ens is not None else [])])
    total = np.empty((ns, len(names)))
    present = np.empty((ns, len(names)), bool)
    for j, m in enumerate(names):
        yhat = ens.yhat[mask] if m == ensemble.NAME else p.yhat[m][mask]
        err = np.abs(y - yhat)
        miss = np.isnan(err)
        total[:, j] = np.bincount(code, weights=np.where(miss, 0.0, err), minlength=ns)
        total[np.bincount(code, weights=miss, minlength=ns) > 0, j] = np.inf
        present[:, j] = have & ens.covers if m == ensemble.NAME else have
    at = np.flatnonzero(present.ravel())
    return pd.DataFrame({"series_id": p.sids[at // len(names)],
                         "model": np.asarray(names, dtype=object)[at % len(names)],
                         "err": total.ravel()[at]})


def decide(p: Panel, folds: list[int], params: dict) -> tuple[pd.Series, pd.Series | None, Ens | None]:
    """selection.decide on the panel: (model per series, ensemble members, the ensemble)."""
    kind, cands = params["kind"], params["candidates"]
    sc = scores(p, folds)
    mem = ens = None
    if len(cands) >= 2 and params["top_k"] >= 1:
        mem = ensemble.members(None, folds, cands, params["top_k"], "global", sc=sc)
        ens = ensemble_of(p, mem)
    if kind == "best" and params.get("margin", 0.0) >= 1:  # the ensemble's scores are not read
        chosen = ensemble.choose(None, folds, cands, 1.0, sc=sc)
    elif kind == "best":
        chosen = ensemble.choose(None, folds, [*cands, *([ensemble.NAME] if ens is not None else [])],
                                 params.get("margin", 0.0), sc=scores(p, folds, ens) if ens is not None else sc)
    else:  # kind "ensemble": a mean-top-k strategy
        chosen = pd.Series(ensemble.NAME, index=mem.index)
    return chosen, mem, ens


def picks(p: Panel, fold: int, chosen: pd.Series, ens: Ens | None) -> tuple[np.ndarray, np.ndarray]:
    """(y, yhat) of each series' chosen model on `fold`, in the frame path's row order: the
    models' blocks in frame order, then the ensemble's rows."""
    names = [*p.models, ensemble.NAME]
    per_series = np.full(len(p.sids), -1)
    known = chosen[chosen.isin(names)]
    per_series[np.searchsorted(p.sids, known.index.to_numpy())] = [names.index(m) for m in known]
    if ens is not None:
        per_series[(per_series == len(p.models)) & ~ens.covers] = -1  # no ensemble rows there
    on = p.fold == fold
    row = np.where(on, per_series[p.code], -1)
    ys, yhats = [], []
    for j, m in enumerate(p.models):
        sel = row == j
        ys.append(p.y[sel])
        yhats.append(p.yhat[m][sel])
    if ens is not None:
        sel = row == len(p.models)
        ys.append(p.y[sel])
        yhats.append(ens.yhat[sel])
    return np.concatenate(ys), np.concatenate(yhats)


def decide_auto(p: Panel, folds: list[int], params: dict
                ) -> tuple[pd.Series, pd.Series | None, dict]:
    """selection.decide_auto on the panel: (chosen, members, what was picked and how each
    strategy scored)."""
    from core.training.selection import check_strategy, strategies

    want = params.get("strategy", "auto")
    if want == "auto" and len(folds) < 2:
        return (*decide(p, folds, params)[:2], {})
    if want != "auto":
        name = check_strategy(want, params["candidates"])
        return (*decide(p, folds, strategies(params)[name])[:2], {"strategy": name})
    inner, score_fold = folds[:-1], folds[-1]
    scored = {}
    for name, s in strategies(params).items():
        chosen, _, ens = decide(p, inner, s)
        y, yhat = picks(p, score_fold, chosen, ens)
        w = metrics.compute(y, yhat)["wape"] if len(y) else float("nan")
        scored[name] = float(w) if np.isfinite(w) else None  # None: stored as JSON null
    name = min(scored, key=lambda k: np.inf if scored[k] is None else scored[k])  # ties: earlier
    info = {"strategy": name, "strategy_scores": scored,
            "strategy_folds": [[f + 1 for f in inner], score_fold + 1]}
    return (*decide(p, folds, strategies(params)[name])[:2], info)


def headline_rows(p: Panel, last: int, sel: list[int], chosen: pd.Series, mem: pd.Series | None,
                  combine: str, ens: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(the headline's rows: each series' pick on the `last` fold, as the frame path's
    `picked` gives them; the ensemble's rows on the choosing folds `sel`, which calibrate its
    quantiles, or None without an ensemble). The candidates' rows on `sel` are the backtest's
    own (core.training.steps reads them there): no copy of them is kept. `ens`: `mem`'s rows
    (`ensemble_rows`) when the caller has them."""
    bt = p.bt
    if ens is None and mem is not None:
        ens = ensemble_rows(bt, mem, combine)
    names = [*p.models, ensemble.NAME]
    per_series = np.full(len(p.sids), -1)
    known = chosen[chosen.isin(names)]
    per_series[np.searchsorted(p.sids, known.index.to_numpy())] = [names.index(m) for m in known]
    on = p.fold == last
    row = np.where(on, per_series[p.code], -1)
    parts = [bt.iloc[p.start[m] + np.flatnonzero(row == j)] for j, m in enumerate(p.models)]
    ens_sel = None
    if ens is not None:
        e_sid, e_fold = ens["series_id"].to_numpy(), ens["fold"].to_numpy()
        is_ens = np.zeros(len(p.sids), bool)
        is_ens[per_series == len(p.models)] = True
        pick = (e_fold == last) & is_ens[np.searchsorted(p.sids, e_sid)]
        parts.append(ens[pick])
        ens_sel = ens[np.isin(e_fold, sel)].reset_index(drop=True)
    parts = [x for x in parts if len(x)] or [bt.iloc[:0]]
    return pd.concat(parts, ignore_index=True), ens_sel


def ensemble_rows(bt: pd.DataFrame, mem: pd.Series | None, combine: str) -> pd.DataFrame | None:
    """The chosen ensemble's backtest rows (None without one), kept apart from the backtest
    (Run.bt_ens): concatenated, they are the frame path's rows, but the concatenation is a
    copy of the whole backtest (2.4 GB at 100,000 series x 3 candidates)."""
    if mem is None:
        return None
    return ensemble.combine(bt, mem, combine, ["fold", "ds"])[list(bt.columns)]
