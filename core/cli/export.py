"""shelfcast export: write a version's final forecasts to CSV or Parquet."""

from __future__ import annotations

from core import forecasts
from core.cli.common import actor, emit


def register(sub) -> None:
    p = sub.add_parser("export", help="write a version's forecasts to a .csv or .parquet file")
    p.add_argument("--version", type=int, required=True, help="version id (see `shelfcast versions`)")
    p.add_argument("--out", required=True, help="output file ending in .csv or .parquet")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    n = forecasts.export(actor(args), args.version, args.out, args.db)
    emit({"version": args.version, "rows": n, "out": args.out}, args.json,
         f"{n} forecast rows of version {args.version} written to {args.out}")
    return 0
