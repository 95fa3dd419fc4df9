"""Replenishment maths checked by hand against the textbook periodic-review formulas, and the
policy simulation on constructed series whose outcome is known in advance."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.inventory import policy, proposals, simulate

Z95 = 1.6448536269514722  # standard normal 95% quantile (tables)
Z90 = 1.2815515655446004


def _inputs(n: int, **kw) -> pd.DataFrame:
    base = {"series_id": np.arange(1, n + 1), "sku": [f"S{i}" for i in range(n)], "store": "A",
            "as_of": pd.Timestamp("2026-01-01"), "on_hand": 0.0, "policy_source": "sku"}
    base.update({k: v for k, v in policy.DEFAULTS.items()})
    base.update(kw)
    return pd.DataFrame(base)


def _normal_forecast(n_series: int, mean: float, sd: float, horizon: int = 14) -> pd.DataFrame:
    """A forecast frame whose 80% band is that of N(mean, sd) in every period."""
    return pd.DataFrame({
        "series_id": np.repeat(np.arange(1, n_series + 1), horizon),
        "ds": np.tile(pd.date_range("2026-01-02", periods=horizon), n_series),
        "yhat": mean, "yhat_lower": mean - Z90 * sd, "yhat_upper": mean + Z90 * sd,
    })


def test_safety_stock_and_order_match_the_textbook_formula():
    # demand N(10, 3²) per period, lead time 2, review 1, 95% service, 12 on hand, packs of 6
    out = proposals.propose(_normal_forecast(1, 10, 3), _inputs(1, lead_time=2, review_period=1,
                                                              service_level=0.95, on_hand=12.0,
                                                              pack_size=6.0))
    r = out.iloc[0]
    ss = Z95 * 3 * math.sqrt(3)
    assert r["safety_stock"] == pytest.approx(ss, abs=1e-6)
    assert r["order_up_to"] == pytest.approx(30 + ss, abs=1e-6)
    assert r["reorder_point"] == pytest.approx(20 + Z95 * 3 * math.sqrt(2), abs=1e-6)
    assert r["order_qty"] == pytest.approx(math.ceil((30 + ss - 12) / 6) * 6, abs=1e-6)  # 30 = 5 packs
    assert r["order_qty"] == 30 and "5 packs of 6" in r["reason"]
    # P(lead-time demand N(20, 18) > 12)
    assert r["stockout_risk"] == pytest.approx(1 - 0.5 * math.erfc(-(12 - 20) / (3 * math.sqrt(2)) / math.sqrt(2)),
                                               abs=1e-9)


def test_no_order_when_on_hand_covers_the_order_up_to_level():
    out = proposals.propose(_normal_forecast(1, 10, 3), _inputs(1, lead_time=2, on_hand=100.0))
    assert out.loc[0, "order_qty"] == 0 and out.loc[0, "reason"].startswith("No order")


def test_quantile_columns_win_over_the_band():
    fc = _normal_forecast(1, 10, 3)
    fc["yhat"] = 999.0  # the point forecast is not the median here: P50 must be used
    fc["p10"], fc["p50"], fc["p90"] = 20 - Z90 * 5, 20.0, 20 + Z90 * 5
    out = proposals.propose(fc, _inputs(1, lead_time=1, review_period=1, on_hand=0.0))
    assert out.loc[0, "safety_stock"] == pytest.approx(Z95 * 5 * math.sqrt(2), abs=1e-6)
    assert out.loc[0, "order_up_to"] == pytest.approx(40 + Z95 * 5 * math.sqrt(2), abs=1e-6)
    assert out.loc[0, "spread_source"] == "quantiles P10-P90"


def test_backtest_errors_stand_in_for_a_missing_band():
    fc = _normal_forecast(2, 10, 3)
    fc[["yhat_lower", "yhat_upper"]] = np.nan
    out = proposals.propose(fc, _inputs(2, lead_time=3, review_period=1),
                            fallback_sd=pd.Series({1: 2.0, 2: 4.0}))
    assert out["safety_stock"].tolist() == pytest.approx([Z95 * 2 * 2, Z95 * 4 * 2], abs=1e-6)
    assert set(out["spread_source"]) == {"backtest errors"}


def test_short_forecast_repeats_its_last_period():
    fc = _normal_forecast(1, 10, 3, horizon=2)
    out = proposals.propose(fc, _inputs(1, lead_time=4, review_period=2))
    assert out.loc[0, "order_up_to"] == pytest.approx(60 + Z95 * 3 * math.sqrt(6), abs=1e-6)


@pytest.mark.parametrize(("need", "pack", "minimum", "expected"), [
    (0.0, 6, 0, 0.0),            # nothing needed: no order, even with a minimum
    (-5.0, 6, 10, 0.0),
    (0.5, 6, 0, 6.0),            # a part of a pack is a whole pack
    (12.0, 6, 0, 12.0),          # exactly 2 packs
    (12.000000001, 6, 0, 12.0),  # float noise does not add a pack
    (13.0, 6, 0, 18.0),
    (3.0, 6, 20, 24.0),          # minimum order 20, rounded up to packs of 6
    (3.0, 1, 20, 20.0),
    (25.0, 1, 20, 25.0),         # above the minimum: as needed
])
def test_round_order_to_packs_and_minimum(need, pack, minimum, expected):
    got = policy.round_order(np.array([need]), np.array([pack], float), np.array([minimum], float))
    assert got[0] == pytest.approx(expected)


def test_reason_names_the_minimum_order():
    out = proposals.propose(_normal_forecast(1, 1, 0.0001), _inputs(1, on_hand=0.0, min_order=50.0, pack_size=10.0))
    assert out.loc[0, "order_qty"] == 50 and "minimum order 50 applied" in out.loc[0, "reason"]


# --- simulation on constructed series ---------------------------------------------------------

def _backtest(y: np.ndarray, yhat: np.ndarray, folds: int = 1) -> pd.DataFrame:
    """Backtest rows for series 1..n over T days, folds of equal length; band = the forecast."""
    n, T = y.shape
    fold = np.repeat(np.arange(folds), T // folds)
    return pd.DataFrame({
        "series_id": np.repeat(np.arange(1, n + 1), T), "fold": np.tile(fold, n),
        "ds": np.tile(pd.date_range("2026-01-01", periods=T), n),
        "y": y.ravel().astype(float), "yhat": yhat.ravel().astype(float),
        "yhat_lower": yhat.ravel().astype(float), "yhat_upper": yhat.ravel().astype(float),
    })


def test_perfect_forecast_serves_every_unit_with_no_overstock():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 30, size=(4, 60))
    for lead, review in ((1, 1), (2, 3), (0, 7)):
        res = simulate.replay(_backtest(y, y), _inputs(4, lead_time=lead, review_period=review))
        assert res["fill_rate"] == pytest.approx(1.0), (lead, review)
        assert res["availability"] == 1.0 and res["lost_units"] == 0
        assert res["avg_overstock"] == pytest.approx(0.0, abs=1e-9), (lead, review)
        assert res["demand"] == y.sum()


def test_forecast_of_zero_never_orders_and_loses_every_sale():
    y = np.full((2, 20), 5)
    res = simulate.replay(_backtest(y, np.zeros_like(y)), _inputs(2))
    assert res["orders"] == 0 and res["fill_rate"] == 0 and res["lost_units"] == 200
    assert res["stockout_periods"] == 40 and res["availability"] == 0


def test_double_forecast_serves_all_and_holds_the_excess_as_overstock():
    # constant demand 10, forecast 20, L=1, R=1. Day 0 starts with the forecast lead-time demand
    # (20), orders up to 40 (20 more), sells 10: ends with 10. From day 1 it receives the order,
    # tops up to 40 again (10 more) and ends each day with 20. The next day's delivery covers
    # the next day, so every unit left at the end of a day is overstock: (10 + 9·20) / 10 = 19.
    y = np.full((1, 10), 10)
    res = simulate.replay(_backtest(y, 2 * y), _inputs(1, lead_time=1, review_period=1,
                                                       unit_cost=2.0, price=5.0))
    assert res["fill_rate"] == 1.0
    assert res["avg_overstock"] == pytest.approx(19.0) and res["avg_inventory"] == pytest.approx(19.0)
    assert res["avg_overstock_value"] == pytest.approx(38.0) and res["orders"] == 10
    assert res["lost_value"] == 0.0


def test_simulation_never_uses_a_later_folds_forecast():
    """Orders placed in fold 0 must not change when fold 1 (made at a later cut-off) forecasts
    something else, although fold 0's last orders cover days of fold 1."""
    y = np.full((1, 20), 10)
    calm, wild = y.copy(), y.copy()
    wild[:, 10:] = 1000
    res = [simulate.replay(_backtest(y, f, folds=2), _inputs(1, lead_time=2, review_period=1), trajectory=True)
           for f in (calm, wild)]
    a, b = (r["trajectory"]["ordered"].to_numpy() for r in res)
    assert np.array_equal(a[:10], b[:10]) and a[:10].sum() > 0
    assert b[10] > 900  # from fold 1's own cut-off on, its forecast is used
    # and in fold 0 the days past its end are covered by its own mean (10), not by 1000
    assert a[9] == 10


