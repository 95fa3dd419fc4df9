"""Accounts: who may sign in, with which role, and who acts on the command line.

Passwords are hashed with argon2id (argon2-cffi: salted, memory-hard, parameters stored in the
hash so they can be raised later; `needs_rehash` upgrades old hashes at the next sign-in). After
`max_failures()` wrong passwords in a row an account is locked for `lock_seconds()`; the lock
holds even against the right password, so guessing costs minutes, not milliseconds.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core import config
from core.access import ROLES, Actor, require
from core.errors import NotFound, PermissionDenied, ValidationError
from core.store import session
from core.store import users as store
from core.store.base import now
from core.store.db import memo

# argon2id at OWASP's minimum (19 MiB, 2 passes, 1 lane) rather than argon2-cffi's default
# (RFC 9106's 64 MiB, 3 passes, 4 lanes): the server verifies every browser's sign-in in one
# process on a small machine, and 20 people signing in at once queued for 13 s behind the default.
# Hashes made with other parameters still verify (they carry their own) and are redone with these
# at the account's next sign-in (`check_needs_rehash`). argon2-cffi's C call releases the GIL, so
# a verify does not stall the other sessions' page runs beyond the core it takes.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so that a wrong name costs as long as a wrong
    password and response times do not tell which names exist (made on first use, not import)."""
    return _hasher.hash("not a password: equalises timing for unknown names")

MIN_PASSWORD = 8
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# The one message for every failed sign-in: it must not tell whether the name exists, is locked
# or is disabled (an outsider would learn the account list), so it names all the causes.
BAD_LOGIN = ("Wrong user name or password. Too many failed sign-ins lock an account for a few "
             "minutes; an admin can unlock it, or enable a disabled account.")


def max_failures() -> int:
    return int(os.environ.get("SHELFCAST_LOGIN_MAX_FAILURES", "5"))


def lock_seconds() -> float:
    return float(os.environ.get("SHELFCAST_LOGIN_LOCK_SECONDS", "300"))


@dataclass(frozen=True)
class UserInfo:
    """What pages and the CLI show about an account (never the hash)."""

    id: int
    name: str
    role: str
    disabled: bool
    created_at: datetime
    created_by: str
    failed_attempts: int
    locked_until: datetime | None

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _info(u: store.User) -> UserInfo:
    return UserInfo(
        id=int(u.id or 0), name=u.name, role=u.role, disabled=u.disabled,
        created_at=store.aware(u.created_at), created_by=u.created_by,  # type: ignore[arg-type]
        failed_attempts=u.failed_attempts, locked_until=store.aware(u.locked_until),
    )


def _check_new(name: str, password: str, role: str) -> None:
    if not NAME_RE.match(name or ""):
        raise ValidationError(
            "User names are 1-64 characters: letters, digits and . _ @ - (starting with a letter "
            "or digit)."
        )
    if role not in ROLES:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError(f"The password needs at least {MIN_PASSWORD} characters.")


def has_users(db: str | os.PathLike | None = None) -> bool:
    """Asked on every page run (the gate): shared by all sessions until the store changes."""
    return memo(db, ("has_users",), lambda: _count(db) > 0, auth=True)


def _count(db) -> int:
    with session(db) as s:
        return store.count_users(s)


def create_first_admin(name: str, password: str, db: str | os.PathLike | None = None) -> Actor:
    """The one-time bootstrap of a fresh store: refused as soon as any account exists (checked in
    the same write transaction, so two browsers racing to it cannot both win)."""
    _check_new(name, password, "admin")
    pw_hash = _hasher.hash(password)
    with session(db, write=True, auth=True) as s:
        if store.count_users(s):
            raise PermissionDenied("The first admin already exists; sign in instead.")
        store.add_user(s, store.User(name=name, role="admin", password_hash=pw_hash,
                                     created_by="first start"))
    return Actor(name, "admin")


