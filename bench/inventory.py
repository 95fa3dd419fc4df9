"""Replenishment proposal benchmark: the full `proposals.read` path (forecasts, stock, policies,
backtest spread, overrides read from a real store; maths over every series) for a fleet.
Target (issue 15): 100,000 series in <= 60 s.

    .venv/bin/python bench/inventory.py [--series 100000] [--horizon 28]

The store is built in a temporary file through the real schema with SQL (series, an active
ready version with forecasts and backtests, a stock snapshot and SKU-level policies)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.inventory import proposals  # noqa: E402
from core.store import registry, session  # noqa: E402
from core.store.db import raw  # noqa: E402
from core.store.versions import Version  # noqa: E402


def build(db: Path, n: int, horizon: int) -> None:
    with session(db, write=True) as s:
        v = Version(kind="naive", horizon=horizon, folds=1, freq="D", created_by="bench", status="ready")
        s.add(v)
        s.flush()
        s.refresh(v)
        con = raw(s)
        con.execute("""INSERT INTO series (sku, store) SELECT 'SKU-' || (i // 10), 'S' || (i % 10)
                       FROM range(?) t(i)""", [n])
        con.execute("""INSERT INTO forecasts SELECT ?, series_id, DATE '2026-11-02' + CAST(h AS INTEGER),
                              10 + series_id % 7, 8 + series_id % 7, 12 + series_id % 7, 'naive'
                       FROM series, range(?) r(h)""", [v.id, horizon])
        con.execute("""INSERT INTO backtests SELECT ?, series_id, 'naive', 0, DATE '2026-10-04',
                              DATE '2026-10-05' + CAST(h AS INTEGER), 10, 9 + h % 3, NULL, NULL
                       FROM series, range(?) r(h)""", [v.id, horizon])
        con.execute("""INSERT INTO inventory_datasets (kind, file_name, sha256, rows, columns, defaults, created_by, created_at)
                       VALUES ('stock', 'bench', '', 0, '{}', '{}', 'bench', now())""")
        con.execute("INSERT INTO stock SELECT 1, series_id, DATE '2026-11-01', series_id % 50 FROM series")
        con.execute("""INSERT INTO policies SELECT 1, DISTINCT_SKU, NULL, 2, 1, 0.95, 6, 0, 1.5, 3
                       FROM (SELECT DISTINCT sku AS DISTINCT_SKU FROM series)""")
        registry.set_active(s, v.id)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=100_000)
    ap.add_argument("--horizon", type=int, default=28)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "bench.duckdb"
        t0 = time.perf_counter()
        build(db, a.series, a.horizon)
        t1 = time.perf_counter()
        out = proposals.read(db)  # nothing kept yet (the store was built by SQL): made here
        t2 = time.perf_counter()
        kept = proposals.refresh(db)  # what a write path (upload, override, promotion) adds
        t3 = time.perf_counter()
        again = proposals.read(db)  # what a page's first render after that write reads
        t4 = time.perf_counter()
    print(f"built {a.series:,} series x {a.horizon} periods in {t1 - t0:.1f} s")
    print(f"proposals for {len(out):,} series in {t2 - t1:.1f} s (target <= 60 s); "
          f"{int((out['order_qty'] > 0).sum()):,} orders due")
    print(f"kept by a write path in {t3 - t2:.1f} s ({'kept' if kept else 'NOT kept'}); read back in "
          f"{t4 - t3:.2f} s ({len(again):,} series)")


if __name__ == "__main__":
    main()
