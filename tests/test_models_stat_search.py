"""The reduced searches of ETS (staged: no trend, then a trend, then damping) and Theta (STM v
DOTM): on constructed series where the answer is known they choose what the library's full
search chooses, each series is served by its winner, and ETS fits at most ten years. Real fits,
small data; no timing here (bench/stat_cpu.py measures the CPU)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import models
from core.models.base import FitContext

N = 96  # months


def monthly(**shapes: np.ndarray) -> pd.DataFrame:
    ds = pd.date_range("2016-01-01", periods=N, freq="MS")
    return pd.concat([pd.DataFrame({"series_id": i, "ds": ds, "y": y})
                      for i, y in enumerate(shapes.values(), start=1)], ignore_index=True)


def known() -> tuple[pd.DataFrame, dict[int, str]]:
    """Series with an obvious trend and season letter each: (frame, series_id -> "trend season")."""
    rng = np.random.default_rng(11)
    t = np.arange(N)
    season = 25 * np.sin(2 * np.pi * t / 12)
    df = monthly(trend=100 + 4 * t + rng.normal(0, 3, N),
                 flat=200 + rng.normal(0, 8, N),
                 seasonal=200 + season + rng.normal(0, 3, N),
                 both=100 + 4 * t + season + rng.normal(0, 3, N))
    return df, {1: "AN", 2: "NN", 3: "NS", 4: "AS"}


def letters(form: str) -> str:
    """Trend and season of an ETS form, the season as S whether additive or multiplicative."""
    return form[1] + ("N" if form[2] == "N" else "S")


def forms(fitted) -> dict[int, str]:
    return {sid: fitted.form_of(m) for sid, m in fitted.chosen().items()}


def test_the_staged_search_gives_a_trend_and_a_season_where_the_data_have_them():
    df, want = known()
    staged = forms(models.make("ets", "MS").fit(df, None, FitContext()))
    full = forms(models.make("ets", "MS", {"ets_search": "full"}).fit(df, None, FitContext()))
    assert {sid: letters(f) for sid, f in staged.items()} == want
    assert {sid: letters(f) for sid, f in full.items()} == want  # the library agrees: the answer is known
    assert all(f[3] == "N" for sid, f in staged.items() if f[1] == "N")  # damping only with a trend


def test_each_series_is_served_by_its_winning_form():
    """A staged fit forecasts exactly what a fit of the chosen form alone forecasts."""
    df, _ = known()
    fitted = models.make("ets", "MS").fit(df, None, FitContext())
    got = fitted.predict(12, None, FitContext())
    assert sum(len(u) for u in fitted.serves_) == df["series_id"].nunique()  # one server each
    for sid, form in forms(fitted).items():
        alone = models.make("ets", "MS", {"ets_model": form[:3], "ets_damped": "yes" if form[3] == "D" else "no"})
        want = alone.fit_predict(df[df["series_id"] == sid], 12, None, FitContext())
        pd.testing.assert_frame_equal(got[got["series_id"] == sid].reset_index(drop=True), want)


def test_multiplicative_forms_only_for_positive_series():
    rng = np.random.default_rng(5)
    t = np.arange(N)
    lumpy = np.where(rng.random(N) < 0.3, 0.0, 50 + 30 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, N))
    df = monthly(zeros=lumpy)
    fitted = models.make("ets", "MS").fit(df, None, FitContext())
    assert not any("M" in m.model for sf in fitted.fitted_ for m in sf.models if m.model != "ZNN")
    assert forms(fitted)[1][0] == "A"
    assert np.isfinite(fitted.predict(12, None, FitContext())["yhat"]).all()


def test_ets_fits_the_last_ten_years_unless_told_otherwise():
    """Fifteen years whose first five sat at another level: the default fit is the fit of the
    last 120 months; ets_max_years=0 (all history) or max_history give others."""
    rng = np.random.default_rng(2)
    ds = pd.date_range("2000-01-01", periods=180, freq="MS")
    y = np.r_[np.full(60, 900.0), np.full(120, 100.0)] + rng.normal(0, 5, 180)
    df = pd.DataFrame({"series_id": 1, "ds": ds, "y": y})
    fc = models.make("ets", "MS").fit_predict(df, 12, None, FitContext())
    last = models.make("ets", "MS").fit_predict(df.tail(120), 12, None, FitContext())
    pd.testing.assert_frame_equal(fc, last)
    assert models.make("ets", "MS").history() == 120 and models.make("ets", "D").history() == 3650
    assert models.make("ets", "MS", {"max_history": 48}).history() == 48
    assert models.make("ets", "MS", {"ets_max_years": 0}).history() == 0
    everything = models.make("ets", "MS", {"ets_max_years": 0}).fit_predict(df, 12, None, FitContext())
    assert not np.allclose(everything["yhat"], fc["yhat"])
    for bad in ({"ets_max_years": -1}, {"ets_search": "some"}):
        with pytest.raises(models.ModelError):
            models.make("ets", "MS", bad)


def test_theta_chooses_between_stm_and_dotm_by_the_librarys_criterion():
    df, _ = known()
    fitted = models.make("theta", "MS").fit(df, None, FitContext())
    chosen = forms(fitted)
    assert set(chosen.values()) <= {"STM", "DOTM"}
    for sid, variant in chosen.items():  # the winner has the lower in-sample MSE of the two
        part = df[df["series_id"] == sid]
        mse = {v: models.make("theta", "MS", {"theta_model": v}).fit(part, None, FitContext())
               .chosen()[sid].model_["mse"] for v in ("STM", "DOTM")}
        assert variant == min(mse, key=mse.get)
    every = models.make("theta", "MS", {"theta_model": "all"}).fit(df, None, FitContext())
    assert [m.model for sf in every.fitted_ for m in sf.models] == [None]  # the library's 4-way search


def test_drift_is_seen_through_a_season():
    """The trend step's gate: seasonal differences of a trending seasonal series drift, those
    of a seasonal series without a trend, or of noise, do not (the forms without a season miss
    a trend under a strong season; these differences do not)."""
    from core.models.statistical import drifts

    df, want = known()
    uid = df["series_id"].to_numpy() - 1
    got = drifts(uid, df["y"].to_numpy(float), 12)
    assert got.tolist() == [w[0] == "A" for w in want.values()]
    assert drifts(np.zeros(5, int), np.arange(5.0), 12).tolist() == [False]  # shorter than a season
