"""Each model on small real-shaped data at daily, weekly and monthly grain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.metrics import compute
from core.models import make
from core.models.base import FitContext, ModelError
from core.models.data import complete
from tests.train_helpers import demo_frame, long_frame

GRAINS = {"D": (400, 14), "W-SUN": (730, 8), "MS": (3 * 365, 6)}


@pytest.fixture(scope="module")
def frames():
    out = {}
    for freq, (days, h) in GRAINS.items():
        y = complete(long_frame(demo_frame(n_skus=3, days=days, freq=freq)), freq)
        origin = sorted(y["ds"].unique())[-h - 1]
        out[freq] = (y[y["ds"] <= origin], y[y["ds"] > origin], h, pd.Timestamp(origin))
    return out


@pytest.mark.parametrize("freq", list(GRAINS))
@pytest.mark.parametrize("name,opts", [("naive", {}), ("sklearn", {}),
                                       ("sklearn", {"estimator": "ridge"}), ("prophet", {})])
def test_model_forecasts_the_horizon_on_the_calendar(frames, freq, name, opts):
    train, test, h, origin = frames[freq]
    fc = make(name, freq, opts).fit_predict(train, h, None, FitContext())
    want = pd.date_range(origin, periods=h + 1, freq=freq)[1:]
    assert len(fc) == 3 * h
    for _, g in fc.groupby("series_id"):
        assert list(g["ds"]) == list(want)
    assert np.isfinite(fc["yhat"]).all() and (fc["yhat"] >= 0).all()
    assert (fc["yhat_lower"] <= fc["yhat"] + 1e-9).all() and (fc["yhat"] <= fc["yhat_upper"] + 1e-9).all()
    m = fc.merge(test, on=["series_id", "ds"])
    assert len(m) == len(fc)
    assert compute(m["y"], m["yhat"])["wape"] < 0.8  # a working model, not noise


def test_global_model_beats_naive_on_daily_data(frames):
    train, test, h, _ = frames["D"]
    w = {}
    for name in ("naive", "sklearn"):
        fc = make(name, "D").fit_predict(train, h, None, FitContext()).merge(test, on=["series_id", "ds"])
        w[name] = compute(fc["y"], fc["yhat"])["wape"]
    assert w["sklearn"] < w["naive"], w


@pytest.mark.parametrize("name", ["sklearn", "prophet"])
def test_same_data_same_forecast(frames, name):
    train, _, h, _ = frames["W-SUN"]
    a = make(name, "W-SUN", seed=3).fit_predict(train, h, None, FitContext())
    b = make(name, "W-SUN", seed=3).fit_predict(train, h, None, FitContext())
    pd.testing.assert_frame_equal(a, b)


def test_regressor_with_known_future_is_used(frames):
    train, _, h, origin = frames["D"]
    fut = pd.date_range(origin, periods=h + 1, freq="D")[1:]
    days = pd.DatetimeIndex(sorted(set(train["ds"]) | set(fut)))
    regs = pd.DataFrame([(s, d) for s in train["series_id"].unique() for d in days], columns=["series_id", "ds"])
    regs["promo"] = (regs["ds"].dt.day % 10 == 0).astype(float)
    ctx = FitContext(keep=True)
    make("sklearn", "D").fit_predict(train, h, regs, ctx)
    assert "promo" in ctx.explain["feature_importance"]
    fc = make("prophet", "D").fit_predict(train, h, regs, FitContext())
    assert len(fc) == 3 * h


def test_bad_options_are_refused_with_a_message():
    with pytest.raises(ModelError, match="estimator must be hgb or ridge"):
        make("sklearn", "D", {"estimator": "xgb"})
    with pytest.raises(ModelError, match="poisson needs transform"):
        make("sklearn", "D", {"loss": "poisson"})
    with pytest.raises(ModelError, match="diff_max_iter must be"):
        make("sklearn", "MS", {"diff_max_iter": "0"})
    with pytest.raises(ModelError, match="not a valid float"):
        make("prophet", "D", {"changepoint_prior_scale": "lots"})
    with pytest.raises(ModelError, match="country code"):
        make("prophet", "D", {"country_holidays": "Narnia"})
    assert make("prophet", "D", {"country_holidays": "gb"}).options["country_holidays"] == "GB"


def trending_monthly(n: int = 12, years: int = 6, seed: int = 0) -> pd.DataFrame:
    """Monthly series growing 8-30% a year with a yearly season and 5% noise: where repeating
    last year is always too low."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2018-01-01", periods=12 * years, freq="MS")
    t = np.arange(len(ds))
    rows = []
    for sid in range(1, n + 1):
        level, growth = rng.uniform(50, 500), rng.uniform(0.08, 0.3)
        season = 1 + 0.3 * np.sin(2 * np.pi * (t + rng.integers(12)) / 12)
        y = level * (1 + growth) ** (t / 12) * season * rng.normal(1, 0.05, len(t))
        rows.append(pd.DataFrame({"series_id": sid, "ds": ds, "y": y}))
    return pd.concat(rows, ignore_index=True)


