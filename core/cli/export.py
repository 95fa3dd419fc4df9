"""shelfcast export: write a version's final forecasts, with their quantiles, to CSV or Parquet."""

from __future__ import annotations

from core import access, exports, forecasts, quantiles, registry
from core.cli.common import actor, emit
from core.errors import ValidationError


def register(sub) -> None:
    p = sub.add_parser("export", help="write a version's forecasts to a .csv or .parquet file",
                       description="Columns: sku, store, date, yhat, yhat_lower, yhat_upper (the 80%% "
                                   "band = P10/P90), p10, p50, p90 (and any other quantiles the "
                                   "version was trained with), model, version.")
    p.add_argument("--version", type=int,
                   help="version id (see `shelfcast versions`; default: the active version)")
    p.add_argument("--out", required=True, help="output file ending in .csv or .parquet")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.version is None:  # the published forecasts
        args.version = registry.active_version(args.db)
        if args.version is None:
            raise ValidationError("No version is active yet: pass --version ID, or promote one "
                                  "with `shelfcast promote ID --note TEXT`.")
    access.require(actor(args), "download")
    df = forecasts.forecast_frame(args.version, args.db)
    if quantiles.column(0.1) not in df:  # until core.forecasts adds them for every download
        df = quantiles.with_columns(df, args.version, args.db)
    exports.write(df, str(args.out))
    n = len(df)
    emit({"version": args.version, "rows": n, "out": args.out}, args.json,
         f"{n} forecast rows of version {args.version} written to {args.out}")
    return 0
