"""The promotion gate's common ground: both versions' chosen backtests on the same series, the
same cut-offs and the same dates, so the two WAPEs measure the same thing."""

from __future__ import annotations

from sqlmodel import Session

from core.store import version_rollups
from core.store.db import raw


def common_wape(s: Session, challenger: int, active: int) -> dict:
    """WAPE of each version over the backtest points both hold, and what those points are:
    keys challenger_wape, active_wape, series, cutoffs (sorted dates), points. From the
    versions' per-(series, cut-off) rollups when they say exactly which points both hold."""
    got = version_rollups.common_wape(s, challenger, active)
    if got is not None:
        return got
    row = raw(s).execute(
        """WITH c AS (SELECT series_id, cutoff, ds, y, yhat FROM chosen_backtests([?])
                      WHERE y IS NOT NULL AND yhat IS NOT NULL),
                a AS (SELECT series_id, cutoff, ds, y, yhat FROM chosen_backtests([?])
                      WHERE y IS NOT NULL AND yhat IS NOT NULL)
           SELECT metric_wape(c.y, c.yhat), metric_wape(a.y, a.yhat), count(DISTINCT series_id),
                  list(DISTINCT cutoff ORDER BY cutoff), count(*)
           FROM c JOIN a USING (series_id, cutoff, ds)""",
        [challenger, active],
    ).fetchone()
    return {"challenger_wape": None if row[0] is None else float(row[0]),
            "active_wape": None if row[1] is None else float(row[1]),
            "series": int(row[2] or 0), "cutoffs": list(row[3] or []), "points": int(row[4] or 0)}