def test_global_model_follows_a_trend_that_seasonal_naive_misses():
    y = trending_monthly()
    cut = y["ds"].max() - pd.DateOffset(months=12)
    train, test = y[y["ds"] <= cut], y[y["ds"] > cut]
    w = {}
    for name in ("naive", "sklearn"):
        fc = make(name, "MS").fit_predict(train, 12, None, FitContext()).merge(test, on=["series_id", "ds"])
        w[name] = compute(fc["y"], fc["yhat"])["wape"]
    assert w["sklearn"] < 0.55 * w["naive"], w  # the level-scaled model of before: 0.62x


def test_predict_leaves_the_fitted_model_as_it_was(frames):
    train, _, h, _ = frames["D"]
    model = make("sklearn", "D").fit(train, None, FitContext())
    first = model.predict(h, None, FitContext())
    longer = model.predict(2 * h, None, FitContext())
    again = model.predict(h, None, FitContext())
    pd.testing.assert_frame_equal(first, again)
    head = longer.groupby("series_id").head(h).reset_index(drop=True)
    pd.testing.assert_frame_equal(first, head)


def test_catalogue_names_every_kind_and_refuses_unknown_ones():
    from core import models

    assert set(models.LABELS) == set(models.KINDS) and all(models.LABELS.values())
    assert {"ets", "theta", "arima", "croston", "tsb", "adida", "imapa", "ensemble", "best"} <= set(models.KINDS)
    assert models.options("sklearn")["transform"] == "auto"
    assert "naive" in models.default_candidates() and "prophet" not in models.default_candidates()
    with pytest.raises(ModelError, match="Unknown model"):
        make("oracle", "D")


@pytest.mark.parametrize("name", ["ets", "theta", "croston", "tsb", "adida", "imapa"])
def test_registered_statistical_models_forecast(frames, name):
    """The models-stat branch's classes, found through the catalogue (skipped until merged)."""
    from core import models

    if not models.available(name):
        pytest.skip(f"{name} is not in this tree yet")
    train, test, h, _ = frames["D"]
    fc = make(name, "D").fit_predict(train, h, None, FitContext())
    assert len(fc) == 3 * h and np.isfinite(fc["yhat"]).all()


def test_global_model_targets_wape_on_skewed_unit_sales():
    """Over-dispersed daily sales, many zero days: the default absolute-error loss forecasts the
    median, which is what WAPE rewards; squared error chases the rare big days."""
    rng = np.random.default_rng(3)
    ds = pd.date_range("2024-01-01", periods=300, freq="D")
    rows = []
    for sid in range(1, 21):
        rate = rng.uniform(0.3, 3) * (1 + 0.5 * (ds.dayofweek >= 4))
        y = rng.poisson(rate * rng.gamma(0.5, 2, len(ds)))
        rows.append(pd.DataFrame({"series_id": sid, "ds": ds, "y": y.astype(float)}))
    y = pd.concat(rows, ignore_index=True)
    train, test = y[y["ds"] <= ds[-29]], y[y["ds"] > ds[-29]]
    w = {}
    for loss in ("auto", "squared_error"):
        fc = make("sklearn", "D", {"loss": loss}).fit_predict(train, 28, None, FitContext())
        got = fc.merge(test, on=["series_id", "ds"])
        w[loss] = compute(got["y"], got["yhat"])["wape"]
    assert w["auto"] < 0.9 * w["squared_error"], w


def test_global_model_beats_seasonal_naive_on_txhousing():
    """Real trending monthly data (../shared/data protocol: train to 2014-07, h = 12, the 40
    markets with all 12 holdout months): the global model must beat repeating last year. With 100
    boosting rounds on the differenced target it tied naive (0.0683 v 0.0683)."""
    from pathlib import Path

    f = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "txhousing_monthly.csv"
    if not f.exists():
        pytest.skip("shared real data not present")
    df = pd.read_csv(f, parse_dates=["month"]).dropna(subset=["sales"])
    df = df.assign(series_id=df.groupby("market").ngroup() + 1).rename(columns={"month": "ds", "sales": "y"})
    test = df[(df["ds"] > "2014-07-01") & (df["ds"] <= "2015-07-01")]
    n = test.groupby("series_id").size()
    keep = n[n == 12].index
    train = complete(df[(df["ds"] <= "2014-07-01") & df["series_id"].isin(keep)][["series_id", "ds", "y"]], "MS")
    test = test[test["series_id"].isin(keep)]
    w = {}
    for name in ("naive", "sklearn"):
        fc = make(name, "MS").fit_predict(train, 12, None, FitContext()).merge(test, on=["series_id", "ds"])
        assert len(fc) == 480
        w[name] = compute(fc["y"], fc["yhat"])["wape"]
    assert w["sklearn"] < 0.97 * w["naive"], w
