"""Helpers shared by the table modules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Column, Integer, Sequence
from sqlmodel import Field, Session

T = TypeVar("T")


def now() -> datetime:
    return datetime.now(UTC)


def id_field(table: str) -> Any:
    """An integer primary key drawn from a Sequence: SQLModel's default emits SERIAL, which
    DuckDB rejects."""
    seq = Sequence(f"{table}_id_seq")
    return Field(
        default=None,
        sa_column=Column(Integer, seq, primary_key=True, server_default=seq.next_value()),
    )


def save(s: Session, row: T) -> T:
    """Insert or update one ORM row and read back what the database filled in (ids, defaults)."""
    s.add(row)
    s.flush()
    s.refresh(row)
    return row


def delete(s: Session, row: object | None) -> bool:
    """Delete one ORM row if there is one; whether there was (the caller's NotFound)."""
    if row is None:
        return False
    s.delete(row)
    s.flush()
    return True
