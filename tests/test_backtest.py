"""Metrics arithmetic and the rolling-origin backtest's cut-offs (no look-ahead)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import backtest, metrics
from core.models.base import FitContext
from core.models.data import complete
from core.models.naive import SeasonalNaive
from tests.train_helpers import demo_frame, long_frame


def test_metrics_known_values():
    y = np.array([10.0, 0.0, 5.0, 5.0])
    yhat = np.array([8.0, 1.0, 5.0, 7.0])
    m = metrics.compute(y, yhat, yhat - 1, yhat + 1, scale=2.0)
    assert m["wape"] == pytest.approx(5 / 20)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["mape"] == pytest.approx((0.2 + 0 + 0.4) / 3)  # the zero actual is skipped ...
    assert m["mape_skipped"] == 1  # ... and counted
    assert m["bias"] == pytest.approx(1 / 20)
    assert m["rmse"] == pytest.approx(np.sqrt((4 + 1 + 0 + 4) / 4))
    assert m["mase"] == pytest.approx(1.25 / 2.0)
    assert m["coverage"] == pytest.approx(2 / 4)  # 10 vs [7,9] out, 0 vs [0,2] in, 5 in, 5 vs [6,8] out
    assert m["smape"] == pytest.approx(np.mean([4 / 18, 2, 0, 4 / 12]))


def test_pooled_wape_is_ratio_of_sums_not_mean_of_series():
    bt = pd.DataFrame({"series_id": [1, 1, 2, 2], "model": "m", "fold": 0,
                       "y": [100.0, 100.0, 1.0, 1.0], "yhat": [90.0, 110.0, 2.0, 0.0],
                       "yhat_lower": np.nan, "yhat_upper": np.nan})
    p = metrics.pooled(bt)
    assert p["wape"] == pytest.approx(22 / 202)
    per = metrics.per_series(bt)
    assert set(per[per["fold"].isna()]["wape"].round(3)) == {0.1, 1.0}
    assert p["coverage"] is None  # no intervals, no coverage claimed


@pytest.mark.parametrize("freq,h,step", [("D", 7, pd.Timedelta(days=7)), ("W-SUN", 4, pd.Timedelta(weeks=4))])
def test_cutoffs_step_back_by_horizon(freq, h, step):
    last = pd.Timestamp("2026-11-01")
    cuts = backtest.cutoffs(last, h, 3, freq)
    assert cuts == [last - 3 * step, last - 2 * step, last - step]


def test_cutoffs_monthly():
    cuts = backtest.cutoffs(pd.Timestamp("2026-10-01"), 2, 2, "MS")
    assert cuts == [pd.Timestamp("2026-06-01"), pd.Timestamp("2026-08-01")]


class Spy(SeasonalNaive):
    """Seasonal naive that records what each fit was shown."""

    seen: list = []

    def fit_predict(self, train, horizon, regs, ctx):
        Spy.seen.append((train["ds"].max(), None if regs is None else regs["ds"].max()))
        return super().fit_predict(train, horizon, regs, ctx)


def test_folds_never_see_the_future():
    y = complete(long_frame(demo_frame(n_skus=2, days=120)), "D")
    regs = y[["series_id", "ds"]].assign(promo=1.0)
    regs = pd.concat([regs, regs.assign(ds=regs["ds"] + pd.Timedelta(days=60))])  # plan far ahead
    cuts = backtest.cutoffs(y["ds"].max(), 7, 3, "D")
    Spy.seen = []
    bt = backtest.run(lambda: Spy("D"), y, regs, "D", 7, cuts, FitContext())
    assert [s[0] for s in Spy.seen] == cuts
    for (train_end, reg_end), cut in zip(Spy.seen, cuts, strict=True):
        assert train_end <= cut
        assert reg_end == cut + pd.Timedelta(days=7)  # regressors: only up to the fold's window
    for fold, cut in enumerate(cuts):
        rows = bt[bt["fold"] == fold]
        assert (rows["ds"] > cut).all() and (rows["ds"] <= cut + pd.Timedelta(days=7)).all()
        assert len(rows) == 2 * 7
    # the forecast for a fold does not change when the future is altered
    y2 = y.copy()
    y2.loc[y2["ds"] > cuts[0], "y"] = 1e6
    bt2 = backtest.run(lambda: SeasonalNaive("D"), y2, None, "D", 7, cuts[:1], FitContext())
    bt1 = backtest.run(lambda: SeasonalNaive("D"), y, None, "D", 7, cuts[:1], FitContext())
    assert np.allclose(bt1["yhat"], bt2["yhat"])


def test_naive_scale_uses_seasonal_difference():
    train = pd.DataFrame({"series_id": 1, "ds": pd.date_range("2026-01-01", periods=14),
                          "y": [1.0, 2, 3, 4, 5, 6, 7, 2, 3, 4, 5, 6, 7, 8]})
    assert metrics.naive_scale(train, 7)[1] == pytest.approx(1.0)
