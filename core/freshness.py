"""Is the published forecast still a plan? How many of its periods lie after the last actual,
and whether it ends before today or before the last actual plus the lead time (an order placed
now would arrive after the forecast ends). Pages show this and say what to do: a forecast that
runs out is refreshed by training and promoting a new version on the latest sales.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta

from core.store import forecast_view as store
from core.store import sales, session


def lead_days() -> int:
    return int(os.environ.get("SHELFCAST_LEAD_DAYS", "7"))


@dataclass(frozen=True)
class Freshness:
    version: int | None
    forecast_start: date | None
    forecast_end: date | None
    last_actual: date | None
    periods_left: int  # forecast dates after the last actual
    lead_days: int
    ends_before_today: bool
    ends_before_lead: bool

    @property
    def stale(self) -> bool:
        return self.version is not None and (self.ends_before_today or self.ends_before_lead)

    @property
    def message(self) -> str:
        """One sentence for a banner: how much is left and, if stale, what to do."""
        if self.version is None:
            return "No forecast is published yet."
        left = (f"The published forecast (version {self.version}) runs to {self.forecast_end}: "
                f"{self.periods_left} period(s) after the last sales ({self.last_actual}).")
        if self.periods_left == 0:
            return (left + " It lies entirely in the past, so it plans nothing. Retrain on the "
                    "latest sales and promote the new version.")
        if self.ends_before_lead:
            return (left + f" That is less than the {self.lead_days}-day lead time: retrain and "
                    "promote a new version before ordering from it.")
        if self.ends_before_today:
            return (left + " It ends before today: upload newer sales, then retrain and promote "
                    "a new version.")
        return left


def check(db=None, today: date | None = None) -> Freshness:
    """Reads only; cheap at any size (one aggregate over the published forecasts)."""
    today = today or date.today()
    with session(db) as s:
        last = sales.date_range(s)[1]
        version, start, end, left = store.active_span(s, last)
    lead = lead_days()
    return Freshness(
        version=version, forecast_start=start, forecast_end=end, last_actual=last,
        periods_left=left, lead_days=lead,
        ends_before_today=end is not None and end < today,
        ends_before_lead=end is not None and last is not None and end < last + timedelta(days=lead),
    )
