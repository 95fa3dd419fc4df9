"""Connections to the DuckDB file, held only for the length of one unit of work.

DuckDB lets one process hold the file at a time, and a second process cannot even open it
read-only meanwhile. So nothing keeps a connection open between operations: the app, the CLI and
a scheduled `shelfcast ingest` each open, work in one transaction, and close. A process that finds
the file held retries with backoff for a bounded time, then gives a clear StoreBusy message.
Within one process, writes are serialised by a lock so concurrent threads never race.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from core import config
from core.errors import StoreBusy

_engines: dict[Path, Engine] = {}
_write_locks: dict[Path, threading.RLock] = {}
_ready: set[Path] = set()
_guard = threading.Lock()


def _engine(path: Path) -> Engine:
    with _guard:
        if path not in _engines:
            path.parent.mkdir(parents=True, exist_ok=True)
            _engines[path] = create_engine(f"duckdb:///{path}", poolclass=NullPool)
            _write_locks[path] = threading.RLock()
        return _engines[path]


def _is_lock_error(exc: BaseException) -> bool:
    """Held by another process, or (within this process) a thread opened the file while another
    thread's closing connection was still detaching it: both pass if tried again a moment later.
    The second one made a Train-page job fail while the page polled its progress."""
    text = str(exc)
    return ("Could not set lock" in text or "Conflicting lock" in text
            or "Unique file handle conflict" in text)


def _connect(engine: Engine, timeout: float) -> Session:
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        s = Session(engine, expire_on_commit=False)
        try:
            s.connection()  # open now, so that a held file is found here and not mid-work
            return s
        except (DBAPIError, duckdb.IOException) as exc:
            s.close()
            if not _is_lock_error(exc):
                raise
            if time.monotonic() >= deadline:
                raise StoreBusy(
                    f"The store {engine.url.database} is in use by another Shelfcast process "
                    f"and stayed busy for {timeout:.0f} s. Try again in a minute; if it persists, "
                    "check for a stuck `shelfcast` command."
                ) from exc
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)


@contextmanager
def session(
    db: str | Path | None = None, *, write: bool = False, timeout: float | None = None
) -> Iterator[Session]:
    """One transaction on the store: committed on success, rolled back on any error.

    `write=True` also takes the process-wide write lock for this file so that threads (app
    sessions, the background trainer) apply their changes one at a time.
    """
    path = config.db_path(db)
    engine = _engine(path)
    lock = _write_locks[path] if write else None
    if lock:
        lock.acquire()
    try:
        s = _connect(engine, config.LOCK_TIMEOUT_S if timeout is None else timeout)
        try:
            if path not in _ready:
                _create_schema(s, path)
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()
    finally:
        if lock:
            lock.release()


def _create_schema(s: Session, path: Path) -> None:
    """Once per file and process, under the write lock so racing threads create it once."""
    with _write_locks[path]:
        if path in _ready:
            return
        from core.store import schema

        schema.create_all(s)
        s.commit()
        _ready.add(path)


def raw(s: Session) -> duckdb.DuckDBPyConnection:
    """The DuckDB connection under a session, for bulk work (register a DataFrame, COPY, ...)
    inside the same transaction as the ORM writes."""
    return s.connection().connection.dbapi_connection  # type: ignore[return-value]


def forget(db: str | Path | None = None) -> None:
    """Drop cached engine state for a file (tests that delete and recreate stores)."""
    path = config.db_path(db)
    with _guard:
        _ready.discard(path)
