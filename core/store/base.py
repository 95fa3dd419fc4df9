"""Helpers shared by the table modules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Integer, Sequence
from sqlmodel import Field


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
