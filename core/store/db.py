"""Connections to the DuckDB file, held only for the length of one unit of work.

DuckDB lets one process hold the file at a time, and a second process cannot even open it
read-only meanwhile. So nothing keeps a connection open between operations: the app, the CLI and
a scheduled `shelfcast ingest` each open, work in one transaction, and close. A process that finds
the file held retries with backoff for a bounded time, then gives a clear StoreBusy message.
Within one process, writes are serialised by a lock so concurrent threads never race.

One exception to "open per operation": a `unit(path)` scope (one page run of the app) keeps the
connection it first opens until the scope ends, and every `session()` inside reuses it. A page
makes a dozen store reads, and each open + close of the file (the last close checkpoints) cost
more than the read itself. The scope still ends with the run, so a CLI process gets the file
between runs; writes inside it still take the write lock and commit at once.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import duckdb
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from core import config
from core.errors import StoreBusy, ValidationError

T = TypeVar("T")
_engines: dict[Path, Engine] = {}
_write_locks: dict[Path, threading.RLock] = {}
_ready: set[Path] = set()
_guard = threading.Lock()
# The wait allowed for a busy file, for connections opened by the current session's code.
_timeout: ContextVar[float | None] = ContextVar("shelfcast_store_timeout", default=None)


class _Unit:
    """The connection one unit of work shares, opened by its first session (lazily: a run that
    reads nothing never touches the file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn: Connection | None = None
        self.memo: dict[tuple, Any] = {}  # pure reads already computed in this unit (see `memo`)


# The open unit of this thread / context. Threads start with an empty context, so a background
# job started from a page opens its own connections, as before.
_unit: ContextVar[_Unit | None] = ContextVar("shelfcast_store_unit", default=None)


@contextmanager
def unit(db: str | Path | None = None) -> Iterator[None]:
    """One connection for everything inside (a page run): nested `session()` calls on the same
    file reuse it, each still its own transaction. Re-entering for the same file is a no-op."""
    path = config.db_path(db)
    current = _unit.get()
    if current is not None and current.path == path:
        yield
        return
    u = _Unit(path)
    token = _unit.set(u)
    try:
        yield
    finally:
        _unit.reset(token)
        if u.conn is not None:
            u.conn.close()


def _engine(path: Path) -> Engine:
    with _guard:
        if path not in _engines:
            _refuse_foreign(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(f"duckdb:///{path}", poolclass=NullPool)
            event.listen(engine, "do_connect", _retrying_connect)
            _engines[path] = engine
            _write_locks[path] = threading.RLock()
        return _engines[path]


def _refuse_foreign(path: Path) -> None:
    """A --db that names some other file (a CSV, a folder) is a typo: DuckDB would open a CSV
    as an empty in-memory database and every command would fail with a raw catalog error."""
    if path.is_dir():
        raise ValidationError(f"The store {path} is a folder; name a .duckdb file (--db or SHELFCAST_DB).")
    if path.is_file() and path.stat().st_size > 0:
        with open(path, "rb") as f:
            head = f.read(12)
        if head[8:12] != b"DUCK":
            raise ValidationError(
                f"{path} is not a Shelfcast store (not a DuckDB file). Check --db / SHELFCAST_DB."
            )


def _retrying_connect(dialect, conn_rec, cargs, cparams):  # noqa: ANN001 - SQLAlchemy's hook
    """Every DBAPI connection the engine opens goes through the bounded retry: with NullPool a
    session reconnects after each commit (the first one after creating the schema, for one), and
    such a reconnect once failed with a raw 'Could not set lock' while another process held the
    file."""
    limit = _timeout.get()
    if limit is None:
        limit = config.LOCK_TIMEOUT_S
    deadline = time.monotonic() + limit
    delay = 0.05
    while True:
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as exc:
            if not _is_lock_error(exc):
                raise
            if time.monotonic() >= deadline:
                raise StoreBusy(
                    f"The store {cargs[0] if cargs else cparams.get('database', '')} is in use "
                    f"by another Shelfcast process and stayed busy for {limit:.0f} "
                    "s. Try again in a minute; if it persists, check for a stuck `shelfcast` command."
                ) from exc
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)


def _is_lock_error(exc: BaseException) -> bool:
    """Held by another process, or (within this process) a thread opened the file while another
    thread's closing connection was still detaching it: both pass if tried again a moment later.
    The second one made a Train-page job fail while the page polled its progress."""
    text = str(exc)
    return ("Could not set lock" in text or "Conflicting lock" in text
            or "Unique file handle conflict" in text)


def memo(db: str | Path | None, key: tuple, compute: Callable[[], T]) -> T:
    """A pure read computed once per unit of work: a page asks for the same per-SKU accuracy
    for its headline, its table and its worklist, each a scan of every stored error. Outside a
    unit (the CLI, jobs) it simply computes. Any write session in the unit forgets the results.
    Callers hand out copies of mutable results."""
    u = _unit.get()
    if u is None or u.path != config.db_path(db):
        return compute()
    if key not in u.memo:
        u.memo[key] = compute()
    return u.memo[key]


def _connect(engine: Engine, path: Path) -> Session:
    """A session whose connection is open now, so that a held file is found here and not
    mid-work; the retry itself is in `_retrying_connect`. Inside a unit of work, the unit's
    connection, unless a session on it is still open (a session inside a session keeps its own
    transaction, as it did with its own connection)."""
    u = _unit.get()
    if u is not None and u.path == path:
        if u.conn is None:
            u.conn = engine.connect()
        if not u.conn.in_transaction():
            return Session(bind=u.conn, expire_on_commit=False)
    s = Session(engine, expire_on_commit=False)
    try:
        s.connection()
        return s
    except BaseException:
        s.close()
        raise


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
        u = _unit.get()
        if u is not None and u.path == path:
            u.memo.clear()
    token = _timeout.set(timeout)  # for every (re)connection this session makes
    try:
        s = _connect(engine, path)
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
        _timeout.reset(token)
        if lock:
            lock.release()


def _create_schema(s: Session, path: Path) -> None:
    """Once per file and process, under the write lock so racing threads create it once.

    Creating the schema means importing every table module (SQLModel, pandas: seconds for a CLI
    command that lists five rows), so it is skipped when the store records that it was made by
    the same store code: a fingerprint of core/store/*.py, read as text, not imported."""
    with _write_locks[path]:
        if path in _ready:
            return
        mark = _schema_mark()
        con = raw(s)
        try:
            done = con.execute("SELECT value FROM settings WHERE key = ?", [_MARK_KEY]).fetchone()
        except duckdb.Error:  # a new store: no settings table yet
            done = None
            s.rollback()
        if not done or done[0] != mark:
            from core.store import schema

            schema.create_all(s)
            raw(s).execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", [_MARK_KEY, mark])
        s.commit()
        _ready.add(path)


_MARK_KEY = "schema_code"


@cache
def _schema_mark() -> str:
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted(here.glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def raw(s: Session) -> duckdb.DuckDBPyConnection:
    """The DuckDB connection under a session, for bulk work (register a DataFrame, COPY, ...)
    inside the same transaction as the ORM writes."""
    return s.connection().connection.dbapi_connection  # type: ignore[return-value]


def forget(db: str | Path | None = None) -> None:
    """Drop cached engine state for a file (tests that delete and recreate stores)."""
    path = config.db_path(db)
    with _guard:
        _ready.discard(path)
