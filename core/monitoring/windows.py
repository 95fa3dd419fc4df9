"""Which dates a monitoring number looks at. Windows are counted in periods of a grain (week or
month; day for short checks), because a daily SKU forecast judged day by day is mostly Poisson
noise: the replenishment question is "was the week right?"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

GRAINS = ("week", "month", "day")
LEVELS = ("sku", "series")  # sku: stores summed; series: each SKU × store


def default_grain(freq: str | None) -> tuple[str, int]:
    """(grain, window) that suits the store's frequency: 4 weeks for daily or weekly data,
    3 months for monthly data."""
    if freq and freq.startswith("M"):
        return "month", 3
    return "week", 4


def period_start(d: date, grain: str) -> date:
    if grain == "week":
        return d - timedelta(days=d.weekday())
    if grain == "month":
        return d.replace(day=1)
    return d


def shift_periods(d: date, grain: str, n: int) -> date:
    """`d` moved by n periods of the grain (n may be negative)."""
    if grain == "week":
        return d + timedelta(weeks=n)
    if grain == "month":
        m = d.month - 1 + n
        return date(d.year + m // 12, m % 12 + 1, 1)
    return d + timedelta(days=n)


def window_start(last: date, grain: str, window: int) -> date:
    """First date of the last `window` periods that end with the period holding `last`."""
    return shift_periods(period_start(last, grain), grain, -(max(1, int(window)) - 1))


def as_date(v: object) -> date | None:
    """A date from whatever DuckDB or pandas handed back; None for any kind of missing."""
    if v is None or v is pd.NaT or (not isinstance(v, (str, date)) and pd.isna(v)):
        return None
    return pd.Timestamp(v).date()


def category(sku: str) -> str:
    """A SKU's category: its prefix before the first '-' (BEV-001 -> BEV)."""
    return sku.split("-", 1)[0]


@dataclass
class Filters:
    """What the Monitor page or a rule looks at; empty lists mean everything."""

    skus: list[str] = field(default_factory=list)
    stores: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)

    def args(self) -> dict:
        return {"skus": self.skus or None, "stores": self.stores or None, "cats": self.categories or None}
