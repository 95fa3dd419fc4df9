"""A training run end to end on the shared real data, as a user would do it: upload the training
part, `train`, export the forecasts with their quantiles, score them against the held-out
actuals (protocol in ../shared/data/README.md). Prints the holdout WAPE, the version's own
(out-of-selection) backtest WAPE, P10/P90 coverage and wQL on the holdout.

    .venv/bin/python bench/best_of_real.py pizza best [KEY=VALUE ...]
    .venv/bin/python bench/best_of_real.py txhousing sklearn

pizza: closed days removed and the 358 open days laid on a gap-free daily calendar (as the
reference figures were measured), the last 28 open days held out.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import forecasts, metrics, quantiles, training  # noqa: E402
from core.access import Actor  # noqa: E402
from core.ingest import Mapping, ingest  # noqa: E402

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
ME = Actor("bench", "admin")


def pizza(tmp: Path) -> tuple[Path, pd.DataFrame, Mapping, int]:
    df = pd.read_csv(DATA / "pizza_daily.csv", parse_dates=["date"])
    days = np.sort(df["date"].unique())
    df["date"] = df["date"].map(pd.Series(pd.date_range("2015-01-01", periods=len(days)), index=days))
    cut = df["date"].max() - pd.Timedelta(days=28)
    f = tmp / "pizza_train.csv"
    df[df["date"] <= cut].to_csv(f, index=False)
    test = df[df["date"] > cut].rename(columns={"date": "ds", "units": "y"})[["sku", "store", "ds", "y"]]
    return f, test, Mapping(date="date", sku="sku", store="store", qty="units"), 28


def txhousing(tmp: Path) -> tuple[Path, pd.DataFrame, Mapping, int]:
    df = pd.read_csv(DATA / "txhousing_monthly.csv", parse_dates=["month"]).dropna(subset=["sales"])
    f = tmp / "tx_train.csv"
    df[df["month"] <= "2014-07-01"].to_csv(f, index=False)
    test = df[(df["month"] > "2014-07-01") & (df["month"] <= "2015-07-01")]
    n = test.groupby("market").size()
    test = test[test["market"].isin(n[n == 12].index)]
    test = test.rename(columns={"month": "ds", "market": "sku", "state": "store", "sales": "y"})
    return f, test[["sku", "store", "ds", "y"]], Mapping(date="month", sku="market", store="state", qty="sales"), 12


def main() -> None:
    which, kind = sys.argv[1], sys.argv[2]
    options = dict(kv.split("=", 1) for kv in sys.argv[3:])
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        f, test, mapping, h = {"pizza": pizza, "txhousing": txhousing}[which](tmp)
        db = tmp / "store.duckdb"
        ingest(f, ME, mapping, db=db)
        t = time.perf_counter()
        vid = training.train(ME, kind, horizon=h, folds=int(options.pop("folds", 3)), options=options, db=db)
        secs = time.perf_counter() - t
        v = next(r for r in forecasts.list_versions(db) if r["id"] == vid)
        fc = forecasts.forecast_frame(vid, db).merge(quantiles.export_columns(vid, db), how="left",
                                                     on=["sku", "store", "date"])
    fc["ds"] = pd.to_datetime(fc["date"])
    got = test.merge(fc, on=["sku", "store", "ds"], how="left")
    m = v["metrics"]
    qm = metrics.quantile_scores(got["y"].to_numpy(), {q: got[quantiles.column(q)].to_numpy() for q in (0.1, 0.5, 0.9)})
    print(f"{which} {kind} {options}: holdout WAPE {metrics.compute(got['y'], got['yhat'])['wape']:.3f}; "
          f"version WAPE {m['wape']:.3f} ({m['measured']['method']}; in-selection {m['in_selection']['wape']:.3f}); "
          f"holdout P10/P90 coverage {qm['coverage']['0.1']:.2f}/{qm['coverage']['0.9']:.2f}, wQL {qm['wql']:.3f}; "
          f"winners {m['winners']}; by model {({k: round(x, 3) for k, x in m['by_model'].items() if x})}; {secs:.0f} s")


if __name__ == "__main__":
    main()
