"""First render of the Replenishment and Forecast pages on a store, the way a person meets them
after the store changed: a fresh process (empty read cache), main.py run once (sign-in shell),
then the page's first run timed (the landing page's first run is reported too) (wall and CPU of the whole process, DuckDB's threads included),
then `--repeat` warm runs.

    .venv/bin/python bench/repl_first.py --db COPY.duckdb [--user fleet-admin] [--pages replenishment.py,forecast.py]
        [--profile replenishment.py]

Each page runs in its own child process, so one page's cached reads do not make the next look
fast. `--profile PAGE` prints a cProfile (cumulative) of that page's first run instead."""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(db: str, user: str, page: str, repeat: int, prof: bool) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["SHELFCAST_DB"] = db
    from streamlit.testing.v1 import AppTest

    from core import users

    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=600)
    at.session_state["actor"] = users.current(user, db)
    t, c = time.perf_counter(), time.process_time()
    at.run()  # the signed-in landing page (Overview): its first render in this process
    shell, shell_cpu = time.perf_counter() - t, time.process_time() - c
    at.switch_page(str(ROOT / "pages" / page))
    pr = cProfile.Profile() if prof else None
    if pr is not None:
        def hook(*_a) -> None:
            sys.setprofile(None)
            pr.enable()

        threading.setprofile(hook)
    t, c = time.perf_counter(), time.process_time()
    at.run()
    first, first_cpu = time.perf_counter() - t, time.process_time() - c
    if pr is not None:
        threading.setprofile(None)
        pr.disable()
        pstats.Stats(pr).sort_stats("cumulative").print_stats(45)
    runs, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        at.run()
        runs.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    print(json.dumps({
        "page": page, "landing_first": round(shell, 3), "landing_first_cpu": round(shell_cpu, 3), "first": round(first, 3), "first_cpu": round(first_cpu, 3),
        "warm": round(statistics.median(runs), 3) if runs else None,
        "warm_cpu": round(statistics.median(cpu), 3) if cpu else None,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "errors": [str(e.value)[:300] for e in at.exception]}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--user", default="fleet-admin")
    ap.add_argument("--pages", default="replenishment.py,forecast.py")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.db, args.user, args.child, args.repeat, args.profile == args.child)
        return
    print(f"load average {os.getloadavg()[0]:.1f} / {os.cpu_count()} cores", flush=True)
    pages = [args.profile] if args.profile else args.pages.split(",")
    for page in pages:
        argv = [sys.executable, __file__, "--db", args.db, "--user", args.user, "--child", page,
                "--repeat", str(args.repeat)] + (["--profile", args.profile] if args.profile else [])
        subprocess.run(argv, check=False)


if __name__ == "__main__":
    main()
