"""Per-SKU accuracy is computed once per page run (core.store.db.memo inside a unit): Monitor's
headline, table and worklist ask for the same numbers; the result equals the uncached one,
callers cannot spoil it for each other, and a write in the run makes it recomputed."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from core import config, monitoring
from core.store import monitoring as ms
from core.store import session, unit
from core.store.db import _shared, raw
from tests import test_monitoring

built = test_monitoring.built  # the module-scoped store with an active version and actuals


@pytest.fixture
def store(built, db):
    shutil.copy(built[0], db)
    return db


def _counting(monkeypatch) -> list[int]:
    calls = [0]
    real = ms.window_accuracy

    def counted(*a, **k):
        calls[0] += 1
        return real(*a, **k)

    monkeypatch.setattr(ms, "window_accuracy", counted)
    return calls


def test_accuracy_once_per_unit_and_same_numbers(store, monkeypatch):
    plain = monitoring.sku_accuracy(store)
    _shared.clear()  # count from a cold process-wide cache
    calls = _counting(monkeypatch)
    mon = monitoring.Monitoring(store)
    with unit(store):
        info = mon.active()
        a = mon.accuracy(4, "week", "sku", None, config.ACCURACY_THRESHOLD)
        mon.headline(info, 4, "week", config.ACCURACY_THRESHOLD)
        a["accuracy"] = 0.0  # a page changing its copy
        b = mon.accuracy(4, "week", "sku", None, config.ACCURACY_THRESHOLD)
    assert calls[0] == 1
    pd.testing.assert_frame_equal(b, plain)
    # outside a unit (another session, the CLI) the process-wide cache serves it while the store
    # is unchanged (tests/test_read_cache.py); a write makes the next read compute again
    monitoring.sku_accuracy(store)
    monitoring.sku_accuracy(store)
    assert calls[0] == 1
    with session(store, write=True) as s:
        raw(s).execute("UPDATE settings SET value = value || '' WHERE key = 'freq'")
    monitoring.sku_accuracy(store)
    assert calls[0] == 2


def test_a_write_in_the_unit_forgets_cached_reads(store):
    with unit(store):
        before = monitoring.sku_accuracy(store)
        with session(store, write=True) as s:
            raw(s).execute("DELETE FROM monitor_errors WHERE series_id IN "
                           "(SELECT series_id FROM series WHERE sku = ?)", [before["sku"].iloc[0]])
            # the errors' per-SKU rollup changes with them (core.store.monitoring.sync_errors)
            raw(s).execute("DELETE FROM monitor_sku_periods WHERE sku = ?", [before["sku"].iloc[0]])
        after = monitoring.sku_accuracy(store)
    assert len(after) == len(before) - 1


def test_alerts_read_once_per_unit_and_forgotten_on_acknowledge(store, monkeypatch, manager):
    import core.monitoring as mon_pkg

    calls = [0]
    real = mon_pkg.alerts

    def counted(*a, **k):
        calls[0] += 1
        return real(*a, **k)

    monkeypatch.setattr(mon_pkg, "alerts", counted)
    mon = monitoring.Monitoring(store)
    with unit(store):
        live = mon.alerts(["open", "acknowledged"])
        assert mon.alerts(["open", "acknowledged"]) == live and calls[0] == 1
        live[0]["status"] = "spoiled"  # a caller's change stays its own
        first = mon.alerts(["open", "acknowledged"])[0]
        assert first["status"] == "open"
        mon.acknowledge(manager, first["id"], "seen")
        again = {a["id"]: a for a in mon.alerts(["open", "acknowledged"])}
    assert calls[0] == 2 and again[first["id"]]["status"] == "acknowledged"
