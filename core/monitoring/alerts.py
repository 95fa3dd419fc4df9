"""Alert lifecycle: evaluation (rules -> alerts), acknowledge, history, and the write paths that
keep monitoring current (after an ingest, after a change of active version, after a rule edit).

Every function here that writes checks a permission that allows writing: evaluation needs the
manager's `acknowledge_alert` (a viewer running `shelfcast monitor` is refused), rule edits and
the webhook need `edit_alert_rules`. A failure of the evaluation that follows a write is logged
with an id, stored (shown on Monitor) and returned to the caller; it never undoes that write.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
import threading
import uuid
from dataclasses import asdict, dataclass, field

import numpy as np

from core import config, webhook
from core.access import Actor, require
from core.errors import NotFound, ValidationError
from core.monitoring import (
    promised,  # noqa: F401 - registers the relative accuracy rule kind
    shared,
)
from core.monitoring.errors import FAILURE_KEY, WRITE_PERMISSION, active
from core.monitoring.rules import Finding, Rule, ensure_default_rules, rule_row, rules
from core.store import datasets, session
from core.store import monitoring as ms
from core.store.base import now

log = logging.getLogger(__name__)


@dataclass
class Evaluation:
    """What one evaluation did: alerts opened (as alert_json), updated, resolved (ids)."""

    version_id: int | None
    opened: list[dict] = field(default_factory=list)
    updated: int = 0
    resolved: list[int] = field(default_factory=list)
    skipped: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


def _resolve(s, alert: ms.Alert, who: str, why: str) -> None:
    alert.status, alert.resolved_at, alert.updated_at = "resolved", now(), now()
    ms.save_alert(s, alert)
    ms.add_event(s, alert.id, "resolved", who, why, alert.value)


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.bool_):
        return bool(o)
    return str(o)


def evaluate(actor: Actor, db=None, notify: bool = True) -> Evaluation:
    """Bring the stored errors up to date, then apply every enabled rule to the active version:
    open an alert per new (rule, SKU, store), update the ones still firing, resolve those whose
    condition cleared (an alert of a replaced version says so). New alerts go to the
    webhook (if configured) in a background thread after the transaction commits."""
    require(actor, WRITE_PERMISSION)
    with shared.reads(db):
        return _evaluate(actor, db, notify)


def _prefetch_scipy(s) -> threading.Thread | None:
    """Import scipy.stats (the drift tests, ~0.7 s of CPU) on a thread while the errors are
    refreshed and the accuracy rules query DuckDB, which releases the GIL: after an upload the
    import was paid in full before the first drift test. Only when a data-drift rule will run
    (a version is active); the caller joins the thread before returning."""
    if "scipy.stats" in sys.modules or ms.errors_state(s)[0] is None:
        return None
    if not any(r.enabled and r.kind == "data_drift" for r in ms.list_rules(s)):
        return None
    t = threading.Thread(target=importlib.import_module, args=("scipy.stats",), daemon=True,
                         name="shelfcast-scipy-import")
    t.start()
    return t


def _evaluate(actor: Actor, db, notify: bool) -> Evaluation:
    with session(db, write=True) as s:
        prefetch = _prefetch_scipy(s)
        if ms.sync_errors(s) != "current":
            shared.forget()
        ensure_default_rules(s)
    info = active(db)
    vid = info["version_id"] if info else None
    has_errors = info is not None and info["last_actual"] is not None
    if info is None:
        ev = Evaluation(None, skipped="No version is active: promote a version to start monitoring.")
    elif not has_errors:
        ev = Evaluation(vid, skipped="No actuals have arrived for the active forecast yet.")
    else:
        ev = Evaluation(vid)
    # Data-quality kinds (needs_forecast False) look at the sales alone, so they run with or
    # without an active version; forecast kinds need live errors. Read first, then write.
    every = rules(db)
    found: dict[int, dict[tuple[str, str], Finding]] = {
        r.id: r.spec.findings(r, info, db) for r in every
        if r.enabled and (has_errors or not r.spec.needs_forecast)}
    kinds = {r.id: r.spec for r in every}
    with session(db, write=True) as s:
        _apply(s, ev, found, kinds, info, vid, actor)
        datasets.set_setting(s, FAILURE_KEY, "")
    if prefetch is not None:
        prefetch.join()
    if notify and ev.opened:
        webhook.notify_async(ev.opened, db)
    return ev


def _apply(s, ev: Evaluation, found: dict[int, dict[tuple[str, str], Finding]], kinds: dict,
           info: dict | None, vid: int | None, actor: Actor) -> None:
    """Match the findings against the live alerts and write the outcome set-based (one
    statement per kind of change, core.store.monitoring.apply_evaluation). The lifecycle is the
    one alert by alert: per rule in id order, a finding opens an alert (and its 'opened' event)
    or updates the live one of its (SKU, store); a live alert no finding kept is resolved (with
    its event); ids are drawn in that same order."""
    at = now()
    live_by_rule: dict[int, dict[tuple[str, str], tuple]] = {}
    for row in ms.live_alert_rows(s):  # (id, rule_id, sku, store, version_id, value), by id
        live_by_rule.setdefault(row[1], {})[(row[2], row[3])] = row
    opened: list[tuple] = []  # (rule row, finding, details)
    updated: dict[str, list] = {"id": [], "kind": [], "value": [], "message": [], "details": [],
                                "version_id": []}
    resolved: list[tuple[int, str, float | None]] = []  # (alert id, why, value)
    # Events in the order the alert-by-alert loop added them: per rule, its 'opened' events,
    # then its 'resolved' ones. ("o", index into opened) or ("r", index into resolved).
    order: list[tuple[str, int]] = []
    for row in ms.list_rules(s):
        spec = kinds.get(row.id)
        if info is None and spec is not None and spec.needs_forecast:
            continue  # nothing to judge a forecast on; its alerts stay as they were
        hits = found.get(row.id, {}) if row.enabled else {}
        live = dict(live_by_rule.get(row.id, {}))
        for key, fnd in hits.items():
            a = live.pop(key, None)
            details = json.dumps(fnd.details, default=_json_default)
            if a is None:
                order.append(("o", len(opened)))
                opened.append((row, fnd, details))
            else:
                for col, v in (("id", a[0]), ("kind", row.kind), ("value", fnd.value),
                               ("message", fnd.message), ("details", details), ("version_id", vid)):
                    updated[col].append(v)
        for a in live.values():
            why = "condition cleared" if row.enabled else "rule disabled"
            if spec is not None and spec.needs_forecast and a[4] != vid:
                why = f"version {vid} replaced version {a[4]}; {why}"
            order.append(("r", len(resolved)))
            resolved.append((a[0], why, a[5]))
    ids = ms.next_ids(s, "alerts", len(opened))
    new = {"id": ids, "rule_id": [r.id for r, _f, _d in opened], "kind": [r.kind for r, _f, _d in opened],
           "sku": [f.sku for _r, f, _d in opened], "store": [f.store for _r, f, _d in opened],
           "value": [f.value for _r, f, _d in opened], "threshold": [r.threshold for r, _f, _d in opened],
           "message": [f.message for _r, f, _d in opened], "details": [d for _r, _f, d in opened],
           "version_id": [vid] * len(opened)}
    events: dict[str, list] = {"id": ms.next_ids(s, "alert_events", len(order)), "alert_id": [],
                               "action": [], "actor": [], "note": [], "value": []}
    for what, i in order:
        if what == "o":
            _r, f, _d = opened[i]
            alert_id, action, note, value = ids[i], "opened", f.message, f.value
        else:
            alert_id, note, value = resolved[i]
            action = "resolved"
        for col, v in (("alert_id", alert_id), ("action", action), ("actor", actor.name),
                       ("note", note), ("value", value)):
            events[col].append(v)
    ms.apply_evaluation(s, at, new, updated, [r[0] for r in resolved], events)
    for i, (r, f, d) in enumerate(opened):
        ev.opened.append(alert_json(ms.AlertRow(
            ids[i], r.id, r.kind, f.sku, f.store, "open", f.value, r.threshold, f.message, d, vid,
            at, at, 1), r.name))
    ev.updated += len(updated["id"])
    ev.resolved += [r[0] for r in resolved]


def evaluate_after_write(actor: Actor, db=None, what: str = "the change") -> str | None:
    """The evaluation that follows a write (ingest, promotion, rollback, rule edit): returns
    None, or a message for the person who made the change. The message (with a log id) is also
    stored so Monitor shows it; the write itself stays done. A role that may not evaluate is
    refused before anything (PermissionDenied)."""
    require(actor, WRITE_PERMISSION)
    try:
        evaluate(actor, db)
    except Exception as exc:  # noqa: BLE001 - the write is committed and must stay so
        ref = uuid.uuid4().hex[:8]
        log.exception("alert evaluation after %s failed [log id %s]", what, ref)
        msg = (f"Alert rules could not be checked after {what} ({type(exc).__name__}; log id "
               f"{ref}). The data is saved; run `shelfcast monitor` or 'Check rules now' again.")
        try:
            with session(db, write=True) as s:
                datasets.set_setting(s, FAILURE_KEY, msg)
        except Exception:  # noqa: BLE001
            log.exception("could not record the failed evaluation [log id %s]", ref)
        return msg
    return None


def after_ingest(result, actor: Actor, db=None) -> None:
    """AFTER_INGEST hook: refresh the errors and re-evaluate the rules. A failure is returned on
    the ingest result (`monitoring_error`), stored for Monitor, and never raised: the actuals
    are already committed and must stay accepted."""
    msg = evaluate_after_write(actor, db, "this upload")
    try:
        result.monitoring_error = msg
    except AttributeError:  # a frozen or slotted result: the stored message still shows it
        pass


def alert_json(a: ms.Alert | ms.AlertRow, rule_name: str | None = None) -> dict:
    """An alert as pages, the CLI and the webhook see it: id, rule_id, rule, kind, sku, store
    ('all stores' at SKU level), status, value, threshold, message, version_id, opened_at,
    updated_at, acknowledged_by, acknowledged_at, ack_note, resolved_at (ISO text), url."""
    return {
        "id": a.id, "rule_id": a.rule_id, "rule": rule_name, "kind": a.kind, "sku": a.sku,
        "store": "all stores" if a.store == ms.SKU_LEVEL else a.store, "status": a.status,
        "value": a.value, "threshold": a.threshold, "message": a.message,
        "version_id": a.version_id,
        "opened_at": a.opened_at.isoformat() if a.opened_at else None,
        "updated_at": a.updated_at.isoformat() if a.updated_at else None,
        "acknowledged_by": a.acknowledged_by,
        "acknowledged_at": a.acknowledged_at.isoformat() if a.acknowledged_at else None,
        "ack_note": a.ack_note,
        "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
        "url": f"{config.base_url()}/monitor?alert={a.id}",
    }


def alerts(db=None, statuses: list[str] | None = None, limit: int | None = ms.ALERT_LIST_CAP,
           skus: list[str] | None = None, cats: list[str] | None = None,
           stake: tuple[list[str], list[float]] | None = None) -> list[dict]:
    """The first `limit` (None: all) alerts (alert_json), statuses e.g. ['open', 'acknowledged'],
    of the SKUs / categories given: newest first, or the SKUs with most units at stake first
    (`stake`: SKUs and their units). `alert_counts` gives the true numbers."""
    with session(db) as s:
        names = {r.id: r.name for r in ms.list_rules(s)}
        return [alert_json(a, names.get(a.rule_id))
                for a in ms.list_alerts(s, statuses, limit, skus, cats, stake)]


def alert(db, alert_id: int) -> dict | None:
    """One alert (alert_json) by id, whatever its rank: a link to it works past any list's cap."""
    with session(db) as s:
        a = ms.get_alert_row(s, alert_id)
        rule = ms.get_rule(s, a.rule_id) if a else None
        return alert_json(a, rule.name if rule else None) if a else None


