"""Browser sessions: the SHA-256 of each sign-in token, its account, expiry and revocation.

The table is made on first write (`ensure`) as well as at schema creation, so a store whose
schema mark was set by a process that never imported this module still gets it.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
from sqlalchemy import text
from sqlmodel import Session

from core.store.schema import DDL

_TABLE = """CREATE TABLE IF NOT EXISTS user_sessions (
    token_hash VARCHAR PRIMARY KEY, user_name VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ NOT NULL, revoked_at TIMESTAMPTZ)"""
DDL.append(_TABLE)


def ensure(s: Session) -> None:
    s.execute(text(_TABLE))


def add(s: Session, token_hash: str, user_name: str, created_at: datetime, expires_at: datetime) -> None:
    ensure(s)
    s.execute(text("INSERT INTO user_sessions VALUES (:h, :u, :c, :e, NULL)"),
              {"h": token_hash, "u": user_name, "c": created_at, "e": expires_at})


def get(s: Session, token_hash: str) -> tuple[str, datetime, datetime | None] | None:
    """(user name, expires at, revoked at), or None for an unknown token or a store without
    the table yet (a read never creates it)."""
    try:
        row = s.execute(text("SELECT user_name, expires_at, revoked_at FROM user_sessions "
                             "WHERE token_hash = :h"), {"h": token_hash}).first()
    except Exception as exc:  # noqa: BLE001 - only a missing table is expected here
        if isinstance(getattr(exc, "orig", exc), duckdb.CatalogException):
            s.rollback()
            return None
        raise
    return None if row is None else (row[0], row[1], row[2])


def revoke(s: Session, token_hash: str, at: datetime) -> int:
    ensure(s)
    r = s.execute(text("UPDATE user_sessions SET revoked_at = :t WHERE token_hash = :h "
                       "AND revoked_at IS NULL RETURNING token_hash"), {"t": at, "h": token_hash})
    return len(r.fetchall())

