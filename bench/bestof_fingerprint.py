"""Fingerprint of a best-of run: train it on a copy of a store and print a hash of everything the
run saved (choices, headline and every summary figure, backtests, per-series metrics,
forecasts, quantiles). Run it with two code trees first on PYTHONPATH to prove a refactor
changed nothing (the hashes must be equal, line for line):

    PYTHONPATH=/tmp/old  .venv/bin/python bench/bestof_fingerprint.py STORE.duckdb --user adm > old.txt
    PYTHONPATH=$PWD      .venv/bin/python bench/bestof_fingerprint.py STORE.duckdb --user adm > new.txt
    diff old.txt new.txt

The store is copied to a temporary folder (the run adds a version); the original is untouched.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path


def digest(df) -> str:
    """Hash of a frame's values in a fixed row order (floats to the bit)."""
    import pandas as pd

    df = df.sort_values(list(df.columns[:4])).reset_index(drop=True)
    h = hashlib.sha256()
    for c in df.columns:
        h.update(c.encode())
        h.update(pd.util.hash_pandas_object(df[c], index=False).to_numpy().tobytes())
    return f"{h.hexdigest()[:16]} ({len(df)} rows)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--user", default="adm")
    ap.add_argument("--models", default="naive,sklearn,croston")
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--option", action="append", default=[], help="more options, key=value")
    args = ap.parse_args()

    import duckdb

    import core
    from core import training
    from core.access import Actor

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "store.duckdb"
        shutil.copy(args.db, db)
        opts = {"models": args.models, **dict(o.split("=", 1) for o in args.option)}
        t0 = time.perf_counter()
        vid = training.train(Actor(name=args.user, role="admin"), "best", folds=args.folds, options=opts, db=db)
        wall = time.perf_counter() - t0
        con = duckdb.connect(str(db), read_only=True)
        status, metrics = con.execute("SELECT status, metrics FROM versions WHERE id = ?", [vid]).fetchone()
        print(f"status {status}")
        m = json.loads(metrics)
        for k in sorted(m):
            print(f"metrics.{k} = {json.dumps(m[k], sort_keys=True)}")
        for table in ("backtests", "series_metrics", "forecasts", "forecast_quantiles", "series_class"):
            df = con.execute(f"SELECT * EXCLUDE (version_id) FROM {table} WHERE version_id = ?", [vid]).df()  # noqa: S608
            print(f"{table} {digest(df)}")
        chosen = con.execute("SELECT model, count(DISTINCT series_id) FROM forecasts WHERE version_id = ? "
                             "GROUP BY 1 ORDER BY 1", [vid]).fetchall()
        print(f"chosen {chosen}")
        con.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"# code {Path(core.__file__).parent.parent} wall {wall:.1f} s peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