def add_user(actor: Actor, name: str, role: str, password: str,
             db: str | os.PathLike | None = None) -> UserInfo:
    """Create an account. On a store with no accounts yet the first must be an admin, otherwise
    nobody could manage users afterwards."""
    require(actor, "manage_users")
    _check_new(name, password, role)
    pw_hash = _hasher.hash(password)
    with session(db, write=True, auth=True) as s:
        if not store.count_users(s) and role != "admin":
            raise ValidationError("The first account must be an admin: use --role admin.")
        if store.get_user(s, name):
            raise ValidationError(f"A user named {name!r} already exists.")
        u = store.add_user(s, store.User(name=name, role=role, password_hash=pw_hash,
                                         created_by=actor.name))
        return _info(u)


def list_users(actor: Actor, db: str | os.PathLike | None = None) -> list[UserInfo]:
    require(actor, "manage_users")
    with session(db) as s:
        return [_info(u) for u in store.list_users(s)]


def set_disabled(actor: Actor, name: str, disabled: bool = True,
                 db: str | os.PathLike | None = None) -> UserInfo:
    """Disable (or re-enable) an account. The last enabled admin cannot be disabled: that would
    leave nobody able to manage users."""
    require(actor, "manage_users")
    with session(db, write=True, auth=True) as s:
        u = store.get_user(s, name)
        if u is None:
            raise NotFound(f"No user named {name!r}.")
        if disabled and not u.disabled and u.role == "admin" and store.count_active_admins(s) <= 1:
            raise ValidationError(f"{name} is the last enabled admin; add another admin first.")
        u.disabled = disabled
        if not disabled:
            u.failed_attempts, u.locked_until = 0, None
        store.save(s, u)
        return _info(u)


def set_password(actor: Actor, name: str, password: str,
                 db: str | os.PathLike | None = None) -> UserInfo:
    """An admin sets a new password (a forgotten one, or after a handover); it also lifts a
    sign-in lock."""
    require(actor, "manage_users")
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError(f"The password needs at least {MIN_PASSWORD} characters.")
    pw_hash = _hasher.hash(password)
    with session(db, write=True, auth=True) as s:
        u = store.get_user(s, name)
        if u is None:
            raise NotFound(f"No user named {name!r}.")
        u.password_hash, u.failed_attempts, u.locked_until = pw_hash, 0, None
        store.save(s, u)
        return _info(u)


def set_role(actor: Actor, name: str, role: str,
             db: str | os.PathLike | None = None) -> UserInfo:
    """Change an account's role; it applies at the user's next click. The last enabled admin
    keeps the admin role."""
    require(actor, "manage_users")
    if role not in ROLES:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    with session(db, write=True, auth=True) as s:
        u = store.get_user(s, name)
        if u is None:
            raise NotFound(f"No user named {name!r}.")
        if (u.role == "admin" and role != "admin" and not u.disabled
                and store.count_active_admins(s) <= 1):
            raise ValidationError(f"{name} is the last enabled admin; make someone else admin first.")
        u.role = role
        store.save(s, u)
        return _info(u)


