"""Statistical and intermittent models (statsforecast) on real fits: shapes and calendar, no
look-ahead, non-negative, fallbacks, options, and accuracy against seasonal naive where each
should win; on the shared real data, the reference figures of ../shared/data/README.md."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.metrics import compute
from core.models.base import Cancelled, FitContext, ModelError
from core.models.data import complete
from core.models.naive import SeasonalNaive
from core.models.statistical import STAT_NAMES, stat_model
from tests.train_helpers import demo_frame, long_frame

FAST = ("ets", "theta", "croston", "tsb", "adida", "imapa")  # arima: one test of its own (slow)
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def model(name: str, freq: str, **options):
    return stat_model(name)(freq, options)


def wape(fc: pd.DataFrame, test: pd.DataFrame) -> float:
    m = fc.merge(test, on=["series_id", "ds"])
    assert len(m) == len(fc)
    return compute(m["y"], m["yhat"])["wape"]


def seasonal_trend(n_series: int = 6, n: int = 72, h: int = 12, seed: int = 0):
    """Monthly series with a level, a trend and a multiplicative-looking season, plus noise:
    seasonal naive lags the trend by a year, the smoothing models should not."""
    rng = np.random.default_rng(seed)
    t = np.arange(n + h)
    ds = pd.date_range("2015-01-01", periods=n + h, freq="MS")
    parts = []
    for i in range(n_series):
        y = (50 + 10 * i) * (1 + 0.012 * t) * (1 + 0.25 * np.sin(2 * np.pi * t / 12 + i))
        y = y + rng.normal(0, 2, n + h)
        parts.append(pd.DataFrame({"series_id": i + 1, "ds": ds, "y": y}))
    df = pd.concat(parts, ignore_index=True)
    origin = ds[n - 1]
    return df[df["ds"] <= origin], df[df["ds"] > origin], h, origin


def intermittent_frame(n_series: int = 30, n: int = 300, h: int = 28, seed: int = 1):
    """Daily slow movers: a sale on ~1 day in 4, of 1-3 units, no weekly pattern."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2023-01-01", periods=n + h, freq="D")
    y = (rng.random((n_series, n + h)) < 0.25) * rng.integers(1, 4, (n_series, n + h))
    df = pd.DataFrame({"series_id": np.repeat(np.arange(1, n_series + 1), n + h),
                       "ds": np.tile(ds, n_series), "y": y.ravel().astype(float)})
    origin = ds[n - 1]
    return df[df["ds"] <= origin], df[df["ds"] > origin], h, origin


@pytest.fixture(scope="module")
def daily():
    y = complete(long_frame(demo_frame(n_skus=3, days=300)), "D")
    origin = sorted(y["ds"].unique())[-15]
    return y[y["ds"] <= origin], y[y["ds"] > origin], 14, pd.Timestamp(origin)


@pytest.mark.parametrize("name", FAST)
@pytest.mark.parametrize("case", ["daily", "monthly"])
def test_forecasts_the_horizon_on_the_calendar(name, case, daily):
    train, test, h, origin = daily if case == "daily" else seasonal_trend(3)
    freq = "D" if case == "daily" else "MS"
    done = []
    fc = model(name, freq).fit_predict(train.sample(frac=1, random_state=2), h, None,
                                       FitContext(progress=done.append))
    assert sum(done) == 3  # every series reported once
    assert list(fc.columns) == ["series_id", "ds", "yhat", "yhat_lower", "yhat_upper"]
    want = pd.date_range(origin, periods=h + 1, freq=freq)[1:]
    assert len(fc) == 3 * h
    for _, g in fc.groupby("series_id"):
        assert list(g["ds"]) == list(want)  # starts the period after the origin: nothing seen
    assert np.isfinite(fc[["yhat", "yhat_lower", "yhat_upper"]]).all().all()
    assert (fc["yhat_lower"] >= 0).all()
    assert (fc["yhat_lower"] <= fc["yhat"] + 1e-9).all() and (fc["yhat"] <= fc["yhat_upper"] + 1e-9).all()
    assert wape(fc, test) < 0.6


@pytest.mark.parametrize("name", ["ets", "theta"])
def test_beats_seasonal_naive_on_trending_seasonal_data(name):
    train, test, h, _ = seasonal_trend()
    naive = wape(SeasonalNaive("MS").fit_predict(train, h, None, FitContext()), test)
    got = wape(model(name, "MS").fit_predict(train, h, None, FitContext()), test)
    assert got < 0.06, got  # a simple seasonal series: a working model is close
    assert got < naive * 0.8, (got, naive)