def alert_counts(db=None, skus: list[str] | None = None, cats: list[str] | None = None) -> dict[str, int]:
    """Alerts per status of the SKUs / categories given (a COUNT, not a listing's length)."""
    with session(db) as s:
        return ms.alert_counts(s, skus, cats)


def live_counts_by_sku(db=None, skus: list[str] | None = None, cats: list[str] | None = None) -> dict[str, int]:
    with session(db) as s:
        return ms.live_counts_by_sku(s, skus, cats)


def acknowledge(actor: Actor, alert_id: int, note: str, db=None) -> dict:
    """Open -> acknowledged, recording who and why. The alert stays until its condition clears."""
    require(actor, "acknowledge_alert")
    note = (note or "").strip()
    if not note:
        raise ValidationError("Add a note saying what is being done (e.g. 'order reduced, watching').")
    with session(db, write=True) as s:
        a = ms.get_alert(s, int(alert_id))
        if a is None:
            raise NotFound(f"Alert {alert_id} does not exist. `shelfcast alerts` lists them.")
        if a.status != "open":
            raise ValidationError(f"Alert {alert_id} is {a.status}; only open alerts can be acknowledged.")
        a.status, a.acknowledged_by, a.acknowledged_at = "acknowledged", actor.name, now()
        a.ack_note, a.updated_at = note, now()
        ms.save_alert(s, a)
        ms.add_event(s, a.id, "acknowledged", actor.name, note, a.value)
        rule = ms.get_rule(s, a.rule_id)
        return alert_json(a, rule.name if rule else None)


