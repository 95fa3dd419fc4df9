"""shelfcast rollback --note TEXT: put the previously active version back into service."""

from __future__ import annotations

from core import registry
from core.cli.common import actor, emit


def register(sub) -> None:
    p = sub.add_parser("rollback", help="go back to the previously active version (audited)")
    p.add_argument("--note", required=True, help="why: goes into the audit log")
    p.add_argument("--json", action="store_true", help="print the audit record as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    p = registry.rollback(actor(args), args.note, db=args.db)
    emit(registry.promotion_json(p), args.json,
         f"Rolled back: version {p.to_version} is active again (was {p.from_version}). "
         f"Audit entry {p.id}.")
    return 0
