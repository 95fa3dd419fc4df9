"""One definition per metric: the DuckDB macros of core.store.metrics against core.metrics on the
same rows (to 1e-9), and the WAPE of one version agreeing between Compare (core.registry),
Monitor (core.monitoring) and metrics.py, including a version whose backtest WAPE is above 1
(accuracy then negative, never floored in data) and groups with no sales."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import metrics, monitoring, registry
from core.access import Actor
from core.store import session
from core.store.db import raw
from tests.registry_fixtures import fake_version, load_demo

SCI = Actor("sam", "scientist")


def _rows(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 400
    df = pd.DataFrame({"g": rng.integers(0, 6, n), "y": rng.poisson(5, n).astype(float),
                       "yhat": rng.gamma(2, 3, n)})
    df.loc[df.index % 37 == 0, "y"] = -2.0  # returns: |y| in the denominator matters
    df.loc[df.index % 29 == 0, "yhat"] = np.nan  # a pair without a forecast is left out
    df.loc[df["g"] == 5, "y"] = 0.0  # a group with no sales: WAPE undefined
    df["lo"], df["hi"] = df["yhat"] * 0.7, df["yhat"] * 1.3
    df.loc[df.index % 11 == 0, "hi"] = np.nan
    return df


def test_macros_equal_python_on_the_same_rows(db):
    df = _rows()
    with session(db) as s:  # a real store: the macros come with its schema
        con = raw(s)
        con.register("rows_in", df)
        sql = con.execute(
            """SELECT g, metric_wape(y, yhat), metric_accuracy(y, yhat), metric_bias(y, yhat),
                      metric_coverage(y, lo, hi), metric_abs_err(y, yhat), metric_abs_y(y, yhat)
               FROM rows_in GROUP BY g ORDER BY g"""
        ).fetchall()
        con.unregister("rows_in")
    for g, wape, acc, bias, cov, ae, ay in sql:
        part = df[df["g"] == g]
        py = metrics.compute(part["y"], part["yhat"], part["lo"], part["hi"])
        if g == 5:
            assert wape is None and acc is None and np.isnan(py["wape"]) and np.isnan(py["accuracy"])
            continue
        assert wape == pytest.approx(py["wape"], abs=1e-9)
        assert acc == pytest.approx(py["accuracy"], abs=1e-9)
        assert bias == pytest.approx(py["bias"], abs=1e-9)
        assert ae == pytest.approx(py["abs_err"], abs=1e-9) and ay == pytest.approx(py["abs_y"], abs=1e-9)
        assert wape == pytest.approx(metrics.wape_of(ae, ay), abs=1e-9)
        have = part["hi"].notna() & part["yhat"].notna()
        inside = (part["y"] >= part["lo"]) & (part["y"] <= part["hi"])
        assert cov == pytest.approx(float(inside[have].mean()), abs=1e-9)


def test_display_is_the_only_floor():
    assert metrics.display_accuracy(-0.4) == 0.0 and metrics.display_accuracy(0.8) == 0.8
    assert metrics.display_accuracy(None) is None and metrics.display_accuracy(float("nan")) is None


def test_one_wape_across_compare_monitor_and_metrics_above_one(db, tmp_path):
    load_demo(db, tmp_path, SCI, n_skus=3, n_stores=2, days=60)
    good = fake_version(db, 0.2)
    bad = fake_version(db, lambda sku: 1.5 if sku.endswith("1") else 0.3)  # WAPE 1.5 for one SKU
    registry.promote(SCI, bad, "worse on purpose", override_reason="test", db=db)
    _actuals_arrive(db)

    with session(db) as s:
        rows = raw(s).execute(
            """SELECT se.sku, b.fold, b.ds, sum(b.y) AS y, sum(b.yhat) AS yhat
               FROM chosen_backtests([?]) b JOIN series se USING (series_id) GROUP BY ALL""",
            [bad]).df()
    py = {sku: metrics.compute(g["y"], g["yhat"])["wape"] for sku, g in rows.groupby("sku")}
    assert max(py.values()) > 1  # the case a floored accuracy could never show

    cmp = registry.compare(db, [good, bad]).table.set_index("sku")[f"wape_{bad}"]
    mon = monitoring.sku_accuracy(db, window=4, grain="day").set_index("sku")["backtest_wape"]
    cd = monitoring.concept_drift(db, window=4, grain="day").set_index("sku")["backtest_wape"]
    for sku, w in py.items():
        assert cmp[sku] == pytest.approx(w, abs=1e-9)
        assert mon[sku] == pytest.approx(w, abs=1e-9)
        assert cd[sku] == pytest.approx(w, abs=1e-9)  # concept drift reads WAPE itself
    lb = registry.leaderboard(db).set_index("version")
    pooled = metrics.pooled(raw_backtests(db, bad))["wape"]
    assert lb.loc[bad, "wape"] == pytest.approx(pooled, abs=1e-9)
    assert lb.loc[bad, "accuracy"] == pytest.approx(1 - pooled, abs=1e-9)


def _actuals_arrive(db, zero_sku: str | None = None):
    """Actuals for the active forecast's dates (5 a day; 0 for zero_sku), uploaded."""
    from tests.monitor_helpers import ingest_frame

    with session(db) as s:
        fc = raw(s).execute("SELECT sku, store, ds AS date FROM active_forecasts").df()
    fc["units"] = np.where(fc["sku"] == zero_sku, 0.0, 5.0)
    ingest_frame(db, fc, SCI)


def raw_backtests(db, version_id: int) -> pd.DataFrame:
    with session(db) as s:
        return raw(s).execute(
            "SELECT y, yhat, yhat_lower, yhat_upper FROM chosen_backtests([?])", [version_id]).df()


def test_no_sales_in_the_window_is_undefined_not_perfect(db, tmp_path):
    """A SKU whose actuals in the window are all zero: WAPE and accuracy are missing in SQL and
    Python alike (not 100%, not 0%)."""
    frame = load_demo(db, tmp_path, SCI, n_skus=2, n_stores=1, days=60)
    vid = fake_version(db, 0.2)
    registry.promote(SCI, vid, "go", db=db)
    zero = frame["sku"].min()
    _actuals_arrive(db, zero)
    acc = monitoring.sku_accuracy(db, window=4, grain="week").set_index("sku")
    assert np.isnan(acc.loc[zero, "wape"]) and np.isnan(acc.loc[zero, "accuracy"])
    assert np.isnan(metrics.compute(np.zeros(7), np.ones(7))["wape"])
    assert acc.drop(index=zero)["accuracy"].notna().all() and len(frame)
