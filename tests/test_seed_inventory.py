"""The demo seed leaves stock and policies behind, dated where the promoted forecast starts, so
the Replenishment page has orders on first start."""

from __future__ import annotations

import pandas as pd

from core import registry, seed
from core.access import SYSTEM
from core.demo import DemoSpec
from core.inventory import proposals
from core.store import inventory as inv
from core.store import session
from core.store.db import raw
from tests.registry_fixtures import fake_version


def test_inventory_step_runs_after_the_promotion():
    steps = seed.AFTER_HISTORY
    assert seed._inventory in steps and steps.index(seed._inventory) > steps.index(seed._promote)


def test_seed_loads_demo_stock_and_policies(db, monkeypatch):
    def quick_version(actor, db_, say):  # the real training is covered by the engine's tests
        registry.promote(actor, fake_version(db_, 0.1), "demo", db=db_)

    monkeypatch.setattr(seed, "AFTER_HISTORY", [quick_version, seed._inventory])
    said: list[str] = []
    seed.seed_demo(SYSTEM, db, DemoSpec(n_skus=4, n_stores=2, days=90, shift_days=14), say=said.append)
    assert any("stock on hand and replenishment policies" in m for m in said)
    with session(db) as s:
        kinds = [r[0] for r in raw(s).execute("SELECT kind FROM inventory_datasets ORDER BY id").fetchall()]
        start = inv.active_forecast_start(s)
    assert kinds == ["policy", "stock"]
    p = proposals.proposals(SYSTEM, db)
    assert len(p) == 8 and p["on_hand"].notna().all() and (p["policy_source"] != "default").all()
    # dated the day before the promoted forecast starts, though 14 more days of actuals arrived
    assert (pd.to_datetime(p["as_of"]) == pd.Timestamp(start) - pd.Timedelta(days=1)).all()
    assert (p["order_qty"] > 0).any()
