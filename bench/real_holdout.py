"""Holdout accuracy of the engine on the shared real data sets (../shared/data/README.md protocol),
model by model, without a store: the numbers the training engineer reports for issue 12.

    .venv/bin/python bench/real_holdout.py [pizza|txhousing] [model ...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import metrics  # noqa: E402
from core.models import make  # noqa: E402
from core.models.base import FitContext  # noqa: E402
from core.models.data import complete  # noqa: E402

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def pizza() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str, int]:
    """Open days only (closed days removed), re-indexed onto a gap-free daily calendar so the
    weekly season stays 7 positions, as the reference figures were measured."""
    df = pd.read_csv(DATA / "pizza_daily.csv", parse_dates=["date"])
    days = np.sort(df["date"].unique())
    fake = pd.Series(pd.date_range("2015-01-01", periods=len(days), freq="D"), index=days)
    df["ds"] = df["date"].map(fake)
    df["series_id"] = df.groupby("sku").ngroup() + 1
    y = complete(df.rename(columns={"units": "y"}), "D")
    regs = df[["series_id", "ds", "price"]]
    cut = y["ds"].max() - pd.Timedelta(days=28)
    return y[y["ds"] <= cut], y[y["ds"] > cut], regs, "D", 28


def txhousing() -> tuple[pd.DataFrame, pd.DataFrame, None, str, int]:
    df = pd.read_csv(DATA / "txhousing_monthly.csv", parse_dates=["month"])
    df = df.dropna(subset=["sales"])
    df["series_id"] = df.groupby("market").ngroup() + 1
    df = df.rename(columns={"month": "ds", "sales": "y"})
    train = df[df["ds"] <= "2014-07-01"]
    test = df[(df["ds"] > "2014-07-01") & (df["ds"] <= "2015-07-01")]
    full = test.groupby("series_id").size()
    keep = full[full == 12].index
    return complete(train[train["series_id"].isin(keep)], "MS"), test[test["series_id"].isin(keep)], None, "MS", 12


def main() -> None:
    which = sys.argv[1] if len(sys.argv) > 1 else "pizza"
    names = sys.argv[2:] or ["naive", "sklearn"]
    train, test, regs, freq, h = {"pizza": pizza, "txhousing": txhousing}[which]()
    for spec in names:
        name, _, opt = spec.partition(":")
        opts = dict(kv.split("=") for kv in opt.split(";") if kv)
        t = time.perf_counter()
        fc = make(name, freq, opts).fit_predict(train, h, None, FitContext())
        got = test[["series_id", "ds", "y"]].merge(fc, on=["series_id", "ds"], how="left")
        print(f"{which:10} {spec:40} WAPE {metrics.compute(got['y'], got['yhat'])['wape']:.3f} "
              f"{time.perf_counter() - t:6.1f} s", flush=True)


if __name__ == "__main__":
    main()
