"""Which version is active, and the append-only audit of every promotion and rollback.

`active` has one row per forecast scope (this store file is one scope: 'default'); a promotion
replaces that row and appends to `promotions` in the same transaction, so exactly one version is
active at any time. `active_forecasts` is the stable view downstream readers use.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Session, SQLModel

from core.store.base import id_field, now
from core.store.schema import DDL

SCOPE = "default"


class Active(SQLModel, table=True):
    __tablename__ = "active"
    scope: str = Field(primary_key=True)
    version_id: int
    since: datetime = Field(default_factory=now)


class Promotion(SQLModel, table=True):
    """Append-only: rows are inserted, never updated or deleted."""

    __tablename__ = "promotions"
    id: int | None = id_field("promotions")
    action: str  # promote | rollback
    scope: str = SCOPE
    from_version: int | None = None
    to_version: int
    actor: str
    created_at: datetime = Field(default_factory=now)
    note: str
    override: bool = False
    override_reason: str | None = None
    metrics: str = "{}"  # JSON: both versions' pooled metrics at that moment


DDL += [
    """CREATE OR REPLACE VIEW active_forecasts AS
       SELECT f.version_id, f.series_id, s.sku, s.store, f.ds, f.yhat, f.yhat_lower,
              f.yhat_upper, f.model
       FROM forecasts f JOIN active a ON a.version_id = f.version_id AND a.scope = 'default'
       JOIN series s USING (series_id)""",
]


def active_version_id(s: Session, scope: str = SCOPE) -> int | None:
    row = s.get(Active, scope)
    return row.version_id if row else None


def set_active(s: Session, version_id: int, scope: str = SCOPE) -> int | None:
    """Point the scope at `version_id`; returns the previous one. Callers (core.registry) check
    roles, status and the gate, and append the Promotion row in the same transaction."""
    row = s.get(Active, scope)
    prev = row.version_id if row else None
    if row:
        row.version_id, row.since = version_id, now()
        s.add(row)
    else:
        s.add(Active(scope=scope, version_id=version_id))
    s.flush()
    return prev


