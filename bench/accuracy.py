"""Accuracy on the demo data: every model's pooled backtest WAPE (3 folds of 28 days) through a
real training run on a temporary store. Best-of must beat the seasonal-naive baseline.

    .venv/bin/python bench/accuracy.py [--skus 20] [--stores 3]"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from core import training  # noqa: E402
from core.access import Actor  # noqa: E402
from core.demo import DemoSpec, generate  # noqa: E402
from core.ingest import ingest  # noqa: E402
from core.store import session  # noqa: E402
from core.store import versions as vs  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skus", type=int, default=20)
    ap.add_argument("--stores", type=int, default=3)
    a = ap.parse_args()
    who = Actor("bench", "admin")
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "demo.csv"
        generate(DemoSpec(n_skus=a.skus, n_stores=a.stores)).to_csv(f, index=False)
        db = Path(tmp) / "bench.duckdb"
        ingest(f, who, db=db)
        t = time.perf_counter()
        vid = training.train(who, "best", folds=3, db=db)
        with session(db) as s:
            v = vs.get_version(s, vid)
        m = json.loads(v.metrics)
        print(f"demo data: {v.n_series} daily series x 3 years, 3 folds x 28 days, "
              f"trained in {time.perf_counter() - t:.0f} s")
        for name, w in m["by_model"].items():
            print(f"  {name:<8} pooled WAPE {w:.3f}  accuracy {1 - w:.1%}")
        print(f"  best-of  pooled WAPE {m['wape']:.3f}  accuracy {m['accuracy']:.1%}  winners {m['winners']}")
        base = m["by_model"]["naive"]
        print(f"best-of beats seasonal naive: {m['wape'] < base} ({(1 - m['wape'] / base):.0%} lower WAPE)")


if __name__ == "__main__":
    main()
