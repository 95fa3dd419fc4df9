"""A deterministic, realistic retail data set: the bundled demo and the tests' source of data.

It has what real sales files have and what a forecaster must cope with: weekly and yearly
seasonality, trend, holidays, promotions that lift sales (with a price cut), a temperature
effect on cold drinks, intermittent slow movers, SKUs with short history, stock-out zeros, and a
demand shift in the last weeks of a few SKUs so that monitoring has something to find.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

CATEGORIES = ("BEV", "SNK", "DRY", "HOU")
STORE_NAMES = ("Leeds", "Bristol", "Glasgow", "Cardiff", "Norwich", "York", "Bath", "Derby")
DEFAULT_END = date(2026, 11, 1)  # a Sunday: the generator's reference end (tests pin it)


def recent_end(today: date | None = None) -> date:
    """Where the demo a user starts should end: the last Sunday before today, so its published
    forecast (eight weeks from four weeks earlier) runs about four weeks past today, as a live
    forecast would. `SHELFCAST_DEMO_END` (YYYY-MM-DD) pins it: the test suite sets DEFAULT_END so
    its figures do not move with the calendar."""
    import os

    pinned = os.environ.get("SHELFCAST_DEMO_END", "").strip()
    if pinned:
        return date.fromisoformat(pinned)
    today = today or date.today()
    return today - timedelta(days=(today.weekday() + 1) % 7 or 7)


@dataclass(frozen=True)
class DemoSpec:
    n_skus: int = 40
    n_stores: int = 5
    days: int = 3 * 365
    end: date = DEFAULT_END
    shift_days: int = 28
    seed: int = 7

    @property
    def shifted_skus(self) -> tuple[str, ...]:
        """SKUs whose demand moves in the last `shift_days` (every third of the regular ones
        from SKU 3, at most three) — the ones monitoring should flag."""
        return tuple(sku_name(i) for i in _shift_index(self.n_skus))

    @property
    def short_skus(self) -> tuple[str, ...]:
        return tuple(sku_name(i) for i in _short_index(self.n_skus))


def sku_name(i: int) -> str:
    return f"{CATEGORIES[i % len(CATEGORIES)]}-{i + 1:03d}"


def _slow_index(n: int) -> list[int]:
    return [i for i in range(n) if i % 8 == 7]


def _short_index(n: int) -> list[int]:
    return [i for i in range(n) if i % 13 == 12]


def _shift_index(n: int) -> list[int]:
    special = set(_slow_index(n)) | set(_short_index(n))
    regular = [i for i in range(2, n) if i not in special]
    return regular[::5][:3]


def generate(spec: DemoSpec | None = None, **kw) -> pd.DataFrame:
    """Daily sales: date, sku, store, units, price, promo, temperature (one row per series-day)."""
    spec = spec or DemoSpec(**kw)
    rng = np.random.default_rng(spec.seed)
    dates = pd.date_range(end=pd.Timestamp(spec.end), periods=spec.days, freq="D")
    t = np.arange(spec.days)
    doy = dates.dayofyear.to_numpy()
    dow = dates.dayofweek.to_numpy()
    weekly = np.array([0.85, 0.8, 0.85, 0.95, 1.1, 1.3, 1.15])[dow]
    holiday = np.ones(spec.days)
    for d_i, d in enumerate(dates):
        if d.month == 12 and 18 <= d.day <= 24:
            holiday[d_i] = 1.6
        elif d.month == 12 and d.day == 25:
            holiday[d_i] = 0.1
        elif d.month == 11 and d.dayofweek == 4 and 22 <= d.day <= 28:  # Black Friday
            holiday[d_i] = 1.8
    stores = STORE_NAMES[: spec.n_stores]
    store_size = rng.uniform(0.6, 1.5, spec.n_stores)
    store_temp = rng.normal(11, 2, spec.n_stores)
    shift_at = spec.days - spec.shift_days
    shift_idx = set(_shift_index(spec.n_skus))
    slow, short = set(_slow_index(spec.n_skus)), set(_short_index(spec.n_skus))

    frames = []
    for i in range(spec.n_skus):
        cat = CATEGORIES[i % len(CATEGORIES)]
        base = 0.35 if i in slow else float(rng.lognormal(2.6, 0.6))
        trend = 1 + rng.normal(0.0, 0.15) * t / 365
        phase = 200 if cat == "BEV" else 20
        yearly = 1 + (0.25 if cat == "BEV" else 0.12) * np.cos(2 * np.pi * (doy - phase) / 365.25)
        base_price = round(float(rng.uniform(0.8, 12.0)), 2)
        start = spec.days - 150 if i in short else 0
        shift = np.ones(spec.days)
        if i in shift_idx:  # alternately a collapse (overstock risk) and a surge (lost sales)
            shift[shift_at:] = 0.45 if sorted(shift_idx).index(i) % 2 == 0 else 1.9
        for j, store in enumerate(stores):
            temp = store_temp[j] + 7 * np.cos(2 * np.pi * (doy - 200) / 365.25) + rng.normal(0, 2.5, spec.days)
            promo = (rng.random(spec.days) < 0.04).astype(int)
            promo = np.maximum(promo, np.roll(promo, 1))  # promos last at least two days
            price = np.where(promo == 1, base_price * 0.75, base_price)
            price = np.round(price * (1 + 0.05 * (t // 180 % 3)), 2)
            lift = np.where(promo == 1, 1.8, 1.0)
            heat = 1 + (0.02 * np.clip(temp - 15, 0, None) if cat == "BEV" else 0)
            lam = base * store_size[j] * trend * yearly * weekly * holiday * lift * heat * shift
            units = rng.poisson(np.clip(lam, 0, None)).astype(float)
            n_out = rng.integers(0, 4)
            for _ in range(n_out):  # stock-outs: short runs of zero sales
                k = int(rng.integers(0, spec.days - 5))
                units[k : k + int(rng.integers(2, 6))] = 0
            sl = slice(start, None)
            frames.append(
                pd.DataFrame(
                    {
                        "date": dates[sl],
                        "sku": sku_name(i),
                        "store": store,
                        "units": units[sl],
                        "price": price[sl],
                        "promo": promo[sl],
                        "temperature": np.round(temp[sl], 1),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def split_recent(df: pd.DataFrame, days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """History up to `days` before the end, and the last `days` (the 'new actuals' feed)."""
    cut = pd.Timestamp(df["date"].max()) - timedelta(days=days)
    return df[df["date"] <= cut], df[df["date"] > cut]


def future_plan(df: pd.DataFrame, days: int) -> pd.DataFrame:
    """Price, promo and temperature for the `days` after the last date, without units: what a
    retailer knows ahead (its promo calendar, prices, a weather forecast). Taken from the same
    weekdays a year (364 days) earlier, so it is as realistic as the history and as deterministic;
    a series younger than a year repeats its last `days` instead (a gap would make the trainer drop
    the regressor for every series)."""
    end = pd.Timestamp(df["date"].max())
    ago = df[(df["date"] > end - timedelta(days=364)) & (df["date"] <= end - timedelta(days=364 - days))]
    last = df[df["date"] > end - timedelta(days=days)]
    both = pd.concat([ago.assign(date=ago["date"] + timedelta(days=364)),
                      last.assign(date=last["date"] + timedelta(days=days))], ignore_index=True)
    both = both.drop_duplicates(["date", "sku", "store"], keep="first")  # last year's where there is one
    return both.assign(units=np.nan).sort_values(["sku", "store", "date"], ignore_index=True)
