"""Turning stored sales into the gap-free long frame the models expect, and the few array
helpers that let every model work on that frame without a per-series loop or a needless sort
(the frame is sorted by series and date once, here, and stays so)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def is_sorted(df: pd.DataFrame) -> bool:
    """Whether rows are in (series_id, ds) order with no repeated pair: then a series' rows are
    one contiguous run, in date order."""
    sid = df["series_id"].to_numpy()
    ds = df["ds"].to_numpy()
    if len(sid) < 2:
        return True
    # comparisons, not np.diff: a row-sized int64 difference was 0.6 GB at 73M rows, at the
    # peak of every step that checks (a backtest fold's fit, the load, the quantiles' scales)
    if not (sid[1:] >= sid[:-1]).all():
        return False
    later = ds[1:] > ds[:-1]
    later |= sid[1:] > sid[:-1]
    return bool(later.all())


def sort_long(df: pd.DataFrame) -> pd.DataFrame:
    """The frame in (series_id, ds) order; the same object when it already is."""
    return df if is_sorted(df) else df.sort_values(["series_id", "ds"], kind="stable", ignore_index=True)


def runs(sid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, start, length) of each series' contiguous run in a sorted series_id array."""
    if not len(sid):
        return sid[:0], np.zeros(0, np.int64), np.zeros(0, np.int64)
    start = np.concatenate([[0], np.flatnonzero(sid[1:] != sid[:-1]) + 1])
    n = np.diff(np.append(start, len(sid)))
    return sid[start], start, n


def complete(sales: pd.DataFrame, freq: str, end: pd.Timestamp | None = None) -> pd.DataFrame:
    """series_id, ds, y on the full calendar from each series' first date to `end` (default: the
    last date in the data), sorted by series and date. A missing row means no recorded sale, so
    it becomes 0 — the usual reading of a retail sales extract, and what lets every series share
    one forecast origin. Dates off the calendar are dropped.

    Array arithmetic (each row's calendar position), no merge: at 73M rows a grid merge took
    most of a run's load time and memory."""
    df = sales if list(sales.columns) == ["series_id", "ds", "y"] else sales[["series_id", "ds", "y"]]
    if df["ds"].dtype != "datetime64[ns]":
        df = df.assign(ds=pd.to_datetime(df["ds"]).astype("datetime64[ns]"))
    df = sort_long(df)
    sid = df["series_id"].to_numpy()
    ds = df["ds"].to_numpy()
    end = pd.Timestamp(end) if end is not None else pd.Timestamp(ds.max())
    calv = pd.date_range(ds.min(), end, freq=freq).to_numpy()
    ids, start, n = runs(sid)
    first = calv.searchsorted(ds[start])  # each series' first calendar period
    length = np.maximum(len(calv) - first, 0)
    at = calv.searchsorted(ds)
    on_cal = at < len(calv)
    on_cal[on_cal] = calv[at[on_cal]] == ds[on_cal]  # dates off the calendar are dropped
    if (n == length).all() and on_cal.all():  # no gaps (sorted, distinct, on the calendar)
        return pd.DataFrame({"series_id": sid, "ds": ds, "y": df["y"].to_numpy(float)}, copy=False)
    out_start = np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int64)
    total = int(length.sum())
    # a row's place in the output: its series' offset plus its calendar position from the first
    y = np.zeros(total)
    y[(at + np.repeat(out_start - first, n))[on_cal]] = df["y"].to_numpy(float)[on_cal]
    pos = np.arange(total) - np.repeat(out_start - first, length)
    return pd.DataFrame({"series_id": np.repeat(ids, length), "ds": calv[pos], "y": y})
