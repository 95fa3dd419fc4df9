"""Weekly actuals per SKU x store for the managers' forecast view (Monday weeks, summed in DuckDB)."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlmodel import Session

from core.store.db import raw


def weekly_actuals(s: Session, since: date) -> pd.DataFrame:
    """Columns sku, store, week (the Monday), units, days (how many dates the week holds)."""
    return raw(s).execute(
        """SELECT sku, store, CAST(date_trunc('week', ds) AS DATE) AS week, sum(y) AS units,
                  count(DISTINCT ds) AS days
           FROM sales JOIN series USING (series_id) WHERE ds >= ? GROUP BY ALL""",
        [since],
    ).df()


def active_span(s: Session, after: date | None) -> tuple[int | None, date | None, date | None, int]:
    """The published version, its first and last forecast date, and how many distinct forecast
    dates lie after `after` (the last actual)."""
    row = raw(s).execute(
        """SELECT any_value(version_id), min(ds), max(ds),
                  count(DISTINCT ds) FILTER (WHERE ? IS NULL OR ds > ?)
           FROM active_forecasts""",
        [after, after],
    ).fetchone()
    return row[0], row[1], row[2], int(row[3] or 0)
