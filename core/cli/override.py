"""shelfcast override: planner overrides of the forecast (add, change, end, list, audit)."""

from __future__ import annotations

from core.cli.common import actor, emit
from core.inventory import overrides


def register(sub) -> None:
    p = sub.add_parser("override", help="planner forecast overrides: add, change, end, list, audit, fva")
    p.add_argument("action", choices=["add", "change", "end", "list", "audit", "fva"])
    p.add_argument("--id", type=int, help="override id (change, end)")
    p.add_argument("--sku")
    p.add_argument("--store", help="one store (default: every store of the SKU)")
    p.add_argument("--start", help="first date, e.g. 2026-12-01")
    p.add_argument("--end", help="last date")
    p.add_argument("--units", type=float, help="forecast units per period")
    p.add_argument("--pct", type=float, help="change the forecast by this percent (e.g. 20 or -15)")
    p.add_argument("--reason", choices=overrides.REASONS)
    p.add_argument("--note", default="")
    p.add_argument("--level", choices=overrides.LEVELS, default="sku", help="fva: group by")
    p.add_argument("--all", action="store_true", help="list: include ended overrides")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _frame(df, as_json: bool) -> None:
    rows = df.astype(object).where(df.notna(), None).to_dict(orient="records")
    emit(rows, as_json, df.to_string(index=False) if len(df) else "(none)")


def run(args) -> int:
    if args.action in ("list", "audit", "fva"):
        if args.action == "list":
            _frame(overrides.list_overrides(args.db, args.all), args.json)
        elif args.action == "audit":
            _frame(overrides.audit(args.db), args.json)
        else:
            _frame(overrides.forecast_value_added(args.db, args.level), args.json)
        return 0
    who = actor(args)
    if args.action == "end":
        o = overrides.end_override(who, args.id, args.db)
        emit({"id": o.id, "ended_at": o.ended_at}, args.json, f"override {o.id} ended")
        return 0
    mode, value = ("pct", args.pct) if args.pct is not None else ("units", args.units)
    o = overrides.set_override(who, args.sku, args.start, args.end, mode, value, args.reason,
                               args.note, store=args.store,
                               replaces=args.id if args.action == "change" else None, db=args.db)
    emit({"id": o.id, "replaces": o.replaces}, args.json,
         f"override {o.id} set for {o.sku} {o.start_date}..{o.end_date}"
         + (f" (replaces {o.replaces})" if o.replaces else ""))
    return 0
