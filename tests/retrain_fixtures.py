"""A store with a real (naive) version in service and actuals arriving in weekly uploads: the
setting of the retraining, challenger and data-quality tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core import registry, training
from core.demo import DemoSpec, generate
from core.ingest import ingest

HISTORY_DAYS = 90
HORIZON = 14


def demo_frame(n_skus: int = 5, n_stores: int = 2, days: int = 130) -> pd.DataFrame:
    return generate(DemoSpec(n_skus=n_skus, n_stores=n_stores, days=days))


def days_of(df: pd.DataFrame, first: int, last: int) -> pd.DataFrame:
    """Rows of the 1-based day numbers first..last of the frame."""
    dates = sorted(df["date"].unique())
    keep = set(dates[first - 1:last])
    return df[df["date"].isin(keep)].copy()


def upload(df: pd.DataFrame, path: Path, actor, db: Path, plans: pd.DataFrame | None = None):
    """Ingest `df` (actuals) and `plans` (rows with units blank: regressor plans)."""
    if plans is not None:
        df = pd.concat([df, plans.assign(units=float("nan"))])
    df.to_csv(path, index=False)
    return ingest(path, actor, db=db)


def serving_store(db: Path, tmp: Path, actor, kind: str = "naive", df: pd.DataFrame | None = None):
    """History of HISTORY_DAYS days (with plans for the horizon) ingested, a `kind` version
    trained on it (14-day horizon, one fold) and promoted. Returns (frame, version id)."""
    df = demo_frame() if df is None else df
    upload(days_of(df, 1, HISTORY_DAYS), tmp / "history.csv", actor, db,
           plans=days_of(df, HISTORY_DAYS + 1, HISTORY_DAYS + HORIZON))
    vid = training.train(actor, kind, horizon=HORIZON, folds=1, db=db)
    registry.promote(actor, vid, "first version", db=db)
    return df, vid
