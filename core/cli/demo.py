"""shelfcast demo: load the bundled demo data set into the store (if it is empty)."""

from __future__ import annotations

from core.cli.common import actor
from core.errors import ValidationError
from core.seed import is_empty, seed_demo


def register(sub) -> None:
    p = sub.add_parser("demo", help="load the demo data set into an empty store")
    p.set_defaults(func=run)


def run(args) -> int:
    if not is_empty(args.db):
        raise ValidationError("The store already has sales data; the demo loads only into an empty store.")
    seed_demo(actor(args), args.db)
    return 0