def test_apply_overrides_units_pct_overlap_and_store():
    from core.inventory.overrides import apply_overrides

    days = pd.date_range("2026-12-01", periods=4)
    frame = pd.DataFrame({"sku": "A", "store": np.repeat(["X", "Y"], 4), "ds": np.tile(days, 2),
                          "yhat": 10.0, "yhat_lower": 8.0, "yhat_upper": 13.0, "p90": 13.0},
                         index=[0] * 8)  # duplicate index labels must not matter
    ov = pd.DataFrame({
        "id": [1, 2, 3], "sku": "A", "store": [None, "X", "Y"],
        "start_date": [days[0], days[1], days[3]], "end_date": [days[3], days[2], days[3]],
        "mode": ["pct", "units", "units"], "value": [50.0, 4.0, 0.0],
        "created_at": pd.Timestamp("2026-11-01", tz="UTC"), "ended_at": pd.NaT})
    out = apply_overrides(frame, ov)
    x, y = out[out["store"] == "X"], out[out["store"] == "Y"]
    # X: day 0 +50%; days 1-2 the newer units override (4, band moved by -6, floored at 0); day 3 +50%
    assert x["yhat"].tolist() == [15.0, 4.0, 4.0, 15.0]
    assert x["yhat_lower"].tolist() == [12.0, 2.0, 2.0, 12.0]
    assert x["p90"].tolist() == [19.5, 7.0, 7.0, 19.5]
    assert x["override_id"].tolist() == [1, 2, 2, 1]
    # Y: +50% except the last day, set to 0 units (band floored at 0)
    assert y["yhat"].tolist() == [15.0, 15.0, 15.0, 0.0] and y["yhat_upper"].iloc[3] == 3.0
    assert y["yhat_lower"].iloc[3] == 0.0
    as_export = apply_overrides(frame.rename(columns={"ds": "date"}), ov)  # forecasts.EXPORT_COLS
    assert as_export["yhat"].tolist() == out["yhat"].tolist()
    untouched = apply_overrides(frame.assign(sku="B"), ov)
    assert untouched["override_id"].isna().all() and untouched["yhat"].eq(10).all()
