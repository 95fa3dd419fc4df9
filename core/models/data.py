"""Turning stored sales into the gap-free long frame the models expect."""

from __future__ import annotations

import numpy as np
import pandas as pd


def complete(sales: pd.DataFrame, freq: str, end: pd.Timestamp | None = None) -> pd.DataFrame:
    """series_id, ds, y on the full calendar from each series' first date to `end` (default: the
    last date in the data). A missing row means no recorded sale, so it becomes 0 — the usual
    reading of a retail sales extract, and what lets every series share one forecast origin."""
    df = sales[["series_id", "ds", "y"]].copy()
    df["ds"] = pd.to_datetime(df["ds"])
    end = pd.Timestamp(end) if end is not None else df["ds"].max()
    cal = pd.date_range(df["ds"].min(), end, freq=freq)
    first = df.groupby("series_id")["ds"].min()
    grid = pd.DataFrame({"series_id": np.repeat(first.index.to_numpy(), len(cal)),
                         "ds": np.tile(cal.to_numpy(), len(first))})
    grid = grid[grid["ds"] >= grid["series_id"].map(first)]
    out = grid.merge(df, on=["series_id", "ds"], how="left")
    out["y"] = out["y"].fillna(0.0)
    return out.sort_values(["series_id", "ds"], ignore_index=True)

