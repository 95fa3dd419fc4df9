"""Versions for registry tests, written as real rows into the real store.

`fake_version` plays the engine's part of the contract (core/store/versions.py): a ready Version
with metrics JSON, backtests of the chosen model plus a naive reference model (much worse, so a
query that forgets to keep only the chosen model shows it), per-series metrics and forecasts. The
predictions are the actuals scaled by a per-SKU error, so each test knows which version should
win for which SKU.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from core.demo import DemoSpec, generate
from core.ingest import ingest
from core.store import sales, session
from core.store.db import raw
from core.store.versions import Version


def load_demo(db: Path, tmp_path: Path, actor, *, n_skus: int = 4, n_stores: int = 2,
              days: int = 60) -> pd.DataFrame:
    f = tmp_path / "demo.csv"
    generate(DemoSpec(n_skus=n_skus, n_stores=n_stores, days=days)).to_csv(f, index=False)
    ingest(f, actor, db=db)
    with session(db) as s:
        return sales.load_sales(s)


def fake_version(
    db: Path,
    err: float | Callable[[str], float] = 0.1,
    *,
    kind: str = "sklearn",
    horizon: int = 7,
    folds: int = 2,
    freq: str = "D",
    status: str = "ready",
    level: float = 1.0,
    created_by: str = "sam",
) -> int:
    """A version whose backtest predictions are y·(1 + e) with e = ±err(sku) alternating by day,
    so every series' WAPE is exactly err(sku). Forecasts are level × the series' last-week mean
    (so different versions publish recognisably different numbers)."""
    err_of = err if callable(err) else (lambda _sku, e=err: e)
    with session(db) as s:
        hist = sales.load_sales(s)
    hist["ds"] = pd.to_datetime(hist["ds"])
    last = hist["ds"].max()
    bts, fcs = [], []
    for sid, g in hist.groupby("series_id"):
        g = g.sort_values("ds")
        e = err_of(str(g["sku"].iloc[0]))
        for fold in range(folds):
            cutoff = last - pd.Timedelta(days=horizon * (folds - fold))
            win = g[(g["ds"] > cutoff) & (g["ds"] <= cutoff + pd.Timedelta(days=horizon))]
            sign = np.where(np.arange(len(win)) % 2 == 0, 1.0, -1.0)
            for model, ee in ((kind, e), ("naive", 0.9)):
                bts.append(pd.DataFrame({
                    "series_id": sid, "model": model, "fold": fold, "cutoff": cutoff.date(),
                    "ds": win["ds"].dt.date, "y": win["y"], "yhat": win["y"] * (1 + sign * ee),
                    "yhat_lower": win["y"] * (1 - 2 * ee), "yhat_upper": win["y"] * (1 + 2 * ee),
                }))
        base = float(g["y"].tail(7).mean()) * level
        days = pd.date_range(last + pd.Timedelta(days=1), periods=horizon, freq="D")
        fcs.append(pd.DataFrame({
            "series_id": sid, "ds": days.date, "yhat": base, "yhat_lower": base * 0.8,
            "yhat_upper": base * 1.2, "model": kind,
        }))
    bt = pd.concat(bts, ignore_index=True)
    fc = pd.concat(fcs, ignore_index=True)
    chosen = bt[bt["model"] == kind]
    wape = float((chosen["y"] - chosen["yhat"]).abs().sum() / chosen["y"].abs().sum())
    metrics = {"wape": wape, "accuracy": 1 - wape, "mase": 0.8 + wape, "bias": 0.01,
               "coverage": 0.8, "mape": wape, "smape": wape, "rmse": 1.0}
    with session(db, write=True) as s:
        v = Version(kind=kind, params=json.dumps({"horizon": horizon, "folds": folds}),
                    horizon=horizon, folds=folds, freq=freq, created_by=created_by,
                    status=status, metrics=json.dumps(metrics), n_series=int(fc["series_id"].nunique()),
                    duration_s=1.5, dataset_id=1)
        s.add(v)
        s.flush()
        s.refresh(v)
        vid = int(v.id)
        con = raw(s)
        bt.insert(0, "version_id", vid)
        fc.insert(0, "version_id", vid)
        con.register("bt_in", bt)
        con.execute("""INSERT INTO backtests SELECT version_id, series_id, model, fold, cutoff, ds,
                       y, yhat, yhat_lower, yhat_upper FROM bt_in""")
        con.register("fc_in", fc)
        con.execute("""INSERT INTO forecasts SELECT version_id, series_id, ds, yhat, yhat_lower,
                       yhat_upper, model FROM fc_in""")
        con.execute(
            """INSERT INTO series_metrics
               SELECT version_id, series_id, model, NULL, sum(abs(y-yhat))/sum(abs(y)), NULL, NULL,
                      NULL, NULL, NULL, NULL, sum(abs(y-yhat)), sum(abs(y)), count(*)
               FROM bt_in GROUP BY ALL"""
        )
        con.unregister("bt_in")
        con.unregister("fc_in")
    return vid


def registry_snapshot(db: Path) -> tuple:
    """Everything a refused registry action must leave unchanged."""
    with session(db) as s:
        con = raw(s)
        return tuple(
            con.execute(q).fetchall()
            for q in (
                "SELECT scope, version_id FROM active ORDER BY 1",
                "SELECT id, action, from_version, to_version FROM promotions ORDER BY id",
                "SELECT id, status, archived FROM versions ORDER BY id",
            )
        )
