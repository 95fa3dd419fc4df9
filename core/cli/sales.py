"""shelfcast sales delete --from D --to D [--sku S] [--store S] --note TEXT: remove a date range
of sales (audited; manager and up). To replace a range, delete it and ingest the corrected file."""

from __future__ import annotations

from core.cli.common import actor, emit


def register(sub) -> None:
    p = sub.add_parser("sales", help="delete a date range of sales (audited)")
    ss = p.add_subparsers(dest="sales_command", required=True, metavar="ACTION")
    d = ss.add_parser("delete", help="delete sales and regressor rows in a date range")
    d.add_argument("--from", dest="date_from", help="first date to delete, YYYY-MM-DD (default: open)")
    d.add_argument("--to", dest="date_to", help="last date to delete, YYYY-MM-DD (default: open)")
    d.add_argument("--sku", help="only this SKU")
    d.add_argument("--store", help="only this store")
    d.add_argument("--note", required=True, help="why: goes into the audit")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=delete)


def delete(args) -> int:
    from core.sales_edit import delete_sales

    r = delete_sales(actor(args), args.date_from, args.date_to, note=args.note, sku=args.sku,
                     store=args.store, db=args.db)
    emit(r.to_json(), args.json,
         f"Deleted {r.sales_rows} sales row(s) and {r.regressor_rows} regressor row(s) of "
         f"{r.series} series, {r.date_from or 'start'} to {r.date_to or 'end'} "
         f"(dataset version {r.dataset_id}).")
    return 0
