"""`shelfcast`: the command line over the same core functions the app calls.

Each sub-command lives in its own module with `register(subparsers)`; exit codes: 0 success,
2 refused (bad input, permission, busy store; message on stderr), 1 unexpected failure.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from core.errors import ShelfcastError

COMMANDS = ["ingest", "serve", "demo", "promote", "rollback", "history", "user", "share", "monitor", "alerts", "train", "versions", "export", "orders", "simulate", "override"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shelfcast", description="Retail demand forecasting.")
    p.add_argument("--db", help="store file (default: $SHELFCAST_DB or data/shelfcast.duckdb)")
    p.add_argument("--user", help="act as this user (default: $SHELFCAST_USER or your login)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"core.cli.{name.replace('-', '_')}").register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ShelfcastError as exc:
        print(f"shelfcast: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("shelfcast: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
