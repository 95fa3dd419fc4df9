"""Read-only share links for people without an account (executives).

A link carries `secrets.token_urlsafe(32)`: 256 random bits, so guessing one is hopeless. The
store keeps only the token's SHA-256 (a fast hash is enough for a random 256-bit secret; a slow
one protects guessable passwords), so a copy of the store does not hand out working links. Links
expire (30 days unless told otherwise) and can be revoked; opening one writes nothing. A
resolved link acts as a `via_link` viewer, which `Actor.can` limits to "view".
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import config
from core.access import Actor, require
from core.errors import NotFound, ValidationError
from core.store import session
from core.store import users as store
from core.store.base import now
from core.store.db import memo

DEFAULT_DAYS = 30
MAX_DAYS = 366
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([hdw]?)\s*$")


@dataclass(frozen=True)
class LinkInfo:
    """A link as listed (never the token, which is not stored)."""

    id: int
    label: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        return "expired" if self.expires_at <= now() else "active"

    def to_json(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["status"] = self.status
        return d


@dataclass(frozen=True)
class NewLink:
    """What `create` returns: the only moment the URL (with its token) exists in full."""

    info: LinkInfo
    url: str


def _info(link: store.ShareLink) -> LinkInfo:
    return LinkInfo(
        id=int(link.id or 0), label=link.label, created_by=link.created_by,
        created_at=store.aware(link.created_at),  # type: ignore[arg-type]
        expires_at=store.aware(link.expires_at),  # type: ignore[arg-type]
        revoked_at=store.aware(link.revoked_at),
    )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_duration(text: str | int | timedelta) -> timedelta:
    """'30d', '12h', '2w' or a number of days -> timedelta, between 1 hour and a year."""
    if isinstance(text, timedelta):
        d = text
    elif isinstance(text, int):
        d = timedelta(days=max(min(text, MAX_DAYS + 1), -1))
    else:
        m = _DURATION_RE.match(text or "")
        if not m:
            raise ValidationError(
                f"Expiry {str(text)[:40]!r} not understood: write a number of hours, days or "
                "weeks such as 12h, 30d or 2w."
            )
        unit = {"h": "hours", "d": "days", "": "days", "w": "weeks"}[m.group(2)]
        # A number too large for a timedelta (or for int()) is simply past the limit below.
        digits = m.group(1).lstrip("0")
        d = timedelta(**{unit: int(digits or 0)}) if len(digits) <= 6 else timedelta(days=MAX_DAYS + 1)
    if d < timedelta(hours=1) or d > timedelta(days=MAX_DAYS):
        raise ValidationError(f"A link must expire between 1 hour and {MAX_DAYS} days from now.")
    return d


def url_for(token: str) -> str:
    return f"{config.base_url()}/?share={token}"


def create(actor: Actor, label: str = "", expires: str | int | timedelta = DEFAULT_DAYS,
           db: str | os.PathLike | None = None) -> NewLink:
    require(actor, "share")
    label = (label or "").strip()
    if len(label) > 120:
        raise ValidationError("Keep the label under 120 characters (who the link is for).")
    ttl = parse_duration(expires)
    token = secrets.token_urlsafe(32)
    t = now()
    with session(db, write=True, auth=True) as s:
        link = store.add_link(s, store.ShareLink(
            token_hash=hash_token(token), label=label, created_by=actor.name,
            created_at=t, expires_at=t + ttl,
        ))
        return NewLink(info=_info(link), url=url_for(token))


def list_links(actor: Actor, db: str | os.PathLike | None = None) -> list[LinkInfo]:
    require(actor, "share")
    with session(db) as s:
        return [_info(x) for x in store.list_links(s)]


def revoke(actor: Actor, link_id: int, db: str | os.PathLike | None = None) -> LinkInfo:
    """Revoke a link at once: the next click of anyone holding it shows 'not valid'."""
    require(actor, "share")
    with session(db, write=True, auth=True) as s:
        link = store.get_link(s, int(link_id))
        if link is None:
            raise NotFound(f"No share link with id {link_id}; `shelfcast share list` shows them.")
        if link.revoked_at is None:
            link.revoked_at, link.revoked_by = now(), actor.name
            store.save(s, link)
        return _info(link)


def resolve(token: str | None, db: str | os.PathLike | None = None) -> Actor | None:
    """The read-only Actor for a valid token, else None (malformed, unknown, expired, revoked).

    Writes nothing: a share link is a pure read (no use counter, no last-seen time), so an
    executive's view can never change the store. The app re-checks on every click, so a
    revocation takes effect at once."""
    if not token or not _TOKEN_RE.match(token):
        return None
    h = hash_token(token)
    # The link's row is a pure read shared by every session (memo: recomputed after any write,
    # so a revocation shows at once); expiry is checked against the clock on every call.
    found = memo(db, ("share_link", h), lambda: _link_state(h, db), auth=True)
    if found is None:
        return None
    link_id, expires_at, revoked = found
    if revoked or expires_at <= now():
        return None
    return Actor(f"share link {link_id}", "viewer", via_link=True)


def _link_state(h: str, db) -> tuple[int, datetime, bool] | None:
    with session(db) as s:
        link = store.link_by_hash(s, h)
        if link is None:
            return None
        return int(link.id), store.aware(link.expires_at), link.revoked_at is not None
