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

import contextlib
import copy
import dataclasses
import functools
import hashlib
import logging
import os
import random
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb

from core import config
from core.errors import StoreBusy, ValidationError

if TYPE_CHECKING:  # SQLAlchemy and SQLModel cost a CLI command half a second: imported on first use
    from sqlalchemy.engine import Connection, Engine
    from sqlmodel import Session

T = TypeVar("T")
log = logging.getLogger(__name__)
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
            from sqlalchemy import create_engine, event
            from sqlalchemy.pool import NullPool

            engine = create_engine(f"duckdb:///{path}", poolclass=NullPool)
            event.listen(engine, "do_connect", functools.partial(_retrying_connect, path))
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


def _retrying_connect(path: Path, dialect, conn_rec, cargs, cparams):  # noqa: ANN001 - SQLAlchemy's hook
    """Every DBAPI connection the engine opens goes through the bounded retry: with NullPool a
    session reconnects after each commit (the first one after creating the schema, for one), and
    such a reconnect once failed with a raw 'Could not set lock' while another process held the
    file."""
    name = cargs[0] if cargs else cparams.get("database", "")
    conn = _retrying(lambda: _open(path, dialect, cargs, cparams), name)
    _keeper.touch(path, lambda: _open(path, dialect, cargs, cparams))
    return conn


def _open(path: Path, dialect, cargs, cparams):  # noqa: ANN001
    """A DBAPI connection whose close is watched: closing the last connection checkpoints the WAL
    into the file, a change of stat the read cache must not take for another process's write
    (`_SharedReads.own_change`), and it counts as activity for the keeper."""
    conn = dialect.connect(*cargs, **cparams)
    conn.execute(_NO_PROGRESS_BAR)
    close = conn.close

    def closing() -> None:
        with _shared.own_change(path):
            close()
        _keeper.touched(path)

    conn.close = closing
    return conn


class _Keeper:
    """One idle connection that keeps the database open in this process until it has gone
    `SHELFCAST_STORE_LINGER` seconds without opening or closing a connection (the server sets it;
    0, the default, keeps nothing open).

    Opening the file when no connection of the process has it open costs about 20 ms of CPU
    (catalog, WAL) and closing the last one checkpoints; a page run that must read opens it, and
    twenty sessions did so over and over, sometimes colliding with a closing connection ('Unique
    file handle conflict', retried with back-off). With the keeper a connection opens against the
    database already open (0.5 ms). Another process (`shelfcast ingest`) still gets the file: the
    keeper lets go after the linger, and warm page views open no connection at all.

    A busy server is never idle for the linger (a training run's progress, pages that poll it),
    and another process can open the file only while this one has no connection at all. So the
    keeper also lets go after holding the file `LEASE` seconds, and keeps nothing for `REST`
    seconds after: the page runs of that second open and close the file as without a keeper,
    leaving the gaps a waiting `shelfcast` command (retrying every 0.05-1.5 s) needs."""

    LEASE = 2.0
    REST = 1.0

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.conns: dict[Path, Any] = {}
        self.last: dict[Path, float] = {}
        self.since: dict[Path, float] = {}
        self.rest_until: dict[Path, float] = {}
        self.running = False

    @staticmethod
    def linger() -> float:
        return config.env_float("SHELFCAST_STORE_LINGER", 0.0)

    def touched(self, path: Path) -> None:
        with self.lock:
            if path in self.conns:
                self.last[path] = time.monotonic()

    def touch(self, path: Path, open_: Callable[[], Any]) -> None:
        """Called with a connection of this process open: keep the database open from here on."""
        if self.linger() <= 0:
            return
        with self.lock:
            now = time.monotonic()
            self.last[path] = now
            if path in self.conns or now < self.rest_until.get(path, 0.0):
                return
        try:
            conn = open_()  # the database is open in this process: no file open, no lock wait
        except Exception:  # noqa: BLE001 - only a speed-up; the caller's own connection is fine
            return
        with self.lock:
            spare = conn if path in self.conns else None
            if spare is None:
                self.conns[path] = conn
                self.since[path] = time.monotonic()
                if not self.running:
                    self.running = True
                    threading.Thread(target=self._run, name="shelfcast-store-keeper", daemon=True).start()
        if spare is not None:
            spare.close()

    def _run(self) -> None:
        while True:
            linger = max(self.linger(), 0.05)
            time.sleep(min(linger / 2, 0.25))
            with self.lock:
                now = time.monotonic()
                idle = [p for p in self.conns if now - self.last.get(p, 0) >= linger
                        or now - self.since.get(p, now) >= self.LEASE]
                done = [self.conns.pop(p) for p in idle]
                for p in idle:
                    self.rest_until[p] = now + self.REST
                stop = not self.conns
                if stop:
                    self.running = False
            for c in done:
                with contextlib.suppress(Exception):
                    c.close()
            if stop:
                return

    def close(self, path: Path) -> None:
        with self.lock:
            conn = self.conns.pop(path, None)
        if conn is not None:
            conn.close()


