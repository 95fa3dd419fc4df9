"""Accounts and share links: the two ways into the app.

Passwords and link tokens are never stored: `users.password_hash` is an argon2 hash (made in
core.users) and `share_links.token_hash` the SHA-256 of a 256-bit random token (core.sharing).
Times are TIMESTAMPTZ so that expiry and lockout compare correctly whatever the server's zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, func, update
from sqlmodel import Field, Session, SQLModel, select

from core.store.base import id_field, now
from core.store.base import save as save_new
from core.store.schema import DDL


def _tz(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


def _created() -> Any:
    return Field(default_factory=now, sa_column=Column(DateTime(timezone=True), nullable=False))


def aware(t: datetime | None) -> datetime | None:
    """Stored times come back aware in the connection's zone; a naive one is UTC by contract."""
    if t is None:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


class User(SQLModel, table=True):
    """An account. Failed sign-ins are counted here, not in the session, so that a lock holds
    across browsers and server restarts; disabling keeps the row for the audit trails."""

    __tablename__ = "users"
    id: int | None = id_field("users")
    name: str = Field(unique=True)
    role: str
    password_hash: str
    created_at: datetime = _created()
    created_by: str = ""
    failed_attempts: int = 0
    locked_until: datetime | None = _tz()
    disabled: bool = False


class ShareLink(SQLModel, table=True):
    __tablename__ = "share_links"
    id: int | None = id_field("share_links")
    token_hash: str = Field(unique=True)
    label: str = ""
    created_by: str
    created_at: datetime = _created()
    expires_at: datetime = _created()
    revoked_at: datetime | None = _tz()
    revoked_by: str | None = None


# Opening a link is a pure read: stores made before that lose the use counter it once kept.
DDL += [f"ALTER TABLE share_links DROP COLUMN IF EXISTS {c}" for c in ("use_count", "last_used_at")]


# Users -------------------------------------------------------------------------------------


def count_users(s: Session) -> int:
    return int(s.exec(select(func.count()).select_from(User)).one())


def count_active_admins(s: Session) -> int:
    q = select(func.count()).select_from(User).where(User.role == "admin", User.disabled == False)  # noqa: E712
    return int(s.exec(q).one())


def get_user(s: Session, name: str) -> User | None:
    return s.exec(select(User).where(User.name == name)).first()


def list_users(s: Session) -> list[User]:
    return list(s.exec(select(User).order_by(User.name)).all())


def add_user(s: Session, user: User) -> User:
    return save_new(s, user)


def touch(s: Session) -> None:
    """A write that changes nothing: a failed sign-in for an unknown name costs what one for a
    real name does (its counter update), so timing does not tell which names exist."""
    s.execute(update(User).where(User.id == -1).values(failed_attempts=User.failed_attempts))
    s.flush()


def save(s: Session, row: User | ShareLink) -> None:
    """Write back changed columns of a row read in this session."""
    s.add(row)
    s.flush()


# Share links -------------------------------------------------------------------------------


def add_link(s: Session, link: ShareLink) -> ShareLink:
    return save_new(s, link)


def get_link(s: Session, link_id: int) -> ShareLink | None:
    return s.get(ShareLink, link_id)


def link_by_hash(s: Session, token_hash: str) -> ShareLink | None:
    return s.exec(select(ShareLink).where(ShareLink.token_hash == token_hash)).first()


def list_links(s: Session) -> list[ShareLink]:
    return list(s.exec(select(ShareLink).order_by(ShareLink.id.desc())).all())  # type: ignore[union-attr]
