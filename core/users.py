"""Resolving who acts. The access issue replaces this with stored accounts."""

from __future__ import annotations

import os

from core.access import Actor


def cli_actor(name: str, db: str | os.PathLike | None = None) -> Actor:
    """Until accounts exist, the local operator of the CLI acts as admin."""
    return Actor(name, os.environ.get("SHELFCAST_ROLE", "admin"))
