"""shelfcast ingest FILE: validate a sales file (or a folder or glob of parts) and merge it into
the store. The command line reads files of any size: the upload limit is the browser's."""

from __future__ import annotations

from core.cli import inventory_args
from core.cli.common import actor, emit
from core.ingest import Mapping, describe_freq, ingest


def register(sub) -> None:
    p = sub.add_parser(
        "ingest", help="load a sales file (CSV, Parquet, Excel) into the store",
        description="Validate a sales file and merge it into the store in one transaction. Files "
                    "of any size are read here, with bounded memory (SHELFCAST_INGEST_MEMORY, "
                    "default 1GB, then spilled to a temp folder); the SHELFCAST_MAX_UPLOAD_MB limit "
                    "(200 MB) is for uploads in the browser only.")
    p.add_argument("file", help="a file, a folder of CSV or Parquet parts, or a quoted glob such as "
                                "'parts/*.parquet' (parts share one header and load as one dataset)")
    p.add_argument("--date", help="date column (default: detected)")
    p.add_argument("--sku", help="SKU/item column")
    p.add_argument("--store", help="store/location column (optional)")
    p.add_argument("--qty", help="units sold column")
    p.add_argument("--regressor", action="append", help="extra numeric column (price, promo...); repeat")
    p.add_argument("--no-regressors", action="store_true", help="ignore detected regressor columns")
    p.add_argument("--date-format", help="strptime format, e.g. %%d/%%m/%%Y (default: detected)")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary")
    inventory_args.add_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    if args.kind != "sales":
        return inventory_args.run(args)
    regs = [] if args.no_regressors else args.regressor
    m = Mapping(date=args.date, sku=args.sku, store=args.store, qty=args.qty, regressors=regs,
                date_format=args.date_format)
    r = ingest(args.file, actor(args), m, db=args.db, any_size=True)
    emit(
        r.to_json(),
        args.json,
        f"{r.file_name}: {r.rows_added} rows added, {r.rows_updated} updated, {r.series} series, "
        f"{r.first_date} to {r.last_date}, {describe_freq(r.freq)} (dataset version {r.dataset_id})",
    )
    return 0
