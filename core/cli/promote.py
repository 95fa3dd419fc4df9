"""shelfcast promote ID --note TEXT [--override-reason TEXT]: put a version into service."""

from __future__ import annotations

from core import registry
from core.cli.common import actor, emit


def register(sub) -> None:
    p = sub.add_parser("promote", help="make a ready version the active one (audited)")
    p.add_argument("version", type=int, help="version id (see `shelfcast versions`)")
    p.add_argument("--note", required=True, help="why: goes into the audit log")
    p.add_argument("--override-reason",
                   help="promote even though its backtest WAPE is worse than the active version's")
    p.add_argument("--json", action="store_true", help="print the audit record as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    p = registry.promote(actor(args), args.version, args.note,
                         override_reason=args.override_reason, db=args.db)
    was = f"version {p.from_version}" if p.from_version is not None else "none"
    extra = " (gate overridden)" if p.override else ""
    emit(registry.promotion_json(p), args.json,
         f"Version {p.to_version} is now active (was {was}){extra}. Audit entry {p.id}.")
    return 0
