"""First render of the Monitor page after the store changed (issue 13: <= 1 s at 100,000 series).

A fresh process signs in through AppTest as an admin of the store, renders the start page (as a
browser does), then times the Monitor page's first run (every read cold: nothing in the read
cache for this store state) and a warm run; wall and CPU seconds, and the moment of the first
chart. `--profile` prints a cProfile of the first run.

    .venv/bin/python bench/monitor_first.py --db COPY.duckdb --user NAME [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--user", required=True, help="an admin account of the store")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--top", type=int, default=45)
    ap.add_argument("--cold", action="store_true",
                    help="empty the process's read cache before Monitor (nothing the start page read helps)")
    ap.add_argument("--skip-start", action="store_true",
                    help="skip the start page's inventory replay (Overview's cost, not Monitor's)")
    args = ap.parse_args()
    os.environ["SHELFCAST_DB"] = args.db
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from core import users

    if args.skip_start:
        from core.inventory import simulate

        simulate.effect = lambda *_a, **_k: None

    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=600)
    at.session_state["actor"] = users.current(args.user, args.db)
    t, c = time.perf_counter(), time.process_time()
    at.run()
    print(f"start page {time.perf_counter() - t:.2f} s wall / {time.process_time() - c:.2f} s CPU", flush=True)
    at.switch_page(str(ROOT / "pages" / "monitor.py"))
    if args.cold:
        from core.store import db as store_db

        store_db._shared.clear()
    first: list[tuple[float, float]] = []
    chart = st.plotly_chart

    def timed(*a, **k):  # when the first chart's delta would leave for the browser
        first.append((time.perf_counter(), time.process_time()))
        return chart(*a, **k)

    st.plotly_chart = timed
    pr = cProfile.Profile()

    def hook(*_a) -> None:
        sys.setprofile(None)
        pr.enable()

    if args.profile:
        threading.setprofile(hook)
    t, c = time.perf_counter(), time.process_time()
    try:
        at.run()
    finally:
        threading.setprofile(None)
        pr.disable()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    assert not at.exception, at.exception
    fc = (first[0][0] - t, first[0][1] - c) if first else (float("nan"),) * 2
    first.clear()
    t2, c2 = time.perf_counter(), time.process_time()
    at.run()
    print(f"Monitor first run {wall:.2f} s wall / {cpu:.2f} s CPU (first chart {fc[0]:.2f} s / "
          f"{fc[1]:.2f} s CPU); warm {time.perf_counter() - t2:.2f} s / {time.process_time() - c2:.2f} s CPU;"
          f" load {os.getloadavg()[0]:.1f}; metrics {[m.value for m in at.metric]}; tabs "
          f"{[x.label for x in at.tabs]}")
    if args.profile:
        pstats.Stats(pr).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
