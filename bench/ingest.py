"""Ingest benchmark: a 1M-row sales CSV through Shelfcast's ingest versus DuckDB's own
`read_csv` into a table, in one run. Target (issue 2): ingest <= 1.5x the raw DuckDB load.

    .venv/bin/python bench/ingest.py [--rows 1000000]

Prints both timings and the ratio; `--cli` also times the `shelfcast ingest` command end to end
(process start and imports included)."""

from __future__ import annotations

import argparse
import os
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


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--cli", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv = tmp / "sales.csv"
        make_csv(csv, args.rows)
        print(f"{args.rows:,} rows, {csv.stat().st_size / 1e6:.0f} MB CSV")

        def raw_duckdb():
            con = duckdb.connect(str(tmp / "raw.duckdb"))
            con.execute("CREATE TABLE sales AS SELECT * FROM read_csv(?)", [str(csv)])
            con.close()

        def shelfcast():
            ingest(csv, SYSTEM, db=tmp / "store.duckdb")

        def reupload():
            ingest(csv, SYSTEM, db=tmp / "store.duckdb")  # every row is an update now

        t_raw = timed(raw_duckdb)
        t_ing = timed(shelfcast)
        t_up = timed(reupload)
        print(f"DuckDB read_csv into a table : {t_raw:6.2f} s")
        print(f"shelfcast ingest (new store) : {t_ing:6.2f} s   ratio {t_ing / t_raw:.2f}x (target <= 1.5x)")
        print(f"shelfcast ingest (all upsert): {t_up:6.2f} s   ratio {t_up / t_raw:.2f}x")
        if args.cli:
            exe = Path(sys.executable).parent / "shelfcast"
            env = dict(os.environ, SHELFCAST_DB=str(tmp / "cli.duckdb"))
            t_cli = timed(lambda: subprocess.run([str(exe), "ingest", str(csv)], check=True, env=env,
                                                 capture_output=True))
            print(f"`shelfcast ingest` command   : {t_cli:6.2f} s   ratio {t_cli / t_raw:.2f}x (process start included)")


if __name__ == "__main__":
    main()