@pytest.mark.parametrize("name", ["croston", "tsb", "adida", "imapa"])
def test_intermittent_models_beat_seasonal_naive_on_slow_movers(name):
    """They forecast the mean rate of demand, so they win on squared error (WAPE rewards the
    median, 0, on such series); repeating last week's random sales doubles the error variance."""
    train, test, h, _ = intermittent_frame()

    def mse(fc):
        m = fc.merge(test, on=["series_id", "ds"])
        return float(((m["y"] - m["yhat"]) ** 2).mean())

    naive = mse(SeasonalNaive("D").fit_predict(train, h, None, FitContext()))
    got = mse(model(name, "D").fit_predict(train, h, None, FitContext()))
    assert got < naive * 0.7, (got, naive)


def test_arima_fits_and_beats_naive_on_trend():
    train, test, h, _ = seasonal_trend(3, n=48)
    fc = model("arima", "MS", max_p=2, max_q=2).fit_predict(train, h, None, FitContext())
    assert len(fc) == 3 * h and np.isfinite(fc["yhat"]).all()
    naive = wape(SeasonalNaive("MS").fit_predict(train, h, None, FitContext()), test)
    assert wape(fc, test) < naive


@pytest.mark.parametrize("name", FAST)
def test_no_look_ahead_a_level_shift_after_the_origin_is_not_foreseen(name):
    ds = pd.date_range("2023-01-01", periods=120, freq="D")
    y = np.r_[np.full(100, 10.0), np.full(20, 100.0)] + np.tile([0, 1], 60)
    df = pd.DataFrame({"series_id": 1, "ds": ds, "y": y})
    fc = model(name, "D").fit_predict(df[df["ds"] <= ds[99]], 20, None, FitContext())
    assert fc["yhat"].max() < 20


@pytest.mark.parametrize("name", ["ets", "theta", "croston"])
def test_short_series_fall_back_to_naive_and_say_so(name):
    train, _, h, _ = seasonal_trend(2)
    short = pd.DataFrame({"series_id": 99, "ds": train["ds"].drop_duplicates().iloc[-1:],
                          "y": [7.0]})
    ctx = FitContext()
    fc = model(name, "MS").fit_predict(pd.concat([train, short]), h, None, ctx)
    assert (fc.loc[fc["series_id"] == 99, "yhat"] == 7.0).all()
    assert any("seasonal naive" in str(v) for v in ctx.explain.values()), ctx.explain
    assert fc["series_id"].nunique() == 3


def test_negative_history_is_not_clipped():
    train, _, h, _ = seasonal_trend(2)
    train = train.assign(y=train["y"] - 200)
    fc = model("ets", "MS").fit_predict(train, h, None, FitContext())
    assert (fc["yhat"] < 0).any()


def test_fit_once_predict_many_and_cancel_between_chunks():
    train, _, h, _ = seasonal_trend(2)
    m = model("theta", "MS").fit(train, None, FitContext())
    a, b = m.predict(h, None, FitContext()), m.predict(6, None, FitContext())
    pd.testing.assert_frame_equal(a.groupby("series_id").head(6).reset_index(drop=True), b)
    with pytest.raises(Cancelled):
        model("ets", "MS").fit(train, None, FitContext(should_cancel=lambda: True))


def test_options_change_the_fit_and_bad_ones_are_refused():
    train, test, h, _ = seasonal_trend(2)
    ann = model("ets", "MS", ets_model="ANN").fit_predict(train, h, None, FitContext())
    zzz = model("ets", "MS").fit_predict(train, h, None, FitContext())
    assert wape(ann, test) > wape(zzz, test)  # no season: worse on a seasonal series
    assert not np.allclose(model("tsb", "D", alpha_p="0.5").fit_predict(*_int(), None, FitContext())["yhat"],
                           model("tsb", "D").fit_predict(*_int(), None, FitContext())["yhat"])
    for name, opts in [("ets", {"ets_model": "XYZ"}), ("ets", {"ets_damped": "maybe"}), ("tsb", {"alpha_d": 0}),
                       ("croston", {"croston_variant": "fancy"}), ("theta", {"theta_model": "X"}), ("arima", {"max_p": 99}),
                       ("theta", {"season_length": -1}), ("tsb", {"alpha_p": "lots"})]:
        with pytest.raises(ModelError):
            model(name, "MS", **opts)
    assert model("ets", "MS", season_length="4").m == 4 and model("ets", "MS").m == 12
    with pytest.raises(ModelError):
        model("ets", "MS", max_history=-3)


