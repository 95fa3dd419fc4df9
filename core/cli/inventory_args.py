"""`shelfcast ingest --kind stock|policy FILE`: the inventory part of the ingest command.

Not a sub-command of its own: `core/cli/ingest.py` calls `add_arguments(p)` in its register()
and, first thing in run(), `if args.kind != "sales": return inventory_args.run(args)`. The
sales mapping flags it already has (--date, --sku, --store) map the same roles here."""

from __future__ import annotations

from core.cli.common import actor, emit
from core.errors import ValidationError
from core.inventory.inputs import ROLES, ingest_inventory


def add_arguments(p) -> None:
    p.add_argument("--kind", choices=["sales", "stock", "policy"], default="sales",
                   help="what the file holds (default: sales)")
    p.add_argument("--map", action="append", metavar="ROLE=COLUMN", default=[],
                   help="stock/policy: the column for a role (on_hand, lead_time, review_period, "
                        "service_level, pack_size, min_order, unit_cost, price); repeat")


def mapping(args) -> dict[str, str]:
    out = {role: getattr(args, role) for role in ("date", "sku", "store") if getattr(args, role, None)}
    for item in args.map or []:
        role, sep, col = item.partition("=")
        if not sep or role.strip() not in ROLES[args.kind]:
            raise ValidationError(f"--map {item!r}: use ROLE=COLUMN with a {args.kind} role "
                                  f"({', '.join(ROLES[args.kind])}).")
        out[role.strip()] = col.strip()
    return out


def run(args) -> int:
    # files of any size: the upload limit (SHELFCAST_MAX_UPLOAD_MB) is the browser's
    r = ingest_inventory(args.db, actor(args), args.file, args.kind, mapping(args), any_size=True)
    emit(r.to_json(), args.json, r.summary())
    return 0
