"""The training read path: the gap-free frame (array arithmetic, no grid merge), the conformal
scales, and a run loading only the regressors it can use. Each is held to the plain definition it
replaced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import quantiles
from core.models.data import complete, is_sorted
from core.training import start, steps
from tests.train_helpers import SCI, add_future_regressor, make_store


def _grid_merge(sales: pd.DataFrame, freq: str, end=None) -> pd.DataFrame:
    """complete() as it was: a full calendar grid per series merged with the sales."""
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


@pytest.mark.parametrize("gaps", [True, False])
@pytest.mark.parametrize("freq,periods", [("D", 60), ("W-SUN", 30), ("MS", 40)])
def test_complete_equals_the_grid_merge(freq, periods, gaps):
    rng = np.random.default_rng(len(freq))
    dates = pd.date_range("2024-01-07", periods=periods, freq=freq)
    parts = []
    for sid in (5, 2, 9, 3):
        d = dates[rng.integers(0, 10):]
        if gaps:  # days without a recorded sale
            d = d[rng.random(len(d)) > 0.3]
        parts.append(pd.DataFrame({"series_id": np.int32(sid), "ds": d, "y": rng.poisson(3, len(d)).astype(float)}))
    sales = pd.concat(parts).sample(frac=1, random_state=1)  # any order in
    for end in (None, dates[-1] + pd.Timedelta(days=40)) if gaps else (None,):
        got = complete(sales, freq, end)
        pd.testing.assert_frame_equal(got, _grid_merge(sales, freq, end))
        assert is_sorted(got)


def test_scales_equal_the_per_series_definition():
    rng = np.random.default_rng(0)
    parts = [pd.DataFrame({"series_id": np.int32(s), "ds": pd.date_range("2024-01-01", periods=100)[k:],
                           "y": rng.normal(2, 3, 100 - k)}) for s, k in ((4, 0), (1, 50), (7, 95))]
    y = complete(pd.concat(parts), "D")
    cuts = [pd.Timestamp("2024-02-20"), pd.Timestamp("2024-03-15"), pd.Timestamp("2024-04-09")]
    got = quantiles.scales(y, cuts, 28)
    want = []
    for cut in cuts:
        for sid, g in y[y["ds"] <= cut].groupby("series_id"):
            want.append((sid, cut, float(np.abs(g["y"].to_numpy()[-28:]).mean())))
    assert len(got) == len(want) == 7  # series 7 starts after the first two cut-offs
    for (sid, cut, scale), row in zip(want, got.itertuples(), strict=True):
        assert (row.series_id, row.cutoff) == (sid, cut) and row.scale == pytest.approx(scale, rel=1e-12)


def test_load_reads_only_usable_regressors(tmp_path):
    db = make_store(tmp_path, n_skus=2, days=120, regressors=True)
    add_future_regressor(db, "promo", pd.date_range("2026-11-02", periods=7))
    vid = start(SCI, "naive", horizon=7, folds=1, db=db)
    run = steps.load(vid, db)
    assert list(run.raw_regs.columns) == ["series_id", "ds", "promo"]  # price and temperature never loaded
    assert set(run.coverage) == {"price", "promo", "temperature"}
    steps.regressors(run)
    assert run.used == ["promo"] and run.regs["promo"].notna().all()
    assert {w.split("'")[1] for w in run.warns} == {"price", "temperature"}
    assert run.y["series_id"].nunique() == 2 and is_sorted(run.y)
