"""Worklist tables: who owns a SKU (x store) on Monitor's worklist and until when it is snoozed,
plus the append-only record of every change (who, what, when).

A row is keyed by SKU and store (`*` = the SKU with its stores summed), not by alert: alerts
come and go with each evaluation, the work on a SKU outlives them. Like the sessions table it
is made on first write as well as at schema creation, and a read of a store without it is empty.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pandas as pd
from sqlalchemy import text
from sqlmodel import Session

from core.store.db import raw
from core.store.schema import DDL

_ITEMS = """CREATE TABLE IF NOT EXISTS worklist_items (
    sku VARCHAR NOT NULL, store VARCHAR NOT NULL, assignee VARCHAR, snooze_until DATE,
    updated_by VARCHAR NOT NULL, updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (sku, store))"""
_EVENTS = """CREATE TABLE IF NOT EXISTS worklist_events (
    created_at TIMESTAMPTZ NOT NULL, sku VARCHAR NOT NULL, store VARCHAR NOT NULL, action VARCHAR NOT NULL,
    actor VARCHAR NOT NULL, value VARCHAR, note VARCHAR)"""
DDL += [_ITEMS, _EVENTS]
# One statement per settable field, written out: no SQL text is assembled at run time.
_UPSERT = {f: f"""INSERT INTO worklist_items (sku, store, {f}, updated_by, updated_at)
    VALUES (:sku, :store, :v, :who, :at)
    ON CONFLICT (sku, store) DO UPDATE SET {f} = excluded.{f},
        updated_by = excluded.updated_by, updated_at = excluded.updated_at"""  # noqa: S608 - f is a fixed name
           for f in ("assignee", "snooze_until")}
ITEM_COLUMNS = ["sku", "store", "assignee", "snooze_until", "updated_by", "updated_at"]
EVENT_COLUMNS = ["created_at", "sku", "store", "action", "actor", "value", "note"]


def ensure(s: Session) -> None:
    s.execute(text(_ITEMS))
    s.execute(text(_EVENTS))


def _read(s: Session, sql: str, columns: list[str]) -> pd.DataFrame:
    try:
        return raw(s).execute(sql).df()
    except duckdb.CatalogException:  # a store made before these tables: nothing recorded yet
        return pd.DataFrame(columns=columns)


def items(s: Session) -> pd.DataFrame:
    """Every row's assignee and snooze date (rows never touched are absent)."""
    return _read(s, "SELECT sku, store, assignee, snooze_until, updated_by, updated_at FROM worklist_items "
                    "ORDER BY sku, store", ITEM_COLUMNS)


def events(s: Session) -> pd.DataFrame:
    """The history, newest first (the last 500 changes)."""
    return _read(s, "SELECT created_at, sku, store, action, actor, value, note FROM worklist_events "
                    "ORDER BY created_at DESC LIMIT 500", EVENT_COLUMNS)


def set_item(s: Session, sku: str, store: str, field: str, value: str | date | None, actor: str,
             at: datetime, note: str | None = None) -> None:
    """Set one field (assignee or snooze_until) of a row, creating the row, and record the event."""
    ensure(s)
    s.execute(text(_UPSERT[field]), {"sku": sku, "store": store, "v": value, "who": actor, "at": at})
    add_event(s, sku, store, "assigned" if field == "assignee" else "snoozed", actor,
              None if value is None else str(value), note, at)


def add_event(s: Session, sku: str, store: str, action: str, actor: str, value: str | None,
              note: str | None, at: datetime) -> None:
    ensure(s)
    s.execute(text("INSERT INTO worklist_events VALUES (:at, :sku, :store, :a, :who, :v, :n)"),
              {"at": at, "sku": sku, "store": store, "a": action, "who": actor, "v": value, "n": note})
