"""CPU per series of the statistical and intermittent models against issue 12's budget
(<= 20 ms per monthly series, <= 60 ms per 2-year daily series; Prophet ~160 ms).

    .venv/bin/python bench/stat_cpu.py [--data ../shared/data] [--models ets,theta,...]
        [--sets txhousing,fleet,pizza] [--fleet-series 200] [--folds 3] [--repeat 1]

Data, as core.training hands it to a model (gap-free long frame, series_id/ds/y):
- txhousing: the 40 markets of the holdout protocol (../shared/data/README.md), history to 2014-07
  (monthly, h = 12);
- fleet: `bench/fleet_data.py`'s generator, 200 series x 730 days (retail-like: slow movers, many
  zero days, weekly and yearly season; h = 28);
- pizza: the 91 SKUs on their 358 open days, tiled to two years (716 days; h = 28).

Two figures per model and data set, CPU time of this process (time.process_time) divided by the
number of series:
- "lone": one fit + forecast on all history, as `models.make(name, freq)` gives it outside a
  training run (it searches the form), after one warm-up call on the same data;
- "run": the fits a training run makes (`--folds` backtest folds, then the final fit on all
  history), with the run's memo (`models.make(..., memo=)`: the first fold searches each series'
  form, the later fits reuse it), divided by the number of fits; the first (searching) fit and
  the mean later fit are shown too.
CPU time is what other jobs on a shared machine disturb least; the load average is printed with
it (on a loaded box even CPU time grows: caches and frequency are shared). `--repeat N` keeps
the lowest of N measurements.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SHELFCAST_WORKERS", "1")  # CPU of this process: the fits stay in it
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

MODELS = ("ets", "theta", "croston", "tsb", "adida", "imapa")
BUDGET = {"MS": 20.0, "D": 60.0}  # ms per series: monthly, 2-year daily


def txhousing(data: Path) -> tuple[pd.DataFrame, str, int]:
    df = pd.read_csv(data / "txhousing_monthly.csv", parse_dates=["month"])
    cut = pd.Timestamp("2014-07-01")
    test = df[(df["month"] > cut) & (df["month"] <= "2015-07-01")].dropna(subset=["sales"])
    full = test.groupby("market")["month"].size()
    markets = full.index[full == 12]  # the 40 markets scored by the accuracy protocol
    train = df[(df["month"] <= cut) & df["market"].isin(markets)].dropna(subset=["sales"])
    return long(train["market"], train["month"], train["sales"], "MS"), "MS", 12


def pizza(data: Path) -> tuple[pd.DataFrame, str, int]:
    df = pd.read_csv(data / "pizza_daily.csv", parse_dates=["date"])
    days = np.sort(df["date"].unique())  # open days on a gap-free calendar (weekly season 7)
    df["date"] = df["date"].map(pd.Series(pd.date_range("2015-01-01", periods=len(days)), index=days))
    y = long(df["sku"], df["date"], df["units"], "D")
    span = y["ds"].max() - y["ds"].min() + pd.Timedelta(days=1)  # one year, tiled to two
    both = pd.concat([y.assign(ds=y["ds"] - span), y], ignore_index=True)
    return both.sort_values(["series_id", "ds"], ignore_index=True), "D", 28


def fleet(series: int, days: int = 730) -> tuple[pd.DataFrame, str, int]:
    sys.path.insert(0, str(ROOT / "bench"))
    from fleet_data import Fleet, Shape

    gen = Fleet(Shape.for_series(series), days)
    t = pd.concat([c.to_pandas() for c in gen.chunks(0, days)], ignore_index=True)
    return long(t["sku"] + "/" + t["store"], t["date"], t["units"], "D"), "D", 28


def long(key: pd.Series, ds: pd.Series, y: pd.Series, freq: str) -> pd.DataFrame:
    from core.models.data import complete

    frame = pd.DataFrame({"series_id": pd.factorize(key, sort=True)[0], "ds": pd.to_datetime(ds),
                          "y": y.astype(float).to_numpy()})
    return complete(frame, freq)


def cpu(fn) -> float:
    t = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn()
    return time.process_time() - t


def lone(name: str, y: pd.DataFrame, freq: str, h: int) -> float:
    """CPU ms per series of one fit + forecast on all history, outside a run (it searches)."""
    from core import models
    from core.models.base import FitContext

    def once() -> None:
        models.make(name, freq).fit_predict(y, h, None, FitContext())

    return cpu(once) * 1000 / y["series_id"].nunique()


def run(name: str, y: pd.DataFrame, freq: str, h: int, folds: int) -> tuple[float, float, float]:
    """(first fit, mean later fit, all fits / their number), CPU ms per series, of the fits a
    training run makes with its memo: core.backtest's folds oldest first, then the final fit."""
    from core import backtest, models
    from core.models.base import FitContext

    n = y["series_id"].nunique()
    memo: dict = {}
    cost = []
    for cut in [*backtest.cutoffs(y["ds"].max(), h, folds, freq), None]:
        train = y if cut is None else backtest.split(y, cut, h, freq)[0]
        cost.append(cpu(lambda t=train: models.make(name, freq, {}, 0, memo=memo)
                        .fit_predict(t, h, None, FitContext())) * 1000 / n)
    return cost[0], float(np.mean(cost[1:])), float(np.mean(cost))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--sets", default="txhousing,fleet,pizza")
    ap.add_argument("--fleet-series", type=int, default=200)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=1, help="keep the lowest of N measurements")
    a = ap.parse_args()
    makers = {"txhousing": lambda: txhousing(a.data), "pizza": lambda: pizza(a.data),
              "fleet": lambda: fleet(a.fleet_series)}
    names = [m for m in a.models.split(",") if m]
    t = time.process_time()
    import statsforecast.models  # noqa: F401 - a one-off per process, kept out of the figures

    print(f"import statsforecast: {time.process_time() - t:.2f} s CPU (once per process)")
    load = [os.getloadavg()[0]]
    rows = []
    for set_name in a.sets.split(","):
        y, freq, h = makers[set_name]()
        n = y["series_id"].nunique()
        per = len(y) / n
        for name in names:
            lone(name, y, freq, h)  # warm-up: first-call costs (imports, allocations) kept out
            best_lone = min(lone(name, y, freq, h) for _ in range(a.repeat))
            best_run = min((run(name, y, freq, h, a.folds) for _ in range(a.repeat)), key=lambda r: r[2])
            rows.append((f"{set_name} ({n} x {per:.0f} {'days' if freq == 'D' else 'months'})",
                         name, best_lone, *best_run, BUDGET[freq]))
            load.append(os.getloadavg()[0])
            print(f"  .. {set_name} {name}: lone {best_lone:.1f} ms, run {best_run[2]:.1f} ms", file=sys.stderr)
    print(f"load average (1 min) {min(load):.1f}-{max(load):.1f} on {os.cpu_count()} cores; "
          f"run = {a.folds} backtest folds + the final fit; CPU ms per series")
    print(f"  {'data':<28} {'model':<8} {'lone':>6} {'run:search':>10} {'run:later':>9} {'run/fit':>7} "
          f"{'budget':>6}  met (lone / run)")
    for data, name, one, first, later, per_fit, budget in rows:
        met = f"{'met' if one <= budget else 'NOT met'} / {'met' if per_fit <= budget else 'NOT met'}"
        print(f"  {data:<28} {name:<8} {one:6.1f} {first:10.1f} {later:9.1f} {per_fit:7.1f} {budget:6.0f}  {met}")


if __name__ == "__main__":
    main()
