"""Ingest benchmark: a sales CSV (default 1M rows) through Shelfcast's ingest versus DuckDB's own
`read_csv` into a table in a file, in one run. Target (issue 13): ingest <= 1.5x the raw load.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--cli] [--file F.csv] [--once] [--repeat N]

Prints wall and CPU seconds (this process and its DuckDB threads; on a shared machine the CPU
ratio is the steadier figure) and both ratios. The store is made empty beforehand (its schema is
created once per store, not per upload); `--cli` also times the `shelfcast ingest` command end
to end (process start, imports and a new store included). `--file` takes an existing CSV with
columns date, sku, store, units[, price, promo] (e.g. from bench/fleet_data.py) instead; `--once`
skips the second (all-update) ingest, for files of tens of millions of rows. `--repeat N`
alternates read_csv and the first ingest N times, each into a new file, and prints each one's
least wall and CPU: on a shared machine, one run of each is noise."""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.access import SYSTEM  # noqa: E402
from core.ingest import ingest  # noqa: E402
from core.store import session  # noqa: E402


def make_csv(path: Path, rows: int) -> None:
    days = 1000
    n_series = rows // days
    rng = np.random.default_rng(0)
    dates = pd.date_range("2022-01-01", periods=days, freq="D").strftime("%Y-%m-%d")
    df = pd.DataFrame({
        "date": np.tile(dates, n_series),
        "sku": np.repeat([f"SKU-{i // 10:04d}" for i in range(n_series)], days),
        "store": np.repeat([f"Store {i % 10:02d}" for i in range(n_series)], days),
        "units": rng.poisson(12, n_series * days),
        "price": np.round(rng.uniform(1, 9, n_series * days), 2),
        "promo": rng.integers(0, 2, n_series * days),
    })
    df.to_csv(path, index=False)


def _cpu(who: int = resource.RUSAGE_SELF) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def timed(fn, who: int = resource.RUSAGE_SELF) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of fn."""
    t, c = time.perf_counter(), _cpu(who)
    fn()
    return time.perf_counter() - t, _cpu(who) - c


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--file", type=Path, help="an existing sales CSV instead of a generated one")
    ap.add_argument("--cli", action="store_true")
    ap.add_argument("--once", action="store_true", help="no second (all-update) ingest")
    ap.add_argument("--repeat", type=int, default=1,
                    help="alternate read_csv and the first ingest this many times, each into a new "
                         "file, and keep each one's least wall and CPU (a shared machine's noise)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv = args.file or tmp / "sales.csv"
        if not args.file:
            make_csv(csv, args.rows)
        print(f"{csv.name}: {csv.stat().st_size / 1e6:.0f} MB CSV; load average {os.getloadavg()[0]:.1f}")

        def raw_duckdb():
            con = duckdb.connect(str(tmp / "raw.duckdb"))
            # The path as a literal, as ingest reads it: a bound path costs DuckDB an extra read.
            lit = str(csv).replace("'", "''")
            con.execute(f"CREATE TABLE sales AS SELECT * FROM read_csv('{lit}')")  # noqa: S608 - our own path
            con.close()

        raws, firsts = [], []
        for k in range(max(args.repeat, 1)):
            (tmp / "raw.duckdb").unlink(missing_ok=True)
            store = tmp / f"store{k}.duckdb"
            with session(store):
                pass  # the schema, made once per store
            raws.append(timed(raw_duckdb))
            firsts.append(timed(lambda store=store: ingest(csv, SYSTEM, db=store, any_size=True)))
        raw = (min(w for w, _ in raws), min(c for _, c in raws))
        rows = [("DuckDB read_csv into a table", raw),
                ("shelfcast ingest (empty store)", (min(w for w, _ in firsts), min(c for _, c in firsts)))]
        if not args.once:
            rows.append(("shelfcast ingest (all upsert)", timed(lambda: ingest(csv, SYSTEM, db=store, any_size=True))))
        if args.cli:
            exe = Path(sys.executable).parent / "shelfcast"
            env = dict(os.environ, SHELFCAST_DB=str(tmp / "cli.duckdb"))
            rows.append(("`shelfcast ingest` command, new store", timed(
                lambda: subprocess.run([str(exe), "ingest", str(csv)], check=True, env=env, capture_output=True),
                resource.RUSAGE_CHILDREN)))
        for label, (wall, cpu) in rows:
            print(f"{label:40s} {wall:7.2f} s wall ({wall / raw[0]:4.2f}x)  {cpu:7.2f} s CPU ({cpu / raw[1]:4.2f}x)")
        print(f"target: ingest <= 1.5x read_csv; load average {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
