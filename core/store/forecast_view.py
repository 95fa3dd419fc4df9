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
