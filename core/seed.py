"""First start: fill an empty store with the demo data so a newcomer sees a living dashboard.

The history goes in first; then a forecast version is trained and promoted, and stock and
replenishment policies are loaded (so the Replenishment page has orders to show); then the last four
weeks arrive as 'new actuals', the way a daily feed would deliver them, so monitoring has
something to show.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from core.access import Actor, require
from core.demo import DemoSpec, generate, split_recent
from core.ingest import ingest
from core.store import sales, session

Say = Callable[[str], None]


def is_empty(db: str | os.PathLike | None = None) -> bool:
    with session(db) as s:
        return sales.counts(s)["rows"] == 0


def seed_demo(actor: Actor, db: str | os.PathLike | None = None, spec: DemoSpec | None = None,
              say: Say = print) -> None:
    require(actor, "upload")
    require(actor, "promote")  # the seed also trains and promotes a first version
    spec = spec or DemoSpec()
    frame = generate(spec)
    history, recent = split_recent(frame, spec.shift_days)
    with tempfile.TemporaryDirectory() as tmp:
        hist_path = Path(tmp) / "demo_history.parquet"
        recent_path = Path(tmp) / "demo_recent_actuals.parquet"
        history.to_parquet(hist_path, index=False)
        recent.to_parquet(recent_path, index=False)
        plan_path = Path(tmp) / "demo_plan.parquet"
        recent.assign(units=None).to_parquet(plan_path, index=False)
        say(f"Loading demo history: {len(history):,} rows ...")
        ingest(hist_path, actor, db=db)
        say("Loading the price, promo and temperature plan for the next weeks ...")
        ingest(plan_path, actor, db=db)  # known future regressor values, no units
        for step in AFTER_HISTORY:
            step(actor, db, say)
        say(f"Loading the last {spec.shift_days} days as new actuals ...")
        ingest(recent_path, actor, db=db)


def _train(actor: Actor, db: str | os.PathLike | None, say: Say) -> None:
    from core.training import train_for_demo

    train_for_demo(actor, db, say)


def _promote(actor: Actor, db: str | os.PathLike | None, say: Say) -> None:
    from core.registry import promote_for_demo

    promote_for_demo(actor, db, say)


def _inventory(actor: Actor, db: str | os.PathLike | None, say: Say) -> None:
    from core.inventory.demo import load_demo_inventory

    say("Loading demo stock on hand and replenishment policies ...")
    load_demo_inventory(actor, db)


# Steps run between the history and the recent actuals: a first version goes into service, so
# the recent actuals arrive against published forecasts (and monitoring has work to do). The
# demo stock is dated where the promoted forecast starts, so it comes after the promotion.
AFTER_HISTORY: list[Callable[[Actor, str | os.PathLike | None, Say], None]] = [_train, _promote, _inventory]
