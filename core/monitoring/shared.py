"""Reads shared by one evaluation and the report printed after it (`shelfcast monitor`): the
rules and the report ask for the same per-SKU accuracy, per-period accuracy and data drift, and
each is a scan of every stored error or sale (seconds at 100,000 series). Inside `reads(db)`
they are computed once; outside it they fall back to the page run's memo (core.store.db.memo).

Only the refresh of the stored errors changes their inputs; `evaluate` calls `forget()` after it.
The alert writes that follow do not touch them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from core import config
from core.store.db import memo, unit

T = TypeVar("T")
_kept: ContextVar[dict | None] = ContextVar("shelfcast_monitoring_reads", default=None)


@contextmanager
def reads(db=None) -> Iterator[None]:
    """One connection (core.store.db.unit) and one set of shared reads for everything inside;
    inside another `reads` it shares that one's."""
    if _kept.get() is not None:
        with unit(db):
            yield
        return
    with unit(db):
        token = _kept.set({})
        try:
            yield
        finally:
            _kept.reset(token)


def once(db, key: tuple, compute: Callable[[], T]) -> T:
    """`compute()` once per `reads` scope (and per page run); callers copy mutable results."""
    kept = _kept.get()
    if kept is None:
        return memo(db, key, compute)
    full = (str(config.db_path(db)), *key)
    if full not in kept:
        kept[full] = compute()
    return kept[full]


def forget() -> None:
    """The stored errors changed: nothing kept so far may be served again."""
    kept: dict[Any, Any] | None = _kept.get()
    if kept is not None:
        kept.clear()
