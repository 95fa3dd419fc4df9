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
    with session(db, write=True) as s:
        raw(s).execute("UPDATE settings SET value = '' WHERE key = ?", [ms._BT_KEY])


def test_rollup_equals_the_raw_backtest(store):
    with session(store) as s:
        vid = raw(s).execute("SELECT version_id FROM active").fetchone()[0]
        assert ms._rollup_version(s) == vid  # the promotion's write path built it
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
        assert ms._rollup_version(s) is not None
