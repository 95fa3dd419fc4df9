"""Small real-shaped stores and frames for the forecasting engine's tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.access import Actor
from core.demo import DemoSpec, generate
from core.ingest import ingest

SCI = Actor("sam", "scientist")


def demo_frame(n_skus: int = 3, n_stores: int = 1, days: int = 400, freq: str = "D") -> pd.DataFrame:
    """Demo sales at daily, weekly (W-SUN) or monthly (MS) grain."""
    df = generate(DemoSpec(n_skus=n_skus, n_stores=n_stores, days=days))
    if freq == "D":
        return df
    df["date"] = pd.to_datetime(df["date"])
    g = df.groupby(["sku", "store", pd.Grouper(key="date", freq=freq)])
    out = g.agg(units=("units", "sum"), price=("price", "mean")).reset_index()
    if freq == "W-SUN":  # drop a partial last week
        out = out[out["date"] <= df["date"].max()]
    return out


def long_frame(df: pd.DataFrame) -> pd.DataFrame:
    """series_id, ds, y as the models take it."""
    sid = df.groupby(["sku", "store"]).ngroup() + 1
    return pd.DataFrame({"series_id": sid, "ds": pd.to_datetime(df["date"]), "y": df["units"].astype(float)})


def make_store(dir: Path, n_skus: int = 3, n_stores: int = 1, days: int = 400, freq: str = "D",
               regressors: bool = False) -> Path:
    """A real store file with demo data ingested (regressor columns dropped unless asked)."""
    dir.mkdir(parents=True, exist_ok=True)
    df = demo_frame(n_skus, n_stores, days, freq)
    if not regressors:
        df = df[["date", "sku", "store", "units"]]
    f = dir / "sales.csv"
    df.to_csv(f, index=False)
    db = dir / "store.duckdb"
    ingest(f, SCI, db=db)
    return db


def add_future_regressor(db: Path, name: str, dates: pd.DatetimeIndex, value: float = 1.0) -> None:
    """A plan: regressor values for future dates of every series (as a promo calendar would),
    uploaded as a user would: rows with no units feed only the regressors."""
    import tempfile

    from core.store import session

    with session(db) as s:
        series = s.connection().connection.dbapi_connection.execute(
            "SELECT sku, store FROM series").fetchall()
    plan = pd.DataFrame([{"date": d.date(), "sku": k, "store": st, "units": None, name: value}
                         for k, st in series for d in dates])
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "plan.csv"
        plan.to_csv(f, index=False)
        ingest(f, SCI, db=db)