_keeper = _Keeper()


# DuckDB draws a progress bar on stdout for queries over 2 s, where `--json` output goes.
_NO_PROGRESS_BAR = "SET enable_progress_bar = false"


def _retrying(open_: Callable[[], T], name: object) -> T:
    """Open the file, waiting with backoff while another process holds it, up to the timeout."""
    limit = _timeout.get()
    if limit is None:
        limit = config.LOCK_TIMEOUT_S
    deadline = time.monotonic() + limit
    delay = 0.05
    while True:
        try:
            return open_()
        except Exception as exc:
            if not _is_lock_error(exc):
                raise
            if time.monotonic() >= deadline:
                raise StoreBusy(
                    f"The store {name} is in use "
                    f"by another Shelfcast process and stayed busy for {limit:.0f} "
                    "s. Try again in a minute; if it persists, check for a stuck `shelfcast` command."
                ) from exc
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)


@contextmanager
def lean(db: str | Path | None = None) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A bare DuckDB connection for a short read-only CLI command (`shelfcast versions`): no
    SQLAlchemy, SQLModel or pandas (together a second of a command's start-up). Yields None when
    the fast path does not apply and the caller must use `session()`: no store file yet, or one
    whose schema was not made by this store code (a `session()` brings it up to date first).
    Callers run constant SQL only: binding a parameter makes DuckDB import pandas."""
    path = config.db_path(db)
    if not path.is_file():
        yield None
        return
    _refuse_foreign(path)
    con = _retrying(lambda: duckdb.connect(str(path)), path)
    con.execute(_NO_PROGRESS_BAR)
    try:
        try:
            row = con.execute("SELECT value FROM settings WHERE key = 'schema_code'").fetchone()  # _MARK_KEY
        except duckdb.Error:
            row = None
        if not row or row[0] != _schema_mark():
            yield None
            return
        con.execute("BEGIN TRANSACTION")
        yield con
        con.execute("COMMIT")
    finally:
        con.close()


def _is_lock_error(exc: BaseException) -> bool:
    """Held by another process, or (within this process) a thread opened the file while another
    thread's closing connection was still detaching it: both pass if tried again a moment later.
    The second one made a Train-page job fail while the page polled its progress."""
    text = str(exc)
    return ("Could not set lock" in text or "Conflicting lock" in text
            or "Unique file handle conflict" in text)


def memo(db: str | Path | None, key: tuple, compute: Callable[[], T], *, auth: bool = False) -> T:
    """A pure read computed once per state of the store, for every session of this process: a
    page asks for the same per-SKU accuracy for its headline, its table and its worklist, and
    twenty people open the same pages. The result is kept in the unit of work (a page run: no
    check at all on the next ask) and in the process-wide cache (`_shared`), valid while the
    store's generation is unchanged (see `generation`). Every caller gets its own copy of a
    mutable result, so one session cannot change what another is shown.
    `auth=True` for reads of accounts, browser sessions and share links: only those are
    recomputed after a sign-in (`session(write=True, auth=True)`); every other read outlives it."""
    path = config.db_path(db)
    u = _unit.get()
    local = u is not None and u.path == path
    if local and key in u.memo:
        return _fresh(u.memo[key])
    value = _shared.get(path, key, compute, auth)
    if local:
        u.memo[key] = value
    return _fresh(value)


def shared_read(fn: Callable[..., T] | None = None, *, per_day: bool = False,
                env: tuple[str, ...] = ()) -> Any:
    """Decorator for a pure read method of an object bound to a store (`self.db`): the result
    goes through `memo`, keyed by the method and its arguments. Only for reads whose result
    depends on nothing but the store and the arguments, plus today's date (`per_day=True`: a
    forecast that "ends before today") and the named environment variables (`env`). Arguments
    that are not plain values (a DataFrame, say) skip the cache."""

    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        name = f"{fn.__module__}.{fn.__qualname__}:{fn.__code__.co_firstlineno}"  # lambdas share a name

        @functools.wraps(fn)
        def read(self: Any, *args: Any, **kw: Any) -> T:
            if not (_plain(args) and _plain(kw)):
                return fn(self, *args, **kw)
            key = (name, repr(args), repr(sorted(kw.items())), date.today() if per_day else None,
                   tuple(os.environ.get(v) for v in env))
            return memo(self.db, key, lambda: fn(self, *args, **kw))

        return read

    return wrap if fn is None else wrap(fn)


def _plain(x: Any, depth: int = 0) -> bool:
    """A value whose repr names it exactly (so it can be part of a cache key)."""
    if x is None or isinstance(x, (str, int, float, bool, bytes, date, Path)):
        return True
    if depth > 4:
        return False
    if isinstance(x, (list, tuple, set, frozenset)):
        return all(_plain(v, depth + 1) for v in x)
    if isinstance(x, dict):
        return all(_plain(k, depth + 1) and _plain(v, depth + 1) for k, v in x.items())
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return all(_plain(getattr(x, f.name), depth + 1) for f in dataclasses.fields(x))
    return False


_IMMUTABLE = (str, int, float, bool, bytes, type(None), date, Path)


def _fresh(value: T) -> T:
    """The caller's own copy of a cached result (immutable values are shared as they are)."""
    if isinstance(value, _IMMUTABLE):
        return value
    if type(value).__module__.startswith("pandas"):
        return value.copy(deep=True)  # type: ignore[attr-defined]
    if type(value).__module__.startswith("pyarrow") and type(value).__name__ in ("Table", "RecordBatch"):
        return value  # Arrow tables and batches cannot be changed in place
    if isinstance(value, tuple) and all(isinstance(v, _IMMUTABLE) for v in value):
        return value
    return copy.deepcopy(value)


