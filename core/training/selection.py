"""Choosing each series' model (best-of, ensembles) and the honest headline.

Honest best-of (`choose`): each series' model is picked on the earlier backtest folds and the
headline figure is the pooled metric of those picks on the last fold, which the choice never
saw. Choosing and scoring on the same folds rewards luck: with a few folds of a noisy SKU the
winner is often the model whose errors happened to be small there, and the figure is then
better than what the forecasts will do. The forecasts themselves use the choice made on every
fold (more evidence); the headline estimates how well that procedure picks. With one fold there
is nothing left to score on: the figure is then the in-selection one, and the version says so.

The strategy is chosen too (`strategy`, best-of only): a model per series (with the margin
towards the pooled winner), one model for every series (the pooled winner), or for every series
the mean of the top k candidates (k = 2 .. all). Which works depends on the data: on pizza_daily
one global model beats any per-series choice; on txhousing no model wins every year and a
combination of four beats each of them (holdout 0.062 v 0.064 for the best single model, 0.068
for the per-series choice). The strategy is judged like a model: chosen on every fold but the
last of the folds it may look at, scored on that last one (the most recent split, the one most
like the future), so the headline fold is never seen by this choice either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core import metrics
from core.models import ensemble
from core.training import choice

if TYPE_CHECKING:
    from core.training.steps import Run


def strategies(params: dict) -> dict[str, dict]:
    """Best-of's strategies as parameter sets of `decide`, in order of preference on a tie: the
    per-series choice first, then one model, then means of more and more candidates."""
    cands = params["candidates"]
    out = {"per-series": params, "one-model": {**params, "margin": 1.0}}
    for k in range(2, len(cands) + 1):
        out[f"mean-top-{k}"] = {**params, "kind": "ensemble", "top_k": k}
    return out


def check_strategy(value: str, candidates: list[str]) -> str:
    """The `strategy` option of best-of: auto (the default), per-series, one-model or
    mean-top-K (2 <= K <= the number of candidates)."""
    from core.errors import ValidationError

    value = str(value).strip().lower()
    known = ["auto", *strategies({"candidates": candidates})]
    if value not in known:
        raise ValidationError(f"strategy= takes {', '.join(known)}.")
    return value


def decide_auto(bt: pd.DataFrame, folds: list[int], params: dict
                ) -> tuple[pd.Series, pd.Series | None, pd.DataFrame, dict]:
    """`decide` with the strategy picked on `folds` (see the module docstring): (chosen,
    members, rows, what was picked and how each strategy scored)."""
    want = params.get("strategy", "auto")
    if params["kind"] != "best" or (want == "auto" and len(folds) < 2):
        return (*decide(bt, folds, params), {})
    if want != "auto":
        name = check_strategy(want, params["candidates"])
        return (*decide(bt, folds, strategies(params)[name]), {"strategy": name})
    inner, score_fold = folds[:-1], folds[-1]
    # only these folds' rows: less to combine per strategy (no copy when that is every row)
    sub = bt if set(folds) >= set(bt["fold"].unique().tolist()) else bt[bt["fold"].isin(folds)]
    scores = {}
    for name, p in strategies(params).items():
        chosen, _, rows = decide(sub, inner, p)
        got = picked(rows[rows["fold"] == score_fold], chosen)
        w = metrics.compute(got["y"], got["yhat"])["wape"] if len(got) else float("nan")
        scores[name] = float(w) if np.isfinite(w) else None  # None: stored as JSON null
    name = min(scores, key=lambda k: np.inf if scores[k] is None else scores[k])  # ties: earlier
    info = {"strategy": name, "strategy_scores": scores,
            "strategy_folds": [[f + 1 for f in inner], score_fold + 1]}
    return (*decide(bt, folds, strategies(params)[name]), info)


def decide(bt: pd.DataFrame, folds: list[int], params: dict) -> tuple[pd.Series, pd.Series | None, pd.DataFrame]:
    """(model per series, ensemble members per series, rows with the ensemble's added), all
    from the backtest rows of `folds` only."""
    kind, cands = params["kind"], params["candidates"]
    mem, rows = None, bt
    if kind in ("ensemble", "best") and len(cands) >= 2 and params["top_k"] >= 1:
        mem = ensemble.members(bt, folds, cands, params["top_k"], params.get("scope", "global"))
        ens = ensemble.combine(bt, mem, params["combine"], ["fold", "ds"])  # it reads the members' rows only
        rows = pd.concat([bt, ens[bt.columns]], ignore_index=True)
    sids = np.sort(bt["series_id"].unique())
    if kind == "best" and params.get("margin", 0.0) >= 1:  # one model: the pooled winner everywhere
        chosen = ensemble.choose(rows, folds, cands, 1.0)
    elif kind == "best":
        chosen = ensemble.choose(rows, folds, [*cands, *([ensemble.NAME] if mem is not None else [])],
                                 params.get("margin", 0.0))
    elif kind == "ensemble":
        chosen = pd.Series(ensemble.NAME, index=mem.index)
    else:
        chosen = pd.Series(kind, index=sids)
    return chosen, mem, rows


def strategy_text(headline: dict, final: dict) -> str:
    """One sentence on the strategy: what the forecasts use, and what the headline's choice
    (made without the scored fold) used when it differs."""
    if not final:
        return ""
    if "strategy_folds" not in final:
        return f" Strategy: {final['strategy']} (set by the strategy option)."
    f = final["strategy_folds"]
    out = (f" The strategy ({final['strategy']}) was chosen the same way: on fold(s) "
           f"{', '.join(map(str, f[0]))} it did best on fold {f[1]}.")
    if headline and headline["strategy"] != final["strategy"]:
        out += f" The headline's choice, made before the scored fold, used {headline['strategy']}."
    return out


def picked(rows: pd.DataFrame, chosen: pd.Series) -> pd.DataFrame:
    """The rows of each series' chosen model, in their order (what an inner merge on the series
    then a filter gave). A mask, not a merge: at 100,000 series the merge copied the whole
    backtest twice."""
    one = chosen.unique() if len(chosen) else ()
    if (len(one) == 1 and isinstance(rows.index, pd.RangeIndex) and rows.index.start == 0
            and rows.index.step == 1 and rows["series_id"].isin(chosen.index).all()):
        # every row's series is chosen, so the merge would keep each row where it is
        mine = rows["model"].to_numpy() == one[0]
        return rows if mine.all() else rows[mine]
    if not len(chosen):
        return rows.iloc[:0]
    at = chosen.index.get_indexer(rows["series_id"].to_numpy())  # -1: the series has no choice
    want = chosen.to_numpy(dtype=object)[at]
    return rows[(at >= 0) & (rows["model"].to_numpy() == want)]


def backtest_frames(run: Run) -> list[pd.DataFrame]:
    """The run's backtest rows: the backtest, and the ensemble's rows when they are kept apart
    (core.training.choice); one frame, as the frame path concatenated them, in that order."""
    return [f for f in (run.bt, run.bt_ens) if f is not None]


def picked_rows(run: Run, chosen: pd.Series) -> pd.DataFrame:
    """`picked` over all of the run's backtest rows, in the concatenated frame's order."""
    parts = [picked(f, chosen) for f in backtest_frames(run)]
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def model_rows(run: Run, model: str, cols: list[str] | None = None) -> pd.DataFrame:
    """One model's backtest rows (the ensemble's may be kept apart, in run.bt_ens)."""
    src = run.bt_ens if model == ensemble.NAME and run.bt_ens is not None else run.bt
    return rows_of(src, src["model"].to_numpy() == model, cols)


def rows_of(src: pd.DataFrame, mask: np.ndarray, cols: list[str] | None = None) -> pd.DataFrame:
    """The rows of `mask` (`cols` of them, or more: callers read columns by name). A view when
    they are one block (a backtest's model is, and its first folds), not a copy: 0.6 GB a model
    at 100,000 daily series, taken for each model by the quantiles, the fallback and the summary."""
    at = np.flatnonzero(mask)
    if len(at) and at[-1] - at[0] + 1 == len(at):
        return src.iloc[at[0]:at[-1] + 1]
    return src.loc[mask] if cols is None else src.loc[mask, cols]


def choose(run: Run) -> None:
    """The choice the forecasts use (every fold) and the headline's out-of-selection rows. From
    arrays (core.training.choice) when the backtest allows it, else from frames; the same result
    either way."""
    folds = sorted(int(f) for f in run.bt["fold"].unique())
    p = choice.panel(run.bt) if choice.fits(run.params) else None
    if p is None:
        _choose_frames(run, folds)
        return
    combine = run.params["combine"]
    run.chosen, run.members, how = choice.decide_auto(p, folds, run.params)
    run.bt_ens = choice.ensemble_rows(run.bt, run.members, combine)
    if len(folds) >= 2:
        sel, last = folds[:-1], folds[-1]
        chosen_s, mem_s, how_s = choice.decide_auto(p, sel, run.params)
        same = (mem_s is not None and run.members is not None and mem_s.iloc[0] == run.members.iloc[0]
                and mem_s.index.equals(run.members.index))  # the same rows: made once
        run.honest, run.honest_sel = choice.headline_rows(p, last, sel, chosen_s, mem_s, combine,
                                                          run.bt_ens if same else None)
        run.honest_chosen, run.sel_folds = chosen_s, sel
        run.measured = _out_of_selection(sel, last, how_s, how)
    del p
    if len(folds) < 2:
        run.honest, run.honest_chosen = picked_rows(run, run.chosen), run.chosen
        run.honest_sel, run.sel_folds = run.bt_ens, folds  # candidates' rows: run.bt's own
        run.measured = _in_selection(folds, True)


def _out_of_selection(sel: list[int], last: int, how_s: dict, how: dict) -> dict:
    return {"method": "out-of-selection",
            "text": (f"Each series' model was chosen on backtest fold(s) {', '.join(str(f + 1) for f in sel)} "
                     f"and scored on fold {last + 1}, which the choice never saw."
                     + strategy_text(how_s, how)),
            "choose_folds": [f + 1 for f in sel], "score_fold": last + 1, **how}


def _in_selection(folds: list[int], selects: bool) -> dict:
    return {"method": "in-selection" if selects else "all-folds",
            "text": ("With one backtest fold the choice and its score use the same fold, so the "
                     "figure flatters the choice; train with 2+ folds for an out-of-selection one."
                     if selects else "Pooled over every backtest fold (no per-series choice was made)."),
            "choose_folds": [f + 1 for f in folds] if selects else [], "score_fold": None}


def _choose_frames(run: Run, folds: list[int]) -> None:
    """`choose` from frames: every kind of run, any backtest rows (a strategy's rows are the
    backtest with its ensemble's rows concatenated)."""
    bt = run.bt
    run.chosen, run.members, run.bt, how = decide_auto(bt, folds, run.params)
    selects = run.params["kind"] in ("best", "ensemble")
    if selects and len(folds) >= 2:
        sel, last = folds[:-1], folds[-1]
        chosen_s, _, rows_s, how_s = decide_auto(bt, sel, run.params)
        run.honest = picked(rows_s[rows_s["fold"] == last], chosen_s)
        run.honest_sel = rows_s[rows_s["fold"].isin(sel)]
        run.honest_chosen = chosen_s
        run.measured = _out_of_selection(sel, last, how_s, how)
    else:
        run.honest = picked(run.bt, run.chosen)
        run.honest_sel = run.bt
        run.honest_chosen = run.chosen
        run.measured = _in_selection(folds, selects)


def fallback(run: Run) -> None:
    """Series with no backtest (too short) take the candidate that did best overall."""
    cands = [*run.params["candidates"], *([ensemble.NAME] if run.members is not None else [])]
    overall = {m: metrics.pooled(model_rows(run, m))["wape"] for m in cands}
    best = min(overall, key=lambda m: np.inf if overall[m] is None else overall[m])
    if run.params["kind"] not in ("best", "ensemble"):
        best = run.params["kind"]
    if best == ensemble.NAME:  # an unscored series: the overall best members
        best = min(run.params["candidates"], key=lambda m: np.inf if overall[m] is None else overall[m])
    sids = np.sort(run.y["series_id"].unique())
    run.chosen = run.chosen.reindex(sids).fillna(best)
    if run.members is not None:
        run.members = run.members.reindex(sids)
        run.members = run.members.where(run.members.notna(), pd.Series([(best,)] * len(sids), index=sids))
