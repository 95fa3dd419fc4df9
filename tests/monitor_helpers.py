"""Builds an active version for monitoring tests without the engine: a seasonal forecaster in
pandas (last year's level, this year's growth, recent weekday profile) writes real forecasts,
backtest rows and series metrics through the store, and core.store.registry.set_active points
at it (with the stored errors rebuilt in the same transaction, as core.registry.promote does). Tests of the end-to-end journey use core.training / core.registry once they exist."""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from core.access import Actor
from core.demo import DemoSpec, generate, split_recent
from core.ingest import ingest
from core.store import monitoring, registry, sales, session
from core.store.base import now
from core.store.db import raw
from core.store.versions import Version

YEAR = 364


def seasonal_forecast(hist: pd.Series, promo: pd.Series, dates: pd.DatetimeIndex) -> np.ndarray:
    """hist: daily units indexed by date (complete calendar); promo: 0/1 by date, known for the
    forecast dates too (a promo plan). Last year's smoothed level times this year's growth, the
    recent weekday profile, and the promo lift estimated from the history."""
    last = hist.index.max()
    p_hist = promo.reindex(hist.index).fillna(0)
    on, off = hist[p_hist == 1], hist[p_hist == 0]
    lift = float(on.mean() / off.mean()) if len(on) > 5 and off.mean() > 0 else 1.0
    base = hist / np.where(p_hist == 1, lift, 1.0)
    recent = base[base.index > last - pd.Timedelta(days=56)]
    wf = recent.groupby(recent.index.dayofweek).mean() / max(recent.mean(), 1e-9)
    wf = wf.reindex(range(7)).fillna(1.0).reindex(dates.dayofweek).to_numpy()
    lift_f = np.where(promo.reindex(dates).fillna(0).to_numpy() == 1, lift, 1.0)
    lvl_now = base[base.index > last - pd.Timedelta(days=56)].mean()
    smooth = base.rolling(21, center=True, min_periods=1).mean()
    ago = smooth.reindex(dates - pd.Timedelta(days=YEAR))
    if ago.isna().any() or len(hist) < YEAR + 28:
        return lvl_now * wf * lift_f
    lvl_ago = base[(base.index > last - pd.Timedelta(days=YEAR + 56))
                   & (base.index <= last - pd.Timedelta(days=YEAR))].mean()
    growth = lvl_now / lvl_ago if lvl_ago > 0 else 1.0
    return ago.to_numpy() * growth * wf * lift_f


def make_active_version(db: Path, history: pd.DataFrame, horizon: int, actor: Actor,
                        plan: pd.DataFrame | None = None) -> int:
    """Ingest `history` (a core.demo frame), forecast `horizon` days after it (with the promo
    plan from `plan`, the frame of the coming days, if given), backtest the same way on the last
    `horizon` days of it, and make that version active. Returns its id."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.parquet"
        history.to_parquet(path, index=False)
        ingest(path, actor, db=db)
    with session(db) as s:
        df = sales.load_sales(s)
    df["ds"] = pd.to_datetime(df["ds"])
    promos = pd.concat([history, plan]) if plan is not None else history
    promos = promos.assign(date=pd.to_datetime(promos["date"])).set_index(["sku", "store", "date"])["promo"].sort_index()
    fc_rows, bt_rows, met_rows = [], [], []
    for (sid, sku, store), g in df.groupby(["series_id", "sku", "store"]):
        h = g.set_index("ds")["y"].asfreq("D", fill_value=0.0)
        promo = promos.loc[(sku, store)]
        cutoff = h.index.max()
        fdates = pd.date_range(cutoff + timedelta(days=1), periods=horizon, freq="D")
        yhat = seasonal_forecast(h, promo, fdates)
        band = 1.28 * np.sqrt(np.maximum(yhat, 0.25)) * 1.5
        fc_rows.append(pd.DataFrame({"series_id": sid, "ds": fdates.date, "yhat": yhat,
                                     "yhat_lower": np.maximum(yhat - band, 0),
                                     "yhat_upper": yhat + band}))
        train = h[h.index <= cutoff - timedelta(days=horizon)]
        bdates = h.index[h.index > cutoff - timedelta(days=horizon)]
        byhat = seasonal_forecast(train, promo, bdates)
        y = h.reindex(bdates).to_numpy()
        bt_rows.append(pd.DataFrame({"series_id": sid, "ds": bdates.date, "y": y, "yhat": byhat}))
        ae, ay = float(np.abs(byhat - y).sum()), float(np.abs(y).sum())
        met_rows.append({"series_id": sid, "wape": ae / ay if ay else None, "abs_err": ae,
                         "abs_y": ay, "n": len(y), "bias": float((byhat - y).sum() / ay) if ay else None})
    fc, bt, met = pd.concat(fc_rows), pd.concat(bt_rows), pd.DataFrame(met_rows)
    wape = met["abs_err"].sum() / met["abs_y"].sum()
    cut = df["ds"].max().date()
    with session(db, write=True) as s:
        v = Version(kind="naive", horizon=horizon, folds=1, freq="D", created_by=actor.name,
                    status="ready", finished_at=now(), n_series=len(met),
                    metrics=json.dumps({"wape": wape, "accuracy": 1 - wape}))
        s.add(v)
        s.flush()
        s.refresh(v)
        con = raw(s)
        fc["version_id"], fc["model"] = v.id, "seasonal"
        con.register("fc", fc)
        con.execute("""INSERT INTO forecasts SELECT version_id, series_id, ds, yhat, yhat_lower,
                       yhat_upper, model FROM fc""")
        bt["version_id"] = v.id
        con.register("bt", bt)
        con.execute("""INSERT INTO backtests SELECT version_id, series_id, 'seasonal', 0, ?, ds, y,
                       yhat, NULL, NULL FROM bt""", [cut - timedelta(days=horizon)])
        met["version_id"] = v.id
        con.register("met", met)
        con.execute("""INSERT INTO series_metrics SELECT version_id, series_id, 'seasonal', NULL,
                       wape, NULL, NULL, NULL, bias, NULL, NULL, abs_err, abs_y, n FROM met""")
        for t in ("fc", "bt", "met"):
            con.unregister(t)
        registry.set_active(s, v.id)
        monitoring.sync_errors(s)  # what core.registry.promote does in its transaction
        return v.id


def ingest_frame(db: Path, frame: pd.DataFrame, actor: Actor, name: str = "recent.parquet") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        frame.to_parquet(path, index=False)
        ingest(path, actor, db=db)


def content_hash(db: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Per table but `skip`, a hash of every row (not the file's bytes, which DuckDB may touch
    on a read): a read that writes anything changes one, and the dict names which."""
    import hashlib

    with session(db) as s:
        con = raw(s)
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1"
        ).fetchall()]
        out = {}
        for t in (t for t in tables if t not in skip):
            rows = con.execute(f'SELECT * FROM "{t}"').fetchall()  # noqa: S608 - catalog names
            out[t] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
    return out


MONITORED_SPEC = DemoSpec(n_skus=8, n_stores=2, days=420, seed=7)


def build_monitored(path: Path, actor: Actor) -> Path:
    """A store in service: MONITORED_SPEC's history, a version active over a price/promo plan,
    then four weeks of actuals (demand shifted for some SKUs) with the rules evaluated."""
    hist, recent = split_recent(generate(MONITORED_SPEC), MONITORED_SPEC.shift_days)
    make_active_version(path, hist, MONITORED_SPEC.shift_days, actor, plan=recent)
    ingest_frame(path, recent, actor)
    return path
