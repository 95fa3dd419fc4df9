"""The calendar of a data set: daily, weekly (ending on any weekday) or monthly (start or end).

Frequencies use pandas aliases (D, W-SUN..W-SAT, MS, ME) so models can build future dates with
`pd.date_range(freq=...)`.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from core.errors import ValidationError

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
DEFAULT_HORIZON = {"D": 28, "W": 13, "M": 12}
SEASON = {"D": 7, "W": 52, "M": 12}


def _month_end(d: date) -> bool:
    return (d + timedelta(days=1)).day == 1


def infer_freq(gaps: set[int], dates: list[date], known: str | None = None) -> str:
    """Infer the frequency from the day gaps between consecutive dates within each series and
    the distinct dates. A file too short to tell (one date per series, the daily actuals feed)
    takes the store's known frequency."""
    if not gaps:
        if known:
            return known
        return _monthly_kind(dates) or "D"
    smallest = min(gaps)
    if smallest >= 28:
        kind = _monthly_kind(dates)
        if kind:
            return kind
    if smallest >= 7 and all(g % 7 == 0 for g in gaps):
        day = Counter(d.weekday() for d in dates).most_common(1)[0][0]
        return f"W-{WEEKDAYS[day]}"
    if smallest == 1:
        return "D"
    if smallest >= 28:
        raise ValidationError(
            "The dates look monthly, but they are neither all the first nor all the last day of "
            "their month. Use month-start (2024-03-01) or month-end (2024-03-31) dates."
        )
    raise ValidationError(
        f"The dates are {smallest} days apart, which is not a daily, weekly or monthly calendar."
    )


def _monthly_kind(dates: list[date]) -> str | None:
    if dates and all(d.day == 1 for d in dates):
        return "MS"
    if dates and all(_month_end(d) for d in dates):
        return "ME"
    return None


def check_alignment(dates: list[date], freq: str) -> list[date]:
    """Dates that do not sit on the frequency's calendar (empty when all is well)."""
    if freq.startswith("W-"):
        day = WEEKDAYS.index(freq[2:])
        return [d for d in dates if d.weekday() != day]
    if freq == "MS":
        return [d for d in dates if d.day != 1]
    if freq == "ME":
        return [d for d in dates if not _month_end(d)]
    return []


def family(freq: str) -> str:
    """D, W or M: the key for horizons, seasons and feature sets."""
    return "D" if freq == "D" else "W" if freq.startswith("W") else "M"


def default_horizon(freq: str) -> int:
    return DEFAULT_HORIZON[family(freq)]


def season_length(freq: str) -> int:
    return SEASON[family(freq)]
