"""The set-based alert writes of an evaluation (core.monitoring.alerts._apply ->
core.store.monitoring.apply_evaluation) keep the lifecycle of the alert-by-alert loop: ids and
events in the same order (per rule: its new alerts' 'opened' events, then its resolved ones),
a value of None stays NULL and NaN stays NaN, an alert still firing is updated in place."""

from __future__ import annotations

import importlib
import math

from core.access import Actor
from core.monitoring.alerts import Evaluation
from core.monitoring.rules import RULE_KINDS, Finding, ensure_default_rules
from core.store import monitoring as ms
from core.store import session
from core.store.db import raw

al = importlib.import_module("core.monitoring.alerts")  # the package exports a function `alerts`
SCI = Actor("sam", "scientist")


def _find(sku: str, value: float | None) -> Finding:
    return Finding(sku, "*", value, f"{sku} fired", {"v": value})


def _run(db, found: dict, vid: int = 7) -> Evaluation:
    ev = Evaluation(vid)
    with session(db, write=True) as s:
        rows = ms.list_rules(s)
        al._apply(s, ev, found, {r.id: RULE_KINDS[r.kind] for r in rows}, {"version_id": vid}, vid, SCI)
    return ev


def test_bulk_evaluation_keeps_order_values_and_lifecycle(db):
    with session(db, write=True) as s:
        ensure_default_rules(s)
        r1, r2 = (r.id for r in ms.list_rules(s)[:2])
    ev = _run(db, {r1: {("A", "*"): _find("A", None), ("B", "*"): _find("B", float("nan"))},
                   r2: {("C", "*"): _find("C", 0.5)}})
    assert [(a["id"], a["sku"], a["rule_id"]) for a in ev.opened] == [(1, "A", r1), (2, "B", r1), (3, "C", r2)]
    with session(db) as s:
        rows = raw(s).execute("SELECT id, sku, status, value, evaluations, version_id FROM alerts ORDER BY id").fetchall()
        ev_rows = raw(s).execute("SELECT id, alert_id, action, actor, note FROM alert_events ORDER BY id").fetchall()
    assert rows[0][3] is None and math.isnan(rows[1][3]) and rows[2][3] == 0.5  # NULL and NaN kept apart
    assert [r[2] for r in rows] == ["open"] * 3 and {r[5] for r in rows} == {7}
    assert ev_rows == [(1, 1, "opened", "sam", "A fired"), (2, 2, "opened", "sam", "B fired"),
                       (3, 3, "opened", "sam", "C fired")]

    # rule 1 still finds A (updated), no longer B (resolved); rule 2 finds D (new), not C
    ev = _run(db, {r1: {("A", "*"): _find("A", 0.25)}, r2: {("D", "*"): _find("D", 0.1)}}, vid=8)
    assert (ev.updated, ev.resolved, [a["sku"] for a in ev.opened]) == (1, [2, 3], ["D"])
    with session(db) as s:
        rows = {r[1]: r for r in raw(s).execute(
            "SELECT id, sku, status, value, evaluations, version_id, resolved_at IS NOT NULL FROM alerts").fetchall()}
        ev_rows = raw(s).execute("SELECT id, alert_id, action, note FROM alert_events WHERE id > 3 ORDER BY id").fetchall()
    assert rows["A"][2:6] == ("open", 0.25, 2, 8) and not rows["A"][6]
    assert rows["B"][2] == rows["C"][2] == "resolved" and rows["B"][6] and rows["C"][6]
    assert rows["D"][0] == 4 and rows["D"][2:5] == ("open", 0.1, 1)
    why = "version 8 replaced version 7; condition cleared"  # they were opened for version 7
    assert ev_rows == [(4, 2, "resolved", why), (5, 4, "opened", "D fired"), (6, 3, "resolved", why)]
