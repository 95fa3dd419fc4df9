"""The champion's live total read from `monitor_errors` alone.

Why: Compare's challenger line scores the active version with core.store.retrain.live_total,
which joins the version's forecasts with every sale (73M rows at 100,000 series) to rebuild, for
the active version, exactly the rows `monitor_errors` already holds: the active version's own
forecast (forecasts.yhat, no override) beside each actual that arrived. When those errors are in
step with the store (built for the active version, synced to the newest dataset), they are read
as they are; otherwise the caller takes the join.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from core.store import monitoring as ms
from core.store.db import raw
from core.store.monitoring import _PERIODS, _grain

_ERR = "(SELECT se.sku, se.store, me.ds, me.y, me.yhat FROM monitor_errors me JOIN series se USING (series_id))"


def champion_total(s: Session, version_id: int, start: date, grain: str = "week") -> tuple[float, float, int] | None:
    """core.store.retrain.live_total for the active version, or None when `monitor_errors` is
    not the active version's or not synced to the newest dataset."""
    active, built, synced, last = ms.errors_state(s)
    if not (active == version_id == built and synced == last):
        return None
    sql = _PERIODS.format(store="'*'", err=_ERR, where="ds >= ?")
    row = raw(s).execute(
        f"""{sql} SELECT metric_abs_err(y, yhat), metric_abs_y(y, yhat), count(DISTINCT period)
            FROM per""",  # noqa: S608 - constants only
        [_grain(grain), start],
    ).fetchone()
    return float(row[0] or 0), float(row[1] or 0), int(row[2] or 0)
