"""A retail chain's sales, generated: SKU x store daily units with the statistics real shelves have,
written in bounded chunks so 73M rows never sit in memory at once.

    .venv/bin/python bench/fleet_data.py OUT.csv [--series 100000] [--days 730] [--offset 0]
    .venv/bin/python bench/fleet_data.py OUT_DIR --format parquet      # one Parquet part per chunk

What makes it retail-like (and hard for a forecaster), all vectorised per chunk of SKUs:
- demand levels are log-normal across SKUs (median under one unit a day), so most series are slow
  movers with many zero days and a few fast movers carry the volume; stores differ in size;
- a weekly profile per category (weekend peaks of different height) and a yearly season per SKU
  (amplitude and peak day vary), a small trend;
- chain-wide promotions per SKU and week (about one week in twelve): the price drops 10-35 % and
  demand lifts by the SKU's price elasticity; the price column carries the discount, promo is 0/1;
- gamma-Poisson noise (over-dispersed counts), and a tenth of the SKUs intermittent (most days 0).

The same seed gives the same fleet; `offset` continues it (day `offset` onwards), which is how the
"one new week of actuals" file is made. Columns: date, sku, store, units, price, promo.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

START = np.datetime64("2024-01-01")  # a Monday
CATEGORIES = np.array(["BEV", "SNK", "DRY", "HOU", "FRZ", "PER"])
# weekly profile per category, Monday..Sunday (mean 1)
WEEKLY = np.array([
    [0.85, 0.85, 0.9, 0.95, 1.15, 1.4, 0.9],
    [0.8, 0.8, 0.85, 0.9, 1.2, 1.5, 0.95],
    [1.0, 0.95, 0.95, 1.0, 1.05, 1.15, 0.9],
    [0.9, 0.9, 0.95, 0.95, 1.05, 1.35, 0.9],
    [0.9, 0.85, 0.9, 1.0, 1.15, 1.3, 0.9],
    [0.95, 0.95, 0.95, 1.0, 1.1, 1.15, 0.9],
])
WEEKLY = WEEKLY / WEEKLY.mean(axis=1, keepdims=True)
ROWS_PER_CHUNK = 1_000_000


@dataclass(frozen=True)
class Shape:
    """How many SKUs and stores make `series`: 50 stores at full size (2,000 x 50 = 100,000),
    fewer for small runs so each SKU still sells in several stores."""

    skus: int
    stores: int

    @classmethod
    def for_series(cls, series: int, stores: int | None = None) -> Shape:
        st = stores or min(50, max(2, series // 40))
        return cls(max(1, series // st), st)

    @property
    def series(self) -> int:
        return self.skus * self.stores


def sku_names(n: int) -> np.ndarray:
    idx = np.arange(n)
    return np.char.add(np.char.add(CATEGORIES[idx % len(CATEGORIES)], "-"), np.char.zfill(idx.astype(str), 5))


def store_names(n: int) -> np.ndarray:
    return np.char.add("Store ", np.char.zfill(np.arange(1, n + 1).astype(str), 3))


class Fleet:
    """The chain's fixed parameters (per SKU, per store, the promotion calendar); `chunk()` draws
    the sales of a block of SKUs over a block of days."""

    def __init__(self, shape: Shape, horizon_days: int, seed: int = 7) -> None:
        self.shape = shape
        self.seed = seed
        rng = np.random.default_rng(seed)
        n, s = shape.skus, shape.stores
        self.level = rng.lognormal(math.log(1.6), 1.3, n)          # units/day in an average store
        self.intermittent = rng.random(n) < 0.10
        self.level[self.intermittent] *= 0.15
        self.store_size = rng.lognormal(0.0, 0.5, s)
        self.cat = np.arange(n) % len(CATEGORIES)
        self.year_amp = rng.uniform(0.0, 0.5, n)
        self.year_peak = (rng.normal(200, 60, n)) % 365.25        # day of year of the peak
        self.trend = rng.normal(0.0, 0.15, n) / 365.25            # relative change per day
        self.base_price = np.round(rng.lognormal(math.log(4.0), 0.8, n), 1) + 0.09
        self.elasticity = rng.uniform(1.0, 3.0, n)
        weeks = horizon_days // 7 + 2
        self.promo_week = rng.random((n, weeks)) < 1 / 12          # chain-wide, per SKU and week
        self.discount = rng.uniform(0.10, 0.35, (n, weeks))
        self.skus = sku_names(n)
        self.stores = store_names(s)

    def chunk(self, sku0: int, sku1: int, day0: int, day1: int) -> pa.Table:
        """Rows for SKUs [sku0, sku1) x every store x days [day0, day1), series-major."""
        rng = np.random.default_rng([self.seed, sku0, day0])
        k = slice(sku0, sku1)
        d = np.arange(day0, day1)
        dates = START + d.astype("timedelta64[D]")
        dow = d % 7  # START is a Monday
        doy = d % 365.25
        week = d // 7
        promo = self.promo_week[k][:, week]                                   # (skus, days)
        disc = np.where(promo, self.discount[k][:, week], 0.0)
        price = np.round(self.base_price[k, None] * (1 - disc), 2)
        lift = (1 - disc) ** -self.elasticity[k, None]
        season = (WEEKLY[self.cat[k]][:, dow]
                  * (1 + self.year_amp[k, None] * np.cos(2 * np.pi * (doy - self.year_peak[k, None]) / 365.25))
                  * np.clip(1 + self.trend[k, None] * d, 0.2, None))
        lam = (self.level[k, None, None] * self.store_size[None, :, None]
               * (season * lift)[:, None, :])                                  # (skus, stores, days)
        lam = lam * rng.gamma(2.0, 0.5, lam.shape)                            # over-dispersion
        units = rng.poisson(lam).astype(np.int32)
        ns, nst, nd = units.shape
        return pa.table({
            "date": pa.array(np.tile(dates, ns * nst)),
            "sku": pa.DictionaryArray.from_arrays(
                np.repeat(np.arange(ns, dtype=np.int32), nst * nd), pa.array(self.skus[k])).cast(pa.string()),
            "store": pa.DictionaryArray.from_arrays(
                np.tile(np.repeat(np.arange(nst, dtype=np.int32), nd), ns), pa.array(self.stores)).cast(pa.string()),
            "units": pa.array(units.ravel()),
            "price": pa.array(np.broadcast_to(price[:, None, :], units.shape).ravel()),
            "promo": pa.array(np.broadcast_to(promo[:, None, :], units.shape).ravel().astype(np.int8)),
        })

    def chunks(self, day0: int, day1: int):
        per = max(1, ROWS_PER_CHUNK // max(1, self.shape.stores * (day1 - day0)))
        for a in range(0, self.shape.skus, per):
            yield self.chunk(a, min(self.shape.skus, a + per), day0, day1)


def write(out: Path, series: int, days: int, offset: int = 0, fmt: str = "csv",
          stores: int | None = None, seed: int = 7) -> dict:
    """Write days [offset, offset + days) of the fleet to `out` (one CSV, or a folder of Parquet
    parts); return what was written. Memory is bounded by one chunk (~1M rows)."""
    shape = Shape.for_series(series, stores)
    fleet = Fleet(shape, offset + days, seed)
    rows = zeros = 0
    out = Path(out)
    if fmt == "parquet":
        out.mkdir(parents=True, exist_ok=True)
    writer = None
    try:
        for i, t in enumerate(fleet.chunks(offset, offset + days)):
            rows += t.num_rows
            zeros += int(np.count_nonzero(t["units"].to_numpy() == 0))
            if fmt == "parquet":
                pq.write_table(t, out / f"part-{i:05d}.parquet")
            else:
                if writer is None:
                    writer = pacsv.CSVWriter(str(out), t.schema)
                writer.write_table(t)
    finally:
        if writer is not None:
            writer.close()
    size = sum(p.stat().st_size for p in out.glob("*")) if out.is_dir() else out.stat().st_size
    return {"path": str(out), "series": shape.series, "skus": shape.skus, "stores": shape.stores,
            "days": days, "rows": rows, "zero_share": zeros / max(1, rows), "bytes": size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--series", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--offset", type=int, default=0, help="first day (continue a fleet)")
    ap.add_argument("--stores", type=int, help="stores (default: 50, fewer below 2,000 series)")
    ap.add_argument("--format", choices=["csv", "parquet"], default="csv")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    info = write(a.out, a.series, a.days, a.offset, a.format, a.stores, a.seed)
    print(f"{info['rows']:,} rows ({info['series']:,} series = {info['skus']:,} SKUs x {info['stores']} stores, "
          f"{info['days']} days), {100 * info['zero_share']:.0f}% zeros, {info['bytes'] / 2**20:.0f} MiB -> {info['path']}")


if __name__ == "__main__":
    main()
