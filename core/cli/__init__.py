"""`shelfcast`: the command line over the same core functions the app calls.

Each sub-command lives in its own module with `register(subparsers)`; exit codes: 0 success,
2 refused (bad input, permission, busy store; message on stderr), 1 unexpected failure.

Start-up imports only the command being run: `shelfcast --help` lists the commands from
COMMANDS below without importing any of them (pandas, SQLModel and scipy cost seconds), and
`shelfcast NAME ...` imports just `core.cli.NAME`. Every command says which store it uses on the
first line of stderr (stdout stays clean for --json and pipes).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from core import config
from core.errors import ShelfcastError

# name -> one-line help (kept here so that --help needs no imports; each module's own parser
# carries the full help of its options).
COMMANDS: dict[str, str] = {
    "ingest": "load a sales file (CSV, Parquet, Excel) into the store",
    "sales": "delete a date range of sales (audited)",
    "serve": "run the web app",
    "demo": "load the demo data set into an empty store",
    "train": "train and backtest a forecast version",
    "versions": "list forecast versions",
    "promote": "make a ready version the active one (audited)",
    "rollback": "go back to the previously active version (audited)",
    "history": "the audit log of promotions and rollbacks",
    "export": "write a version's forecasts to a .csv or .parquet file",
    "monitor": "evaluate alert rules; per-SKU accuracy, drift and open alerts",
    "alerts": "list alerts; `alerts ack ID --note TEXT` acknowledges one",
    "user": "add, list, change or disable accounts",
    "share": "create, list or revoke read-only share links",
    "orders": "replenishment proposal from the active version (ERP feed)",
    "simulate": "replay the stock policy over the backtest: availability, overstock",
    "override": "set, end or list planner forecast overrides (audited)",
    "policy": "set or show the retraining policy (`shelfcast retrain` applies it)",
    "retrain": "apply the retraining policy once (train if it says so)",
    "challenger": "mark versions as challengers; champion vs challengers on live sales",
}


class _Parser(argparse.ArgumentParser):
    """Says which store a command would use on the first line of its help, and exits 2 with a
    message (argparse's own behaviour) for any bad argument."""

    def format_help(self) -> str:
        db = getattr(self, "_db_override", None)
        return (f"Store: {config.db_path(db)} ({config.db_source(db)})\n"
                + super().format_help())


def _base(db: str | None) -> argparse.ArgumentParser:
    p = _Parser(prog="shelfcast", description="Retail demand forecasting.")
    p._db_override = db  # type: ignore[attr-defined]
    p.add_argument("--db", help="store file (default: $SHELFCAST_DB, else "
                                "$XDG_DATA_HOME/shelfcast/shelfcast.duckdb)")
    p.add_argument("--user", help="act as this user (default: $SHELFCAST_USER or your login)")
    return p


def build_parser(command: str | None = None, db: str | None = None) -> argparse.ArgumentParser:
    """The parser for one command (imports only its module); with no command, the top-level
    parser whose help lists every command without importing any."""
    p = _base(db)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for name, text in COMMANDS.items():
        if name == command:
            importlib.import_module(f"core.cli.{name}").register(sub)
        else:
            sub.add_parser(name, help=text, add_help=False)
    for choice in sub.choices.values():
        choice._db_override = db  # type: ignore[attr-defined]
    return p


def _command(argv: list[str]) -> tuple[str | None, str | None]:
    """The command name and --db in argv, read without importing any command."""
    probe = argparse.ArgumentParser(add_help=False)
    probe.add_argument("--db")
    probe.add_argument("--user")
    probe.add_argument("rest", nargs=argparse.REMAINDER)
    try:
        known, _ = probe.parse_known_args(argv)
    except SystemExit:
        return None, None
    rest = known.rest or []
    name = rest[0] if rest and rest[0] in COMMANDS else None
    return name, known.db


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command, db = _command(argv)
    args = build_parser(command, db).parse_args(argv)
    print(f"shelfcast: store {config.db_path(args.db)} ({config.db_source(args.db)})",
          file=sys.stderr, flush=True)
    try:
        return int(args.func(args) or 0)
    except ShelfcastError as exc:
        print(f"shelfcast: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        # A path given on the command line that cannot be used (an --out folder that does not
        # exist, ...): the person's to fix, so exit 2 with the path rather than a traceback.
        print(f"shelfcast: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("shelfcast: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
