"""Accounts: who may sign in, with which role, and who acts on the command line.

Passwords are hashed with argon2id (argon2-cffi: salted, memory-hard, parameters stored in the
hash so they can be raised later; `needs_rehash` upgrades old hashes at the next sign-in). After
`max_failures()` wrong passwords in a row an account is locked for `lock_seconds()`; the lock
holds even against the right password, so guessing costs minutes, not milliseconds.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core.access import ROLES, Actor, require
from core.errors import NotFound, PermissionDenied, ValidationError
from core.store import session
from core.store import users as store
from core.store.base import now

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so that a wrong name costs as long as a wrong
    password and response times do not tell which names exist (made on first use, not import)."""
    return _hasher.hash("not a password: equalises timing for unknown names")

MIN_PASSWORD = 8
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
BAD_LOGIN = "Wrong user name or password."


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
    with session(db) as s:
        return store.count_users(s) > 0


def create_first_admin(name: str, password: str, db: str | os.PathLike | None = None) -> Actor:
    """The one-time bootstrap of a fresh store: refused as soon as any account exists (checked in
    the same write transaction, so two browsers racing to it cannot both win)."""
    _check_new(name, password, "admin")
    pw_hash = _hasher.hash(password)
    with session(db, write=True) as s:
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
    with session(db, write=True) as s:
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
    with session(db, write=True) as s:
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
    with session(db, write=True) as s:
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
    with session(db, write=True) as s:
        u = store.get_user(s, name)
        if u is None:
            raise NotFound(f"No user named {name!r}.")
        if (u.role == "admin" and role != "admin" and not u.disabled
                and store.count_active_admins(s) <= 1):
            raise ValidationError(f"{name} is the last enabled admin; make someone else admin first.")
        u.role = role
        store.save(s, u)
        return _info(u)


def authenticate(name: str, password: str, db: str | os.PathLike | None = None) -> Actor:
    """Check a sign-in; returns the Actor or raises PermissionDenied with a message for the form.

    Wrong name and wrong password give the same message. The failure counter and lock are
    written in the same transaction as the check.
    """
    with session(db, write=True) as s:
        u = store.get_user(s, name or "")
        if u is None:
            try:
                _hasher.verify(_dummy_hash(), password or "")
            except VerificationError:
                pass
            raise PermissionDenied(BAD_LOGIN)
        t = now()
        locked = store.aware(u.locked_until)
        if locked and locked > t:
            wait = max(1, int((locked - t).total_seconds() + 59) // 60)
            raise PermissionDenied(
                f"Too many failed sign-ins for {name}: try again in {wait} minute"
                f"{'s' if wait != 1 else ''}, or ask an admin."
            )
        try:
            _hasher.verify(u.password_hash, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            u.failed_attempts += 1
            if u.failed_attempts >= max_failures():
                u.locked_until = t + timedelta(seconds=lock_seconds())
                u.failed_attempts = 0
            store.save(s, u)
            failed = PermissionDenied(BAD_LOGIN)
        else:
            failed = None
    if failed:  # raised outside the session so the counter is committed, not rolled back
        raise failed
    with session(db, write=True) as s:
        u = store.get_user(s, name)
        if u is None or u.disabled:
            raise PermissionDenied(f"The account {name} is disabled; ask an admin.")
        if _hasher.check_needs_rehash(u.password_hash):
            u.password_hash = _hasher.hash(password)
        u.failed_attempts, u.locked_until = 0, None
        store.save(s, u)
        return Actor(u.name, u.role)


def current(name: str, db: str | os.PathLike | None = None) -> Actor | None:
    """The account as it is now (role changes and disabling apply to open sessions at their next
    click); None if it no longer exists or is disabled."""
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