def _stat(p: str) -> tuple | None:
    try:
        st = os.stat(p)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _size(value: Any, depth: int = 0) -> int:
    """Rough bytes held by a cached result (its frames' buffers; containers walked a little)."""
    if type(value).__module__.startswith("pandas"):
        return int(value.memory_usage(index=True, deep=False).sum()) if hasattr(value, "columns") \
            else int(value.memory_usage(index=True, deep=False))
    if type(value).__module__.startswith("pyarrow") and hasattr(value, "nbytes"):
        return int(value.nbytes)
    n = sys.getsizeof(value)
    if depth > 3:
        return n
    if isinstance(value, dict):
        return n + sum(_size(v, depth + 1) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return n + sum(_size(v, depth + 1) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return n + sum(_size(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value))
    return n


def _stats(path: Path) -> tuple:
    """The file's and its WAL's stat: what another process's write (or a checkpoint) changes."""
    return (_stat(str(path)), _stat(f"{path}.wal"))


class _SharedReads:
    """Pure reads shared by every session of the process, each valid for one generation of the
    store.

    A read of accounts, browser sessions or share links (`auth`): (writes begun and ended by this
    process, the DuckDB file's stat, its WAL's stat). Why both: a write by this process (any
    thread) moves the counter at its start and again after its commit, so a read computed while
    it ran is never served after it; a write by another process (the CLI's ingest, a cron job)
    can only happen while this process has the file closed (DuckDB lets one process hold it) and
    leaves the file or its WAL with a new size or mtime. A pure read leaves both untouched
    (checked: open, read, close changes no stat). While a write of this process is under way
    nothing is served or kept.

    Every other read: (this process's writes other than sign-in bookkeeping, an epoch). A sign-in
    writes (the failed-attempt counter, the browser session's row), and twenty people signing in
    made every session recompute every page's reads twenty times over, at 100,000 series seconds
    each. Those writes (`session(write=True, auth=True)`) touch no table other reads use, so they
    do not move this counter; the stat still guards against everything else: the epoch moves
    whenever the file and WAL differ from `known`, the stat the epoch stands for, except for
    changes this process saw itself make while holding the file and can account for: an auth
    write's commit and a connection's close (which checkpoints the WAL), both made while this
    process holds the file (`own_change`): the stat is compared just before (a change nobody
    accounted for still moves the epoch) and `known` becomes the stat just after.
    The one window left is between a last close and the stat after it (microseconds; another
    process needs far longer to open the file, write and commit).

    Bounded by SHELFCAST_READ_CACHE_MB (least recently used out first); concurrent asks for the
    same missing key compute it once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[tuple, tuple[tuple, Any, int]] = OrderedDict()
        self.bytes = 0
        self.writes: dict[Path, int] = {}
        self.writing: dict[Path, int] = {}
        self.data_writes: dict[Path, int] = {}
        self.data_writing: dict[Path, int] = {}
        self.known: dict[Path, tuple] = {}
        self.epoch: dict[Path, int] = {}
        self.accounting: dict[Path, int] = {}  # own changes under way (`own_change`)
        self.seq: dict[Path, int] = {}  # own changes begun or ended
        self.inflight: dict[tuple, tuple[int, threading.Event]] = {}  # key -> (thread computing it, done)
        self.hits = self.misses = 0

    @staticmethod
    def limit() -> int:
        return int(float(os.environ.get("SHELFCAST_READ_CACHE_MB", "256")) * 2**20)

    def generation(self, path: Path, auth: bool = False) -> tuple | None:
        if auth:
            with self.lock:
                if self.writing.get(path):
                    return None
                n = self.writes.get(path, 0)
            return ("auth", n, *_stats(path))
        with self.lock:
            if self.data_writing.get(path):
                return None
            seen, busy = self.seq.get(path, 0), self.accounting.get(path)
            gen = ("data", self.data_writes.get(path, 0), self.epoch.get(path, 0))
        if busy:
            return gen
        now = _stats(path)  # outside the lock: twenty threads queued on it while one sat in stat()
        with self.lock:
            if self.data_writing.get(path):
                return None
            # an own change began or ended since the stat was taken: the stat may be half of it,
            # and `known` is at least as new as the stat (own_change compares on entry)
            if self.seq.get(path, 0) == seen and not self.accounting.get(path) and self.known.get(path) != now:
                self.known[path] = now
                self.epoch[path] = self.epoch.get(path, 0) + 1
            return ("data", self.data_writes.get(path, 0), self.epoch.get(path, 0))

    @contextmanager
    def own_change(self, path: Path) -> Iterator[None]:
        """Around a change of the file that no read other than an auth read depends on (this
        process's own auth write, the checkpoint of a close), made while this process holds the
        file: if the stat before was the state the epoch stands for, the stat after is now. While
        it runs the stat is not compared (the change is half made; no other process can write
        meanwhile), so a read in another thread neither moves the epoch nor is refused."""
        with self.lock:
            if not self.accounting.get(path):  # a change nobody accounted for before this one
                self._compare(path)              # moves the epoch
            self.accounting[path] = self.accounting.get(path, 0) + 1
            self.seq[path] = self.seq.get(path, 0) + 1
        done = False
        try:
            yield
            done = True
        finally:
            with self.lock:
                self.accounting[path] -= 1
                self.seq[path] += 1
                # while own changes ran the stat was not compared, so `known` stood still: the
                # state after them is what the epoch stands for (an error leaves it to the next
                # comparison, which moves the epoch if the file changed after all)
                if done:
                    self.known[path] = _stats(path)

    def _compare(self, path: Path) -> None:
        """Under the lock: move the epoch if the file is not in the state it stands for."""
        now = _stats(path)
        if self.known.get(path) != now:
            self.known[path] = now
            self.epoch[path] = self.epoch.get(path, 0) + 1

    def write_begins(self, path: Path, auth: bool = False) -> None:
        with self.lock:
            self.writes[path] = self.writes.get(path, 0) + 1
            self.writing[path] = self.writing.get(path, 0) + 1
            if not auth:
                self.data_writes[path] = self.data_writes.get(path, 0) + 1
                self.data_writing[path] = self.data_writing.get(path, 0) + 1

    def write_ends(self, path: Path, auth: bool = False) -> None:
        with self.lock:
            self.writes[path] = self.writes.get(path, 0) + 1
            self.writing[path] -= 1
            if not auth:
                self.data_writes[path] = self.data_writes.get(path, 0) + 1
                self.data_writing[path] -= 1

    def _lookup(self, k: tuple, gen: tuple) -> tuple[bool, Any]:
        with self.lock:
            e = self.entries.get(k)
            if e is None:
                return False, None
            if e[0] != gen:
                self._drop(k)
                return False, None
            self.entries.move_to_end(k)
            self.hits += 1
            return True, e[1]

    def _drop(self, k: tuple) -> None:
        e = self.entries.pop(k, None)
        if e is not None:
            self.bytes -= e[2]

    def _keep(self, k: tuple, gen: tuple, value: Any) -> None:
        size, limit = _size(value), self.limit()
        with self.lock:
            self._drop(k)
            if size > limit // 4:  # one huge result would push out everything else
                return
            self.entries[k] = (gen, value, size)
            self.bytes += size
            while self.bytes > limit and self.entries:
                self._drop(next(iter(self.entries)))

    def get(self, path: Path, key: tuple, compute: Callable[[], T], auth: bool = False) -> T:
        if self.limit() <= 0:
            return compute()
        k = (path, key)
        me = threading.get_ident()
        while True:
            gen = self.generation(path, auth)
            if gen is None:
                return compute()
            found, value = self._lookup(k, gen)
            if found:
                return value
            with self.lock:
                self.misses += 1
                owner = self.inflight.get(k)
                if owner is None:
                    ev = threading.Event()
                    self.inflight[k] = (me, ev)
                    break
            if owner[0] == me:  # asked again while computing it (a re-entrant read): no waiting
                return compute()
            if not owner[1].wait(WAIT_S):  # another session is computing it: wait for its result
                log.warning("waited %.0f s for another session's read %r; computing it here", WAIT_S, key)
                return compute()
        try:
            value = compute()
            self._keep(k, gen, value)
            return value
        finally:
            with self.lock:
                self.inflight.pop(k, None)
            ev.set()

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.bytes = 0


WAIT_S = 20.0  # at most this long waiting for another session's computation of a read
_shared = _SharedReads()


def _connect(engine: Engine, path: Path) -> Session:
    """A session whose connection is open now, so that a held file is found here and not
    mid-work; the retry itself is in `_retrying_connect`. Inside a unit of work, the unit's
    connection, unless a session on it is still open (a session inside a session keeps its own
    transaction, as it did with its own connection)."""
    from sqlmodel import Session

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
    db: str | Path | None = None, *, write: bool = False, timeout: float | None = None,
    auth: bool = False,
) -> Iterator[Session]:
    """One transaction on the store: committed on success, rolled back on any error.

    `write=True` also takes the process-wide write lock for this file so that threads (app
    sessions, the background trainer) apply their changes one at a time. `auth=True` (with
    `write=True`) says the write touches only accounts, browser sessions or share links
    (core.users, core.browser_sessions, core.sharing): the shared reads of everything else stay
    valid across it (see `_SharedReads`), so a sign-in costs the other sessions nothing.
    """
    path = config.db_path(db)
    engine = _engine(path)
    lock = _write_locks[path] if write else None
    auth = auth and write
    if lock:
        lock.acquire()
        _shared.write_begins(path, auth)
        u = _unit.get()
        if u is not None and u.path == path:
            u.memo.clear()
    token = _timeout.set(timeout)  # for every (re)connection this session makes
    try:
        s = _connect(engine, path)
        try:
            if path not in _ready:
                _create_schema(s, path)
            # an auth write's change is accounted for, from a stat taken while this process holds
            # the file (its connection is open) to one taken after the commit
            with _shared.own_change(path) if auth else contextlib.nullcontext():
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
            _shared.write_ends(path, auth)
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

            _shared.write_begins(path)  # a write, whatever session it happens in
            try:
                schema.create_all(s)
                raw(s).execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", [_MARK_KEY, mark])
                s.commit()
            finally:
                _shared.write_ends(path)
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
    _keeper.close(path)
    with _guard:
        _ready.discard(path)
    _shared.clear()
