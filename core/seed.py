"""First start: fill an empty store with the demo data so a newcomer sees a living dashboard.

The history goes in first, with the price/promo/temperature plan for the eight weeks after it;
then a forecast version is trained over those eight weeks and promoted, and stock and
replenishment policies are loaded (so the Replenishment page has orders to show); then the first
four of them arrive as 'new actuals', the way a daily feed would deliver them. Monitoring has four
weeks to judge and the published forecast still runs four weeks past the last sales, as a
forecast in service does (a version ending with the last actual would plan nothing).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path

import pandas as pd

from core.access import Actor, require
from core.demo import DemoSpec, future_plan, generate, recent_end, split_recent
from core.ingest import ingest
from core.store import sales, session

Say = Callable[[str], None]
# The demo version's horizon: the weeks that arrive as actuals plus as many still ahead. Set by
# seed_demo for the steps it runs (their signature is fixed: tests swap them).
_HORIZON: ContextVar[int | None] = ContextVar("demo_horizon", default=None)


def is_empty(db: str | os.PathLike | None = None) -> bool:
    with session(db) as s:
        return sales.counts(s)["rows"] == 0


def seed_demo(actor: Actor, db: str | os.PathLike | None = None, spec: DemoSpec | None = None,
              say: Say = print) -> None:
    require(actor, "upload")
    require(actor, "promote")  # the seed also trains and promotes a first version
    spec = spec or DemoSpec(end=recent_end())
    frame = generate(spec)
    history, recent = split_recent(frame, spec.shift_days)
    with tempfile.TemporaryDirectory() as tmp:
        hist_path = Path(tmp) / "demo_history.parquet"
        recent_path = Path(tmp) / "demo_recent_actuals.parquet"
        history.to_parquet(hist_path, index=False)
        recent.to_parquet(recent_path, index=False)
        plan_path = Path(tmp) / "demo_plan.parquet"
        ahead = future_plan(frame, spec.shift_days)
        plan = pd.concat([recent, ahead], ignore_index=True).assign(units=None)
        plan.to_parquet(plan_path, index=False)
        say(f"Loading demo history: {len(history):,} rows ...")
        ingest(hist_path, actor, db=db)
        say("Loading the price, promo and temperature plan for the next weeks ...")
        ingest(plan_path, actor, db=db)  # known future regressor values, no units
        token = _HORIZON.set(2 * spec.shift_days)
        try:
            for step in AFTER_HISTORY:
                step(actor, db, say)
        finally:
            _HORIZON.reset(token)
        say(f"Loading the last {spec.shift_days} days as new actuals ...")
        ingest(recent_path, actor, db=db)


def _train(actor: Actor, db: str | os.PathLike | None, say: Say) -> None:
    """train_for_demo's models and folds over the demo's horizon (history end to the plan's end)."""
    from core.training import train

    horizon = _HORIZON.get()
    say(f"Training a first forecast for the next {horizon} days (seasonal naive vs scikit-learn, "
        "best per series) ...")
    vid = train(actor, "best", horizon=horizon, folds=2, options={"models": "naive,sklearn"}, db=db)
    say(f"Version {vid} trained.")


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
