"""Monitor's worklist as work someone does: an assignee and a snooze date per SKU (x store),
and one acknowledge for every open alert of the row. The ranked rows themselves come from
`core.monitoring.report.worklist`; this module adds who owns each row and hides the snoozed ones
until their date, so the list holds only what needs a decision today.

Every write takes the acting user, checks `acknowledge_alert` (the manager's right to act on
alerts) and is recorded in `worklist_events` (alert acknowledgements also in `alert_events`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd

from core import text
from core.access import Actor, require
from core.errors import NotFound, ValidationError
from core.monitoring.alerts import alert_json
from core.monitoring.report import worklist as ranked
from core.store import monitoring as ms
from core.store import session
from core.store import worklist as ws

PERMISSION = "acknowledge_alert"
MAX_SNOOZE_DAYS = 90  # longer than a quarter is not a snooze but a rule change
MAX_ASSIGNEE = 60
ALL_STORES = "all stores"  # how alert_json and the worklist name the SKU level


def _key(store: str) -> str:
    return ms.SKU_LEVEL if store in (ALL_STORES, ms.SKU_LEVEL) else store


def _today() -> date:
    return datetime.now(UTC).date()


def states(db=None) -> pd.DataFrame:
    """sku, store ('all stores' at SKU level), assignee, snooze_until of every row ever touched."""
    with session(db) as s:
        df = ws.items(s)
    df["store"] = df["store"].replace({ms.SKU_LEVEL: ALL_STORES})
    return df


def rows(live: list[dict], acc: pd.DataFrame, rank: str = "units", db=None,
         today: date | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(shown, snoozed): the ranked worklist with each row's assignee and snooze date; rows
    snoozed past `today` move to `snoozed` and come back on their date by themselves."""
    acc = acc.assign(store=acc["store"].replace({ms.SKU_LEVEL: ALL_STORES})) if "store" in acc else acc
    wl = ranked(live, acc, rank)  # same store names on both sides, or SKU-level rows lose their accuracy
    st = states(db)[["sku", "store", "assignee", "snooze_until"]]
    wl = wl.merge(st, on=["sku", "store"], how="left")
    wl["assignee"] = wl["assignee"].fillna("")
    until = pd.to_datetime(wl["snooze_until"])
    asleep = until.notna() & (until > pd.Timestamp(today or _today()))
    wl["snooze_until"] = [d.date() if pd.notna(d) else None for d in until]
    return wl[~asleep].reset_index(drop=True), wl[asleep].reset_index(drop=True)


def assign(actor: Actor, sku: str, store: str, assignee: str, db=None) -> None:
    """Give the row to someone (empty text: nobody)."""
    require(actor, PERMISSION)
    who = text.strip_bidi(assignee or "").strip()
    if len(who) > MAX_ASSIGNEE:
        raise ValidationError(f"Assignee: at most {MAX_ASSIGNEE} characters (got {len(who)}).")
    _write(actor, sku, store, "assignee", who or None, db)


def snooze(actor: Actor, sku: str, store: str, until: date | None, db=None,
           today: date | None = None) -> None:
    """Hide the row until `until` (None: wake it now). The date must lie after today and within
    MAX_SNOOZE_DAYS: a past date would do nothing, a far one would bury the SKU."""
    require(actor, PERMISSION)
    t = today or _today()
    if until is not None and not (t < until <= t + timedelta(days=MAX_SNOOZE_DAYS)):
        raise ValidationError(
            f"Snooze until: pick a date after {t} and at most {MAX_SNOOZE_DAYS} days ahead (got {until}).")
    _write(actor, sku, store, "snooze_until", until, db)


def _write(actor: Actor, sku: str, store: str, field: str, value, db=None) -> None:
    with session(db, write=True) as s:
        ws.set_item(s, sku, _key(store), field, value, actor.name, datetime.now(UTC))


def acknowledge(actor: Actor, sku: str, store: str, note: str, db=None) -> list[dict]:
    """Acknowledge every open alert of the row in one transaction, with the same note: the
    planner decided about the SKU, not about each statistic that fired on it."""
    require(actor, PERMISSION)
    note = (note or "").strip()
    if not note:
        raise ValidationError("Add a note saying what is being done (e.g. 'order reduced, watching').")
    key, at = _key(store), datetime.now(UTC)
    with session(db, write=True) as s:
        names = {r.id: r.name for r in ms.list_rules(s)}
        hits = [a for a in ms.live_alerts(s) if a.sku == sku and a.store == key and a.status == "open"]
        if not hits:
            raise NotFound(f"No open alert for {sku} at {store}: nothing to acknowledge.")
        for a in hits:
            a.status, a.acknowledged_by, a.acknowledged_at, a.ack_note, a.updated_at = (
                "acknowledged", actor.name, at, note, at)
            ms.save_alert(s, a)
            ms.add_event(s, a.id, "acknowledged", actor.name, note, a.value)
        ws.add_event(s, sku, key, "acknowledged", actor.name, ",".join(str(a.id) for a in hits), note, at)
        return [alert_json(a, names.get(a.rule_id)) for a in hits]


def history(db=None) -> pd.DataFrame:
    """Every assignment, snooze and acknowledge, newest first."""
    with session(db) as s:
        df = ws.events(s)
    df["store"] = df["store"].replace({ms.SKU_LEVEL: ALL_STORES})
    return df
