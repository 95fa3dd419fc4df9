"""Demand classes on constructed series whose class is known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.models.classify import classify


def frame(series: dict[int, np.ndarray], shuffle: bool = True) -> pd.DataFrame:
    parts = [pd.DataFrame({"series_id": sid, "ds": pd.date_range("2023-01-01", periods=len(y)),
                           "y": np.asarray(y, float)}) for sid, y in series.items()]
    df = pd.concat(parts, ignore_index=True)
    return df.sample(frac=1, random_state=0) if shuffle else df


def constructed(n: int = 200) -> dict[int, np.ndarray]:
    rng = np.random.default_rng(0)
    every = np.ones(n, bool)
    one_in_three = np.arange(n) % 3 == 0
    steady = lambda: rng.uniform(9, 11, n)  # noqa: E731 - CV² ~ 0.003
    wild = lambda: rng.choice([1.0, 40.0], n)  # noqa: E731 - CV² ~ 0.9
    return {
        1: np.where(every, steady(), 0),  # smooth
        2: np.where(every, wild(), 0),  # erratic
        3: np.where(one_in_three, steady(), 0),  # intermittent
        4: np.where(one_in_three, wild(), 0),  # lumpy
        5: np.r_[steady()[: n - 30], np.zeros(30)],  # sold every day, then nothing for 30 days
        6: np.zeros(n),  # never sold
    }


def test_each_class_on_its_constructed_series():
    out = classify(frame(constructed()), season=7, obsolete_after=28).set_index("series_id")
    assert out["class"].to_dict() == {1: "smooth", 2: "erratic", 3: "intermittent", 4: "lumpy",
                                      5: "obsolete", 6: "obsolete"}
    assert out.loc[1, "adi"] == pytest.approx(1.0)
    assert out.loc[3, "adi"] == pytest.approx(200 / 67)
    assert out.loc[1, "cv2"] < 0.01 and out.loc[2, "cv2"] > 0.49
    assert np.isinf(out.loc[6, "adi"]) and np.isnan(out.loc[6, "cv2"])


def test_measures_match_their_definitions_per_series():
    rng = np.random.default_rng(5)
    series = {i: rng.poisson(0.4 + i / 3, 90) * rng.integers(1, 4, 90) for i in range(12)}
    out = classify(frame(series), season=7, obsolete_after=0).set_index("series_id")
    for i, y in series.items():
        nz = y[y > 0]
        assert out.loc[i, "adi"] == pytest.approx(len(y) / len(nz))
        assert out.loc[i, "cv2"] == pytest.approx((nz.std() / nz.mean()) ** 2)


def test_obsolete_off_and_window_limits_the_history():
    s = constructed()
    off = classify(frame(s), season=7, obsolete_after=0).set_index("series_id")["class"]
    assert off[5] == "smooth" and off[6] == "lumpy"
    # an old burst of sales outside the window does not count
    y = np.r_[np.full(300, 5.0), np.where(np.arange(100) % 4 == 0, 5.0, 0)]
    recent = classify(frame({9: y}), season=7, obsolete_after=0, window=100)
    assert recent["class"].item() == "intermittent" and recent["adi"].item() == pytest.approx(4.0)
    full = classify(frame({9: y}), season=7, obsolete_after=0, window=400)
    assert full["class"].item() == "smooth" and full["adi"].item() == pytest.approx(400 / 325)


def test_cut_offs_are_syntetos_boylan():
    # ADI exactly 1.32 is intermittent (>=), just below is not; one sale size means CV² = 0.
    n = 132
    y = np.zeros(n)
    y[np.round(np.linspace(0, n - 1, 100)).astype(int)] = 5
    out = classify(frame({1: y}), season=7, obsolete_after=0)
    assert out["adi"].item() == pytest.approx(1.32) and out["class"].item() == "intermittent"
    y2 = y.copy()
    y2[np.flatnonzero(y == 0)[0]] = 5
    assert classify(frame({1: y2}), season=7, obsolete_after=0)["class"].item() == "smooth"
