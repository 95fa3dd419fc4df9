"""Shared by the sub-commands: who is acting, and printing results."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from core.access import Actor


def actor(args: Any) -> Actor:
    """The CLI acts as --user / $SHELFCAST_USER. Anyone who can run the CLI can read and write the
    store file directly, so until accounts exist the operator acts as admin."""
    from core import users

    name = getattr(args, "user", None) or os.environ.get("SHELFCAST_USER") or getpass.getuser()
    return users.cli_actor(name, getattr(args, "db", None))


def emit(obj: Any, as_json: bool, text: str | None = None) -> None:
    if as_json:
        print(json.dumps(obj, default=str, indent=2))
    elif text is not None:
        print(text)


def listing(sub, help: str, func: Callable) -> None:  # noqa: A002 - argparse's word
    """A `list` action with --json, as `share list` and `user list` have."""
    p = sub.add_parser("list", help=help)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=func)


def emit_rows(rows: Sequence[Any], as_json: bool, line: Callable[[Any], str], empty: str) -> None:
    """A listing of entities (each with `to_json()`): one line per row, or `empty` when there are
    none, or the JSON list."""
    text = "\n".join(line(x) for x in rows) or empty
    emit([x.to_json() for x in rows], as_json, text)


def progress(done: int, total: int, label: str = "") -> None:
    """A one-line progress bar on stderr (stdout stays clean for --json)."""
    width = 30
    frac = done / total if total else 1.0
    bar = "#" * int(frac * width)
    sys.stderr.write(f"\r{label} [{bar:<{width}}] {done}/{total}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()
