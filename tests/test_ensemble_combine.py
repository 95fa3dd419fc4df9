"""ensemble.combine's array path (same members everywhere, each member's rows one aligned block)
gives the merge-and-groupby path's frame to the bit, and falls back to it when rows do not
line up. The array path is what keeps best-of's choice within memory at 100,000 series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.models import ensemble


def backtest_rows(models: list[str], n_series: int = 50, folds: int = 3, h: int = 5, seed: int = 0) -> pd.DataFrame:
    """Rows the way core.backtest makes them: model by model, fold by fold, series by series;
    large and small values (so that a plain sum and a compensated one differ), some NaN."""
    rng = np.random.default_rng(seed)
    frames = []
    for m in models:
        for f in range(folds):
            cut = pd.Timestamp("2025-01-01") + pd.Timedelta(days=h * f)
            sid = np.repeat(np.arange(n_series, dtype=np.int32) * 3 + 1, h)
            ds = np.tile(pd.date_range(cut + pd.Timedelta(days=1), periods=h).to_numpy(), n_series)
            yhat = rng.normal(0, 1, len(sid)) * 10.0 ** rng.integers(-8, 9, len(sid))
            yhat[rng.random(len(sid)) < 0.05] = np.nan
            frames.append(pd.DataFrame({"series_id": sid, "model": m, "fold": f, "cutoff": cut, "ds": ds,
                                        "y": np.arange(len(sid), dtype=float) + f, "yhat": yhat,
                                        "yhat_lower": yhat - 1e-9, "yhat_upper": yhat * 3.3}))
    return pd.concat(frames, ignore_index=True)


def merged(frames, mem, method, keys, monkeypatch):
    monkeypatch.setattr(ensemble, "_combine_aligned", lambda *a: None)
    return ensemble.combine(frames, mem, method, keys)


@pytest.mark.parametrize("members", [("a", "b"), ("c", "a", "b"), ("a", "b", "c", "d")])
def test_array_path_equals_the_merge_to_the_bit(members, monkeypatch):
    bt = backtest_rows(["a", "b", "c", "d"])
    sids = np.sort(bt["series_id"].unique())
    mem = pd.Series([members] * (len(sids) - 3), index=sids[3:], dtype=object)  # 3 series left out
    fast = ensemble.combine(bt, mem, "mean", ["fold", "ds"])
    assert ensemble._combine_aligned(bt, mem, ["fold", "ds"]) is not None  # the array path ran
    slow = merged(bt, mem, "mean", ["fold", "ds"], monkeypatch)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert set(fast["series_id"]) == set(sids[3:])


def test_rows_that_do_not_line_up_go_through_the_merge(monkeypatch):
    bt = backtest_rows(["a", "b"])
    sids = np.sort(bt["series_id"].unique())
    mem = pd.Series([("a", "b")] * len(sids), index=sids, dtype=object)
    shuffled = bt.sample(frac=1, random_state=2).reset_index(drop=True)  # models interleaved
    assert ensemble._combine_aligned(shuffled, mem, ["fold", "ds"]) is None
    short = bt.drop(index=bt.index[(bt["model"] == "b")][:3]).reset_index(drop=True)  # b misses rows
    assert ensemble._combine_aligned(short, mem, ["fold", "ds"]) is None
    per_series = mem.copy()
    per_series.iloc[0] = ("b",)
    assert ensemble._combine_aligned(bt, per_series, ["fold", "ds"]) is None
    for frames, m in ((shuffled, mem), (short, mem), (bt, per_series)):
        pd.testing.assert_frame_equal(ensemble.combine(frames, m, "mean", ["fold", "ds"]),
                                      merged(frames, m, "mean", ["fold", "ds"], monkeypatch))
