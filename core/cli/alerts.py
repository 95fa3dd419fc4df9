"""shelfcast alerts: list alerts, acknowledge one, show its history.

  shelfcast alerts [--status open|acknowledged|resolved|all] [--json]
  shelfcast alerts ack ID --note "reduced the order"
  shelfcast alerts history ID
"""

from __future__ import annotations

from core import monitoring
from core.cli.common import actor, emit


def register(sub) -> None:
    p = sub.add_parser("alerts", help="list alerts; `alerts ack ID --note TEXT` acknowledges one")
    p.add_argument("action", nargs="?", choices=["list", "ack", "history"], default="list")
    p.add_argument("alert_id", nargs="?", type=int, help="alert id (for ack and history)")
    p.add_argument("--note", help="what is being done about it (required to acknowledge)")
    p.add_argument("--status", choices=["open", "acknowledged", "resolved", "live", "all"],
                   default="live", help="which alerts to list (default live: open and acknowledged)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    from core.errors import ValidationError

    if args.action in ("ack", "history") and args.alert_id is None:
        raise ValidationError(f"Give the alert id: shelfcast alerts {args.action} ID")
    if args.action == "ack":
        a = monitoring.acknowledge(actor(args), args.alert_id, args.note or "", args.db)
        emit(a, args.json, f"Alert #{a['id']} acknowledged by {a['acknowledged_by']}: {a['ack_note']}")
        return 0
    if args.action == "history":
        h = monitoring.history(args.db, args.alert_id)
        emit(h, args.json, "\n".join(
            f"{e['at'][:19]}  {e['action']:<13} {e['actor']:<10} {e['note'] or ''}" for e in reversed(h)
        ) or "No history for that alert.")
        return 0
    statuses = {"live": ["open", "acknowledged"], "all": None}.get(args.status, [args.status])
    rows = monitoring.alerts(args.db, statuses, limit=None)  # a listing asked for: all of them
    emit(rows, args.json, "\n".join(
        f"#{a['id']:<5} {a['status']:<13} {a['kind']:<14} {a['sku']:<12} {a['store']:<11} {a['message']}"
        for a in rows
    ) or "No alerts.")
    return 0