def history(db=None, alert_id: int | None = None) -> list[dict]:
    """Alert events newest first: alert_id, action, actor, note, value, at (ISO)."""
    with session(db) as s:
        return [{"alert_id": e.alert_id, "action": e.action, "actor": e.actor, "note": e.note,
                 "value": e.value, "at": e.created_at.isoformat()} for e in ms.events(s, alert_id)]


def delete_rule(actor: Actor, rule_id: int, db=None) -> None:
    """Remove a rule; its live alerts are resolved (history kept)."""
    require(actor, "edit_alert_rules")
    with session(db, write=True) as s:
        rule = rule_row(s, rule_id)
        for a in ms.live_alerts(s, rule_id):
            _resolve(s, a, actor.name, f"rule '{rule.name}' deleted")
        ms.delete_rule(s, rule)


def set_webhook(actor: Actor, url: str, db=None, *, allow_private: bool | None = None) -> None:
    """Store the webhook URL (empty to turn it off; SHELFCAST_WEBHOOK_URL overrides it) and,
    for admins only, whether loopback/private-network targets are allowed. The URL is checked
    (scheme, host, every resolved address) before anything is stored."""
    require(actor, "edit_alert_rules")
    if allow_private is not None:
        require(actor, "manage_users")  # opening the internal network is an admin's decision
    url = (url or "").strip()
    private = webhook.allow_private(db) if allow_private is None else allow_private
    if url:
        webhook.check_url(url, private, must_resolve=False)
    with session(db, write=True) as s:
        datasets.set_setting(s, "webhook_url", url)
        if allow_private is not None:
            datasets.set_setting(s, webhook.ALLOW_PRIVATE_KEY, "1" if allow_private else "")


__all__ = ["Evaluation", "Rule", "acknowledge", "after_ingest", "alert_json", "alerts",
           "delete_rule", "evaluate", "evaluate_after_write", "history", "set_webhook"]
