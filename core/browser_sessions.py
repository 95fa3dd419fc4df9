"""Sign-ins that survive a browser reload: a random token in a cookie, only its hash stored.

The browser holds `secrets.token_urlsafe(32)` (256 random bits, nothing derived from the user),
the store its SHA-256 with the account, an expiry (`hours()`, 12 by default) and a revocation
time. Signing out revokes the token, so a copied cookie stops working at once; a disabled
account stops it too because `resolve` re-reads the account on every run. There is no Actor
parameter here on purpose: a session is issued only by checking a password (`sign_in`), and
revoking needs only possession of the token.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from datetime import timedelta

from core import users
from core.access import Actor
from core.store import session
from core.store import sessions as store
from core.store.base import now
from core.store.db import memo

COOKIE = "shelfcast_session"
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{40,100}$")


def hours() -> float:
    return float(os.environ.get("SHELFCAST_SESSION_HOURS", "12"))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _issue(name: str, db: str | os.PathLike | None) -> str:
    """A new token for an account whose password was just checked (or just set)."""
    token = secrets.token_urlsafe(32)
    t = now()
    with session(db, write=True, auth=True) as s:
        store.add(s, _hash(token), name, t, t + timedelta(hours=hours()))
    return token


def sign_in(name: str, password: str, db: str | os.PathLike | None = None,
            caller: str | None = None) -> tuple[Actor, str]:
    """Check the password (all of `users.authenticate`'s locks and limits) and issue a token."""
    a = users.authenticate(name, password, db, caller=caller)
    return a, _issue(a.name, db)


def create_first_admin(name: str, password: str, db: str | os.PathLike | None = None) -> tuple[Actor, str]:
    """The one-time first admin (refused once any account exists), signed in at once."""
    a = users.create_first_admin(name, password, db)
    return a, _issue(a.name, db)


def resolve(token: str | None, db: str | os.PathLike | None = None) -> Actor | None:
    """The account behind a cookie as it is now, or None (malformed, unknown, expired, revoked,
    account disabled or removed). Writes nothing."""
    if not isinstance(token, str) or not _TOKEN_RE.match(token):
        return None
    h = _hash(token)
    row = memo(db, ("browser_session", h), lambda: _row(h, db), auth=True)  # recomputed after any write
    if row is None:
        return None
    name, expires_at, revoked_at = row
    if revoked_at is not None or users.store.aware(expires_at) <= now():
        return None
    return users.current(name, db)


def sign_out(token: str | None, db: str | os.PathLike | None = None) -> bool:
    """Revoke the token; True if it was live."""
    if not isinstance(token, str) or not _TOKEN_RE.match(token):
        return False
    with session(db, write=True, auth=True) as s:
        return store.revoke(s, _hash(token), now()) > 0


def _row(h: str, db) -> tuple | None:
    with session(db) as s:
        row = store.get(s, h)
    return None if row is None else tuple(row)
