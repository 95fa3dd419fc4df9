"""The stored live errors (`monitor_errors`: the active version's forecast beside each actual
that arrived) and what is known about the active version.

Writes happen only in the write paths that change the inputs: ingest (the AFTER_INGEST hook),
promote / rollback (core.registry, inside their own transaction) and the explicit `refresh`
(`shelfcast monitor`). Reads never bring the table up to date themselves; `active()` says
whether it is current, so a page can say so instead of writing.
"""

from __future__ import annotations

import json

from core.access import Actor, require
from core.monitoring.windows import as_date
from core.store import datasets, session
from core.store import monitoring as ms

WRITE_PERMISSION = "acknowledge_alert"  # the lowest role that may change alert state (manager)
FAILURE_KEY = "monitor.last_failure"  # why the last evaluation after a write failed ('' = fine)


def refresh(actor: Actor, db=None) -> str:
    """Bring monitor_errors in step with the active version and the uploads ('rebuilt',
    'refreshed' or 'current')."""
    require(actor, WRITE_PERMISSION)
    with session(db, write=True) as s:
        return ms.sync_errors(s)


def active(db=None) -> dict | None:
    """The active version: version_id, kind, created_by, created_at, freq, since,
    forecast_start, forecast_end, last_actual (dates), backtest_wape and backtest_accuracy
    (1 − WAPE, not floored), errors_current (False while the stored errors lag an upload or a
    promotion) and last_failure (why the last evaluation failed, or None). None when no version
    is active."""
    with session(db) as s:
        info = ms.active_info(s)
        state = ms.errors_state(s)
        failure = datasets.get_setting(s, FAILURE_KEY) or None
    if info is None:
        return None
    metrics = json.loads(info.pop("metrics") or "{}")
    wape = metrics.get("wape")
    info["backtest_wape"] = wape
    info["backtest_accuracy"] = None if wape is None else 1 - wape
    for k in ("forecast_start", "forecast_end", "last_actual"):
        info[k] = as_date(info[k])
    a, built, synced, last = state
    info["errors_current"] = a == built and (synced or 0) == (last or 0)
    info["last_failure"] = failure
    return info
