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
    with pytest.raises(ModelError, match="not a valid float"):
        make("prophet", "D", {"changepoint_prior_scale": "lots"})
    with pytest.raises(ModelError, match="country code"):
        make("prophet", "D", {"country_holidays": "Narnia"})
    assert make("prophet", "D", {"country_holidays": "gb"}).options["country_holidays"] == "GB"
