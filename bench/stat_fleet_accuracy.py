"""Which statistical model earns its CPU in the fleet's best-of: each candidate's 3-fold backtest
on the generated fleet (bench/fleet_data.py via bench/stat_cpu.py's `fleet`), and what adding it
to naive + the global model buys a best-of, scored honestly (each series' model chosen on the
first folds by its absolute error sum, scored on the last fold).

    .venv/bin/python bench/stat_fleet_accuracy.py [--series 10000] [--models ets,croston,...]

Per model: WAPE over all folds (core.metrics' one definition), wall and CPU seconds (this
process plus the worker processes' CPU, read from psutil before they go idle), CPU ms per series
and fit. Per best-of naive + sklearn (+ model): the honest last-fold WAPE and how many series the
model serves there. Fits go through core.training's path (models.make with a run memo).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import psutil  # noqa: E402
from stat_cpu import fleet  # noqa: E402

H, FOLDS = 28, 3


def cpu_tree() -> float:
    """CPU seconds of this process and its live children (the loky workers)."""
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for p in me.children(recursive=True):
        try:
            total += sum(p.cpu_times()[:2])
        except psutil.Error:
            pass
    return total


def main() -> None:
    from core import backtest, metrics, models
    from core.models.base import FitContext

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--models", default="naive,sklearn,croston,tsb,adida,imapa,ets")
    a = ap.parse_args()
    y, freq, _ = fleet(a.series)
    n = y["series_id"].nunique()
    cuts = backtest.cutoffs(y["ds"].max(), H, FOLDS, freq)
    err: dict[str, pd.DataFrame] = {}
    print(f"fleet {n} series x {y['ds'].nunique()} days, {float((y['y'] == 0).mean()):.0%} zeros; "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; workers {os.environ.get('SHELFCAST_WORKERS', 'all')}",
          flush=True)
    print(f"{'model':<9}{'WAPE':>8}{'wall s':>9}{'CPU s':>9}{'CPU ms/series/fit':>19}", flush=True)
    for name in a.models.split(","):
        memo: dict = {}
        c0, t0 = cpu_tree(), time.time()
        bt = backtest.run(lambda name=name, memo=memo: models.make(name, freq, {}, 0, memo=memo), y, None, freq, H, cuts,
                          FitContext())
        wall, cpu = time.time() - t0, cpu_tree() - c0
        e = np.abs(bt["y"].to_numpy() - bt["yhat"].to_numpy())
        err[name] = pd.DataFrame({"series_id": bt["series_id"], "fold": bt["fold"], "e": e, "y": bt["y"].abs()})
        w = metrics.wape_of(float(e.sum()), float(np.abs(bt["y"]).sum()))
        print(f"{name:<9}{w:8.4f}{wall:9.1f}{cpu:9.1f}{1000 * cpu / n / FOLDS:19.2f}", flush=True)
    base = [m for m in ("naive", "sklearn") if m in err]
    print(f"\nbest-of, chosen per series on folds 0-{FOLDS - 2}, scored on fold {FOLDS - 1} (honest WAPE):")
    for extra in [None, *[m for m in err if m not in base]]:
        cands = [*base, *([extra] if extra else [])]
        sel = pd.DataFrame({m: err[m][err[m]["fold"] < FOLDS - 1].groupby("series_id")["e"].sum() for m in cands})
        pick = sel.idxmin(axis=1)  # first of the lowest: naive, then sklearn, then the extra
        last = {m: err[m][err[m]["fold"] == FOLDS - 1].set_index("series_id") for m in cands}
        chosen_err = sum(last[m].loc[pick.index[pick == m], "e"].sum() for m in cands)
        w = metrics.wape_of(float(chosen_err), float(last[cands[0]]["y"].sum()))
        share = ", ".join(f"{m} {int((pick == m).sum())}" for m in cands)
        print(f"  {'+'.join(cands):<28} WAPE {w:.4f}  series: {share}", flush=True)


if __name__ == "__main__":
    main()
