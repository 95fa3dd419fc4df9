"""Issue 10 items 5 and 9: sign-in checks run outside the store's write lock, are rate-limited
per name and per caller, and every failure looks the same (message and work), so nobody learns
which accounts exist."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event

from core import users
from core.access import Actor
from core.errors import PermissionDenied
from core.store import db as db_mod

ADMIN = Actor("boss", "admin")
PW = "right-password-1"


@pytest.fixture
def accounts(db):
    users.create_first_admin("boss", "boss-password-1", db)
    users.add_user(ADMIN, "maya", "manager", PW, db)
    users.add_user(ADMIN, "gone", "viewer", PW, db)
    users.set_disabled(ADMIN, "gone", True, db)
    return db


def failure(name: str, password: str, db, **kw) -> str:
    with pytest.raises(PermissionDenied) as e:
        users.authenticate(name, password, db, **kw)
    return str(e.value)


def test_every_failure_gives_the_same_message(accounts, monkeypatch):
    db = accounts
    monkeypatch.setenv("SHELFCAST_LOGIN_MAX_FAILURES", "2")
    assert failure("nobody", PW, db) == users.BAD_LOGIN
    assert failure("maya", "wrong-password", db) == users.BAD_LOGIN
    assert failure("gone", PW, db) == users.BAD_LOGIN  # disabled, right password
    failure("maya", "wrong-password", db)  # second failure: maya is now locked
    failure("nobody", "wrong-password", db)
    assert failure("maya", PW, db) == users.BAD_LOGIN  # locked, even with the right password
    assert failure("nobody", PW, db) == users.BAD_LOGIN  # and an unknown name after as many tries
    assert users.authenticate("boss", "boss-password-1", db) == ADMIN


def test_unknown_and_known_names_cost_the_same_work(accounts, monkeypatch):
    """The same sessions, statements and argon2 verifies for an unknown name as for a real one
    with a wrong password (timing once differed by 45-60 ms: the real one wrote its counter)."""
    db = accounts
    engine = db_mod._engine(db_mod.config.db_path(db))
    log: list[str] = []

    def record(conn, cur, stmt, *a) -> None:
        log.append(stmt.split()[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    real_verify = users._verify
    monkeypatch.setattr(users, "_verify", lambda h, p: log.append("VERIFY") or real_verify(h, p))
    try:
        work = {}
        for name in ("maya", "nobody"):
            log.clear()
            failure(name, "wrong-password", db)
            work[name] = list(log)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert "VERIFY" in work["maya"] and "UPDATE" in work["maya"]
    assert work["nobody"] == work["maya"]


def test_argon2_runs_outside_the_write_lock(accounts, monkeypatch):
    """While a sign-in hashes, another thread of the app can still write at once."""
    db = accounts
    lock = db_mod._write_locks[db_mod.config.db_path(db)]
    free: list[bool] = []
    real = users._hasher

    class Hasher:  # the real argon2 hasher, checking the lock whenever it verifies
        def __getattr__(self, attr: str):
            return getattr(real, attr)

        def verify(self, h: str, p: str) -> bool:
            check()
            return real.verify(h, p)

    def check() -> None:
        def writer() -> None:  # what another thread's write does first
            got = lock.acquire(timeout=0.5)
            if got:
                lock.release()
            free.append(got)

        t = threading.Thread(target=writer)
        t.start()
        t.join()

    users._dummy_hash()  # made with the real hasher before it is wrapped
    monkeypatch.setattr(users, "_hasher", Hasher())
    failure("maya", "wrong-password", db)
    failure("nobody", "wrong-password", db)
    assert users.authenticate("maya", PW, db) == Actor("maya", "manager")
    assert free == [True, True, True]


def test_tries_are_rate_limited_per_name_and_per_caller(accounts, monkeypatch):
    db = accounts
    monkeypatch.setenv("SHELFCAST_LOGIN_RATE_PER_NAME", "3")
    monkeypatch.setenv("SHELFCAST_LOGIN_RATE_PER_CALLER", "4")
    monkeypatch.setenv("SHELFCAST_LOGIN_MAX_FAILURES", "100")
    monkeypatch.setattr(users, "_limiter", users._RateLimit())
    verifies: list[str] = []
    real_verify = users._verify
    monkeypatch.setattr(users, "_verify", lambda h, p: verifies.append(p) or real_verify(h, p))

    for _ in range(3):
        failure("maya", "guess", db)
    assert failure("maya", PW, db) == users.BAD_LOGIN  # over the limit: refused unchecked
    assert verifies == ["guess"] * 3
    # Per caller: one browser session guessing many names is stopped too, others are not.
    for name in ("a1", "a2", "a3", "a4"):
        failure(name, "guess", db, caller="session-1")
    assert failure("boss", "boss-password-1", db, caller="session-1") == users.BAD_LOGIN
    assert users.authenticate("boss", "boss-password-1", db, caller="session-2") == ADMIN
