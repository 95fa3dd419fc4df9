"""Creates every table. Table modules register their SQLModel classes on import and may add
raw DDL (bulk data tables, views) to DDL."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text
from sqlmodel import Session, SQLModel

# SQL statements, or functions of the session for a step that must look first (a migration).
DDL: list[str | Callable[[Session], None]] = []


def create_all(s: Session) -> None:
    # Importing the table modules registers their tables and DDL.
    # Order matters: views come after the tables they read.
    from core.store import datasets, sales, users, versions  # noqa: F401, I001
    from core.store import registry  # noqa: F401
    from core.store import monitoring  # noqa: F401  (views over active_forecasts)
    from core.store import train_jobs  # noqa: F401
    from core.store import inventory  # noqa: F401  (uses chosen_backtests)
    from core.store import forecast_view  # noqa: F401  (the Forecast view's kept actuals)
    from core.store import retrain  # noqa: F401  (challengers, retrain runs)
    from core.store import sessions  # noqa: F401  (signed-in browser sessions)
    from core.store import worklist  # noqa: F401  (worklist assignee, snooze, events)

    SQLModel.metadata.create_all(s.connection())
    for stmt in DDL:
        if callable(stmt):
            stmt(s)
        else:
            s.execute(text(stmt))
