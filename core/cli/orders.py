"""shelfcast orders: replenishment proposals from the active version, for an ERP feed."""

from __future__ import annotations

from core.cli.common import actor, emit
from core.inventory import proposals


def register(sub) -> None:
    p = sub.add_parser("orders", help="replenishment orders from the active version (one row per SKU x store)")
    p.add_argument("--version", type=int, help="version id (default: the active version)")
    p.add_argument("--out", help="write the orders to a .csv (formula-safe) or .parquet file")
    p.add_argument("--all", action="store_true", help="list every SKU x store, not only those to order")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    who = actor(args)
    if args.out:
        df = proposals.export_orders(who, args.out, args.db, args.version)
    else:
        df = proposals.proposals(who, args.db, args.version)[proposals.COLUMNS + ["as_of", "version"]]
    due = df[df["order_qty"] > 0]
    shown = df if args.all or args.out else due
    rows = shown.astype(object).where(shown.notna(), None).to_dict(orient="records")
    summary = (f"{len(due)} of {len(df)} SKU x store need an order "
               f"({due['order_qty'].sum():g} units)" + (f"; written to {args.out}" if args.out else ""))
    if args.json:
        emit({"orders_due": len(due), "series": len(df), "out": args.out, "rows": rows}, True)
    else:
        table = shown[["sku", "store", "on_hand", "order_qty", "reason"]].to_string(index=False)
        emit(None, False, summary if args.out else f"{summary}\n{table}")
    return 0