def authenticate(name: str, password: str, db: str | os.PathLike | None = None,
                 caller: str | None = None) -> Actor:
    """Check a sign-in; returns the Actor or raises PermissionDenied(BAD_LOGIN).

    Every failure (unknown name, wrong password, locked, disabled, too many tries) gives the
    same message and costs the same work: one read, one argon2 verify (against a dummy hash for
    an unknown name), one short write. The verify runs outside any session, so the ~0.3 s of
    argon2 never holds the store's write lock, and at most VERIFY_SLOTS run at once. Tries are
    rate-limited per name and per `caller` (the browser session or client) before any of that.
    """
    name, password = name or "", password or ""
    path = str(config.db_path(db))
    if not _limiter.allow((path, "name", name)) or (
            caller is not None and not _limiter.allow((path, "caller", caller))):
        raise PermissionDenied(BAD_LOGIN)
    with session(db) as s:
        u = store.get_user(s, name)
        known = (u.password_hash, u.role, u.disabled, store.aware(u.locked_until)) if u else None
    ok = _verify(known[0] if known else _dummy_hash(), password)
    t = now()
    usable = known is not None and not known[2] and not (known[3] and known[3] > t)
    rehash = _hasher.hash(password) if ok and usable and _hasher.check_needs_rehash(known[0]) else None
    with session(db, write=True, auth=True) as s:  # the same short write whether or not the name exists
        u = store.get_user(s, name)
        if u is not None and known is not None and u.password_hash == known[0]:
            if ok and usable:
                u.failed_attempts, u.locked_until = 0, None
                if rehash:
                    u.password_hash = rehash
            elif not (known[3] and known[3] > t):  # a lock is not extended by tries during it
                u.failed_attempts += 1
                if u.failed_attempts >= max_failures():
                    u.locked_until = t + timedelta(seconds=lock_seconds())
                    u.failed_attempts = 0
            store.save(s, u)
        else:
            ok = False  # unknown, or the password changed meanwhile
            store.touch(s)
    if not (ok and usable):
        raise PermissionDenied(BAD_LOGIN)
    return Actor(name, known[1])


def _verify(pw_hash: str, password: str) -> bool:
    with _verify_slots:
        try:
            return _hasher.verify(pw_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


class _RateLimit:
    """At most `limit()` tries per key in a sliding minute, in this process (the app serves all
    browser sessions from one process; the CLI has no sign-in). Over the limit a try is refused
    before any hashing, so guessing cannot take the CPU either."""

    def __init__(self) -> None:
        self._tries: dict[tuple, deque] = {}
        self._lock = threading.Lock()

    @staticmethod
    def limit(kind: str) -> int:
        var = "SHELFCAST_LOGIN_RATE_PER_NAME" if kind == "name" else "SHELFCAST_LOGIN_RATE_PER_CALLER"
        return int(os.environ.get(var, "10" if kind == "name" else "20"))

    def allow(self, key: tuple) -> bool:
        t = time.monotonic()
        with self._lock:
            if len(self._tries) > 10_000:  # forget idle keys so made-up names cannot fill memory
                self._tries = {k: q for k, q in self._tries.items() if q and q[-1] > t - 60}
            q = self._tries.setdefault(key, deque())
            while q and q[0] <= t - 60:
                q.popleft()
            if len(q) >= self.limit(key[1]):
                return False
            q.append(t)
            return True


_limiter = _RateLimit()
VERIFY_SLOTS = 2
_verify_slots = threading.BoundedSemaphore(VERIFY_SLOTS)


def current(name: str, db: str | os.PathLike | None = None) -> Actor | None:
    """The account as it is now (role changes and disabling apply to open sessions at their next
    click); None if it no longer exists or is disabled."""
    return memo(db, ("account", name), lambda: _current(name, db), auth=True)


def _current(name: str, db) -> Actor | None:
    with session(db) as s:
        u = store.get_user(s, name)
        return None if u is None or u.disabled else Actor(u.name, u.role)


def cli_actor(name: str, db: str | os.PathLike | None = None) -> Actor:
    """Who acts on the command line.

    With no accounts in the store, the local operator acts as admin: whoever can run the CLI
    can already read and write the store file directly, so a check here would protect nothing,
    and it lets `shelfcast user add` create the first admin. Once accounts exist, `--user` (or
    $SHELFCAST_USER) must name an enabled account and its stored role applies, so scripted jobs
    run with the least role they need.
    """
    with session(db) as s:
        if not store.count_users(s):
            return Actor(name, "admin")
        u = store.get_user(s, name)
    if u is None:
        raise PermissionDenied(
            f"No account named {name!r} in this store. Pass --user NAME (or set SHELFCAST_USER) "
            "naming an account; an admin lists them with `shelfcast user list`."
        )
    if u.disabled:
        raise PermissionDenied(f"The account {name} is disabled; ask an admin.")
    return Actor(u.name, u.role)
