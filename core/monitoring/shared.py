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
_FULL = ("__full_drift__",)
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


def kept(db, key: tuple) -> Any:
    """What `once` already computed for the key in this `reads` scope, else None."""
    got = _kept.get()
    return None if got is None else got.get((str(config.db_path(db)), *key))


def want_full_drift() -> None:
    """The report that follows will show every column's drift: let the rule compute them all
    (and filter) instead of units alone, so the scan and the tests run once."""
    got = _kept.get()
    if got is not None:
        got[_FULL] = True


def wants_full_drift() -> bool:
    got = _kept.get()
    return bool(got and got.get(_FULL))


def forget() -> None:
    """The stored errors changed: nothing kept so far may be served again."""
    got: dict[Any, Any] | None = _kept.get()
    if got is not None:
        full = got.get(_FULL)
        got.clear()
        if full:
            got[_FULL] = full