def test_max_history_fits_on_the_last_periods_only():
    """A level that changed long ago: with the last 24 periods only, Theta sees just the new one."""
    ds = pd.date_range("2010-01-01", periods=96, freq="MS")
    df = pd.DataFrame({"series_id": 1, "ds": ds, "y": np.r_[np.full(72, 500.0), np.full(24, 10.0)]
                       + np.tile([0.0, 1.0], 48)})
    full = model("theta", "MS").fit_predict(df, 6, None, FitContext())
    recent = model("theta", "MS", max_history=24).fit_predict(df, 6, None, FitContext())
    assert recent["yhat"].between(5, 15).all(), recent["yhat"]
    assert not np.allclose(full["yhat"], recent["yhat"])


def _int():
    train, _, h, _ = intermittent_frame(5)
    return train, h


def test_every_name_has_a_class_and_option_names_do_not_collide():
    assert all(stat_model(n).name == n for n in STAT_NAMES) and stat_model("nope") is None
    # core.training gives one flat option dict to every model of a run
    from core.models.naive import SeasonalNaive
    from core.models.prophet_fleet import ProphetFleet
    from core.models.sklearn_global import SklearnGlobal

    seen: dict[str, str] = {}
    for cls in [stat_model(n) for n in STAT_NAMES] + [SeasonalNaive, SklearnGlobal, ProphetFleet]:
        for key in cls.OPTIONS:
            assert key in ("season_length", "max_history", "form_search") or key not in seen, (key, cls.name, seen.get(key))
            seen[key] = cls.name


@pytest.mark.skipif(not (DATA / "pizza_daily.csv").exists(), reason="shared data not present")
@pytest.mark.parametrize("name,ref", [("croston", 0.645), ("tsb", 0.661), ("adida", 0.659),
                                      ("imapa", 0.661)])
def test_pizza_matches_the_reference_figures(name, ref):
    """Protocol of ../shared/data/README.md: closed days removed, last 28 open days held out."""
    p = pd.read_csv(DATA / "pizza_daily.csv", parse_dates=["date"])
    days = np.sort(p["date"].unique())
    pos = pd.Series(pd.date_range("2020-01-01", periods=len(days)), index=days)
    df = pd.DataFrame({"series_id": pd.factorize(p["sku"], sort=True)[0], "ds": p["date"].map(pos),
                       "y": p["units"].astype(float)})
    origin = pos.iloc[-29]
    got = wape(model(name, "D").fit_predict(df[df["ds"] <= origin], 28, None, FitContext()),
               df[df["ds"] > origin])
    assert got == pytest.approx(ref, abs=0.005)


def test_no_jit_compile_per_process():
    """statsforecast 2.x fits in compiled C++: a fresh process pays no numba compile, so there is
    no JIT cache to keep for tests and CI. If a version that JIT-compiles (statsforecast 1.x)
    comes back, this fails: then set NIXTLA_NUMBA_CACHE=1 and NUMBA_CACHE_DIR in
    tests/conftest.py and .ci/run, or every test process recompiles for tens of seconds."""
    import os
    import subprocess
    import sys

    code = (
        "import sys, time\n"
        "from core.models.statistical import stat_model\n"
        "from core.models.base import FitContext\n"
        "from tests.train_helpers import demo_frame, long_frame\n"
        "from core.models.data import complete\n"
        "y = complete(long_frame(demo_frame(n_skus=2, days=120)), 'D')\n"
        "t = time.process_time()\n"
        f"for name in {FAST!r}:\n"
        "    stat_model(name)('D', {}).fit_predict(y, 7, None, FitContext())\n"
        "print(int('numba' in sys.modules), time.process_time() - t)\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(root)}, check=True)
    jit, cpu = out.stdout.split()
    assert jit == "0", "statsforecast now JIT-compiles with numba: enable its compile cache"
    assert float(cpu) < 10, f"first fits in a fresh process took {cpu} s CPU"
