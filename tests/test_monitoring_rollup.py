"""The backtest rollup (monitor_backtests, monitor_backtest_pooled): built by the write path that
changes the active version, it gives exactly the numbers of the raw backtest rows, and a read
never builds it (a stale rollup is bypassed, not refreshed)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from core.store import monitoring as ms
from core.store import session
from core.store.db import raw
from tests import test_monitoring
from tests.monitor_helpers import content_hash

built = test_monitoring.built  # the module-scoped store with an active version and actuals


@pytest.fixture
def store(built, db):
    shutil.copy(built[0], db)
    return db


def _numbers(db) -> dict:
    out = {}
    with session(db) as s:
        sku = raw(s).execute("SELECT min(sku) FROM series").fetchone()[0]
        for grain in ("week", "month"):
            for level in ("sku", "series"):
                out[grain, level] = ms.backtest_wape(s, grain, level)
                out[grain, level, "one"] = ms.backtest_wape(s, grain, level, skus=[sku])
            out[grain] = ms.backtest_total(s, grain)
            out[grain, "cat"] = ms.backtest_total(s, grain, cats=[sku.split("-")[0]])
    return out


def _stale(db) -> None:
    """Both backtest rollups behind (the per-SKU one is built from the other)."""
    with session(db, write=True) as s:
        raw(s).execute("UPDATE settings SET value = '' WHERE list_contains(?, key)", [[ms._BT_KEY, ms._BT_SKU_KEY]])


def test_rollup_equals_the_raw_backtest(store):
    with session(store) as s:
        vid = raw(s).execute("SELECT version_id FROM active").fetchone()[0]
        assert ms._kept_version(s, ms._BT_KEY) == vid  # the promotion's write path built it
        assert raw(s).execute("SELECT count(*) FROM monitor_backtests").fetchone()[0] > 0
    fast = _numbers(store)
    _stale(store)
    slow = _numbers(store)
    for k, v in fast.items():
        if isinstance(v, pd.DataFrame):
            assert len(v) > 0
            pd.testing.assert_frame_equal(v, slow[k], rtol=1e-12)
        else:
            assert v == pytest.approx(slow[k], rel=1e-12)


def test_a_read_never_builds_the_rollup(store):
    _stale(store)
    before = content_hash(store)
    _numbers(store)
    assert content_hash(store) == before
    with session(store, write=True) as s:  # the next write path (evaluate, promote) builds it
        ms.sync_errors(s)
        assert ms._kept_version(s, ms._BT_KEY) is not None


# ---- monitor_sku_periods: the stored errors per SKU and period (issue 13)

def _accuracy_numbers(db) -> dict:
    out = {}
    with session(db) as s:
        sku = raw(s).execute("SELECT min(sku) FROM series").fetchone()[0]
        last = raw(s).execute("SELECT max(ds) - 9 FROM monitor_errors").fetchone()[0]
        for grain in ("week", "month"):
            start = raw(s).execute("SELECT date_trunc(?, ?::DATE)::DATE", [grain, last]).fetchone()[0]
            out[grain, "window", "mid-period"] = ms.window_accuracy(s, last, grain, "sku")  # raw rows
            for flt in ({}, {"skus": [sku]}, {"cats": [sku.split("-")[0]]}):
                key = (grain, repr(flt))
                out[key, "period"] = ms.accuracy_by_period(s, grain, "sku", **flt)
                out[key, "rolling"] = ms.rolling_accuracy(s, 2, grain, "sku", **flt)
                out[key, "total"] = ms.total_by_period(s, grain, **flt)
            out[grain, "window"] = ms.window_accuracy(s, start, grain, "sku")
    return out


def _periods_stale(db) -> None:
    with session(db, write=True) as s:
        raw(s).execute("UPDATE settings SET value = 'old' WHERE key = ?", [ms._PER_KEY])


def test_sku_periods_equal_the_raw_errors_and_follow_each_refresh(store):
    with session(store) as s:
        assert ms._periods_current(s)  # built by the write path that built the errors
        assert raw(s).execute("SELECT count(*) FROM monitor_sku_periods").fetchone()[0] > 0
    fast = _accuracy_numbers(store)
    _periods_stale(store)
    before = content_hash(store)
    slow = _accuracy_numbers(store)
    assert content_hash(store) == before  # a read bypasses a stale rollup, never builds it
    for k, v in fast.items():
        assert len(v) > 0, k
        pd.testing.assert_frame_equal(v, slow[k], check_dtype=False, rtol=1e-12)
    with session(store, write=True) as s:  # the next write path builds it again
        assert ms.sync_errors(s) == "current"
        assert ms._periods_current(s)
        # new actuals change the errors: the rollup follows in the same transaction
        raw(s).execute("UPDATE monitor_errors SET y = y + 1 WHERE ds = (SELECT max(ds) FROM monitor_errors)")
        raw(s).execute("UPDATE settings SET value = '0' WHERE key = ?", [ms._D_KEY])
        ms.sync_errors(s)
        assert ms._periods_current(s)
    pd.testing.assert_frame_equal(_accuracy_numbers(store)["week", "window"],
                                  _raw_window(store), check_dtype=False, rtol=1e-12)


def _raw_window(db) -> pd.DataFrame:
    _periods_stale(db)
    return _accuracy_numbers(db)["week", "window"]
