"""Keeps what the planning pages read current on the write paths that change its inputs: the
Forecast view's actuals (core.forecast_view.refresh) after an upload or deletion of sales, and
those, the fleet's replenishment proposals (core.inventory.proposals.refresh) and the policy
replay's totals (core.inventory.simulate.refresh) after a promotion or rollback. Stock, policy
and override writes refresh the proposals (and stock/policy the replays) themselves.

Registered as an `ingest.AFTER_INGEST` hook on import (core.ingest imports this module, as it
does core.rollups); core.registry calls `after_promote`. A failure never fails the write: the
reads see the kept rows are behind and compute instead.
"""

from __future__ import annotations

from core import ingest
from core.access import Actor, require


def after_ingest(result, actor: Actor, db=None) -> bool:
    """The ingest / deletion hook: only whoever may change sales runs it. True when the view's
    actuals are kept current."""
    require(actor, "upload")
    if getattr(result, "known", {}).get("active_version", 0) is None:
        return False  # nothing is served yet: the first promotion makes the view's actuals
    from core import forecast_view

    return forecast_view.refresh(db)


def after_promote(actor: Actor, db=None) -> tuple[bool, bool, bool]:
    """After the active version changed (promotion, rollback): the coming weeks, the
    proposals' forecasts and the replayed backtests moved. Whether the view's actuals, the
    proposals and the policy replays are kept."""
    require(actor, "upload")
    from core import forecast_view
    from core.inventory import proposals, simulate

    return forecast_view.refresh(db), proposals.refresh(db), simulate.refresh(db)


if after_ingest not in ingest.AFTER_INGEST:
    ingest.AFTER_INGEST.append(after_ingest)
