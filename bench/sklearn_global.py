"""scikit-learn global model benchmark: 1,000 daily series x 730 days, a 3-fold rolling-origin
backtest plus the final fit and 28-day forecast (with the saved model and its feature
importances), as core.training runs it. Baseline in the same run: seasonal naive on the same
folds.

    .venv/bin/python bench/sklearn_global.py [--series 1000] [--estimator hgb|ridge]

Targets (issue 3): >= 100 series/s end to end, peak RSS <= 2 GB."""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import backtest, metrics  # noqa: E402
from core.demo import DemoSpec, generate  # noqa: E402
from core.models import make  # noqa: E402
from core.models.base import FitContext  # noqa: E402
from core.models.data import complete  # noqa: E402


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(name: str, y: pd.DataFrame, opts: dict, horizon: int) -> tuple[float, float, float]:
    t, c = time.perf_counter(), cpu()
    cuts = backtest.cutoffs(y["ds"].max(), horizon, 3, "D")
    bt = backtest.run(lambda: make(name, "D", opts), y, None, "D", horizon, cuts, FitContext())
    make(name, "D", opts).fit_predict(y, horizon, None, FitContext(keep=True))
    return time.perf_counter() - t, cpu() - c, metrics.pooled(bt)["wape"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--estimator", default="hgb")
    a = ap.parse_args()
    stores = 5
    t = time.perf_counter()
    df = generate(DemoSpec(n_skus=a.series // stores, n_stores=stores, days=a.days))
    sid = df.groupby(["sku", "store"]).ngroup() + 1
    y = complete(pd.DataFrame({"series_id": sid, "ds": df["date"], "y": df["units"]}), "D")
    del df
    n = y["series_id"].nunique()
    print(f"{n} series x {a.days} days ({len(y):,} rows) made in {time.perf_counter() - t:.1f} s; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    t_naive, c_naive, w_naive = run("naive", y, {}, 28)
    t_sk, c_sk, w_sk = run("sklearn", y, {"estimator": a.estimator}, 28)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"seasonal naive   {t_naive:6.1f} s wall {c_naive:6.1f} s CPU  {n / t_naive:7.1f} series/s  WAPE {w_naive:.3f}")
    print(f"sklearn {a.estimator:<8} {t_sk:6.1f} s wall {c_sk:6.1f} s CPU  {n / t_sk:7.1f} series/s  WAPE {w_sk:.3f}  "
          f"(target >= 100 series/s; {t_sk / t_naive:.1f}x the naive time)")
    print(f"peak RSS         {rss:6.0f} MB (target <= 2048 MB)")


if __name__ == "__main__":
    main()
