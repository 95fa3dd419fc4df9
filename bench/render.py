"""Page render benchmark: every page of the app run through Streamlit's AppTest, signed in as an
admin, on a store with 10,000 series (target <= 1 s per page), against the same pages on a
100-series store in the same process (the baseline of the ratio column).

    .venv/bin/python bench/render.py [--series 10000] [--days 120] [--db PATH] [--profile]
    .venv/bin/python bench/render.py --db COPY.duckdb --first monitor.py,replenishment.py
        [--admin fleet-admin] [--profile] [--cold] [--skip-start]

The store: SKU x store series (5 stores per SKU) of `days` daily sales made with numpy (weekly
cycle, noise), ingested through core.ingest, a seasonal-naive version trained and promoted, then
7 more days of actuals so Monitor and Overview have accuracy to show. `--db PATH` keeps (or
reuses) the big store. Each page is run once to warm the process (imports, first queries) and
then timed `--repeat` times; the median is reported. `--profile` prints a cProfile of the
slowest page.

`--first PAGES` times each page's first render the way a person meets it after the store changed:
each page in its own fresh process (empty read cache), signed in as `--admin`, the landing page's
first run timed (the sign-in shell), then the page's first run (wall and CPU of the whole
process, DuckDB's threads included, and the moment its first chart leaves for the browser), then
`--repeat` warm runs; one JSON line per page. With `--profile`, a cProfile (cumulative) of that
first run; `--cold` empties the read cache after the landing page; `--skip-start` leaves the
landing page's inventory replay out (Overview's cost, not the page's).

`--share` (with `--first overview.py --cold`): the Overview through a share link, as a server
that has served before meets it after a write. The parent makes a link on `--db` (a write: use a
copy); the child opens it once (imports, first connection: the landing figures), empties the
read cache, waits for the store's file to be let go, and times the next run: the server's part
of a cold share-link view (`first_cpu`, the whole process), and its trend chart's moment."""

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
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from app.nav import PAGES  # noqa: E402
from core import ingest, registry, training, users  # noqa: E402
from core.access import Actor  # noqa: E402

ADMIN = Actor("bench-admin", "admin")
START = pd.Timestamp("2026-01-05")


def frame(n_series: int, days: int, offset: int = 0, seed: int = 1) -> pd.DataFrame:
    """Daily units for n_series SKU x store series (5 stores per SKU), days offset..offset+days."""
    rng = np.random.default_rng(seed + offset)
    sid = np.repeat(np.arange(n_series), days)
    d = np.tile(np.arange(offset, offset + days), n_series)
    level = 3 + (np.arange(n_series) * 7919 % 40)
    lam = level[sid] * (1 + 0.3 * np.sin(2 * np.pi * d / 7))
    cats = np.array(["BEV", "SNK", "DRY", "HOU"])
    sku = np.char.add(np.char.add(cats[(sid // 5) % 4], "-"), np.char.zfill((sid // 5).astype(str), 5))
    store = np.char.add("Store ", (sid % 5).astype(str))
    return pd.DataFrame({"date": (START + pd.to_timedelta(d, "D")).date, "sku": sku, "store": store,
                         "units": rng.poisson(lam)})


def build(db: Path, n_series: int, days: int, say=print) -> None:
    if users.has_users(db):
        say(f"reusing {db}")
        return
    users.create_first_admin(ADMIN.name, "bench-password-1", db)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        p = Path(tmp) / "history.parquet"
        frame(n_series, days).to_parquet(p, index=False)
        ingest.ingest(p, ADMIN, db=db)
        say(f"  ingested {n_series:,} x {days} days in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        vid = training.train(ADMIN, "naive", horizon=14, folds=1, db=db)
        registry.promote(ADMIN, vid, "bench", db=db)
        say(f"  trained + promoted naive v{vid} in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        p = Path(tmp) / "recent.parquet"
        frame(n_series, 7, offset=days).to_parquet(p, index=False)
        ingest.ingest(p, ADMIN, db=db)
        say(f"  ingested 7 days of actuals (alerts evaluated) in {time.perf_counter() - t:.1f} s")


def app_for(page_file: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=300)
    at.session_state["actor"] = ADMIN  # what a successful sign-in leaves in the session
    at.run()
    at.switch_page(str(ROOT / "pages" / page_file))
    return at


def warm_runs(at: AppTest, repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (the whole process: the script thread and DuckDB's) of `repeat` runs."""
    runs, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        at.run()
        runs.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return runs, cpu


CPU: dict[str, float] = {}  # page file -> median CPU seconds of its warm runs (the last store timed)


def time_page(db: Path, page_file: str, repeat: int) -> tuple[float, float, list[str]]:
    """(first run, median of the next `repeat` runs) in seconds, and any exceptions shown. The
    median CPU time of the warm runs (the whole process: the script thread and DuckDB's) goes to
    CPU: on a shared machine it is the steadier number."""
    os.environ["SHELFCAST_DB"] = str(db)
    at = app_for(page_file)
    t = time.perf_counter()
    at.run()
    first = time.perf_counter() - t
    runs, cpu = warm_runs(at, repeat)
    CPU[page_file] = statistics.median(cpu)
    errors = [e.value for e in at.exception]
    return first, statistics.median(runs), errors


def profile(db: Path, page_file: str, top: int = 30) -> None:
    """cProfile of one warm run (`--first PAGE --profile` profiles the first run)."""
    import threading

    os.environ["SHELFCAST_DB"] = str(db)
    at = app_for(page_file)
    at.run()
    pr = hooked_profiler()
    try:
        at.run()
    finally:
        threading.setprofile(None)
        pr.disable()
    pstats.Stats(pr).sort_stats("cumulative").print_stats(top)


def hooked_profiler() -> cProfile.Profile:
    """A profiler switched on inside the next thread to start: AppTest runs each script run in a
    new thread. The caller resets threading.setprofile(None) and disables it."""
    import threading

    pr = cProfile.Profile()

    def hook(*_a) -> None:
        sys.setprofile(None)
        pr.enable()

    threading.setprofile(hook)
    return pr


def first_render(db: str, admin: str, page: str, repeat: int, prof: bool, cold: bool,
                 skip_start: bool, top: int = 45, token: str | None = None) -> dict:
    """One page's first render in this (fresh) process; see the module's docstring. `token`: the
    Overview through that share link instead of signed in as `admin`."""
    import threading

    import streamlit as st

    os.environ["SHELFCAST_DB"] = db
    if skip_start:
        from core.inventory import simulate

        simulate.effect = lambda *_a, **_k: None
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=600)
    if token:
        at.query_params["share"] = token
    else:
        at.session_state["actor"] = users.current(admin, db)
    t, c = time.perf_counter(), time.process_time()
    at.run()  # the landing page (a share link's: the Overview): its first render in this process
    landing, landing_cpu = time.perf_counter() - t, time.process_time() - c
    if not token:
        at.switch_page(str(ROOT / "pages" / page))
    if cold:
        from core.store import db as store_db

        store_db._shared.clear()
        if token:
            time.sleep(3)  # past the store's linger: the view opens the file as after a write
    charts: list[tuple[float, float]] = []
    plotly, vega = st.plotly_chart, st.vega_lite_chart

    def timed(draw):  # when the first chart's delta would leave for the browser (not a preload)
        def call(*a, **k):
            key = k.get("key")  # the Overview's preloads: Plotly's has a key, Vega-Lite's none
            if key != "ov-plotly-preload" and (draw is plotly or key is not None):
                charts.append((time.perf_counter(), time.process_time()))
            return draw(*a, **k)
        return call

    st.plotly_chart, st.vega_lite_chart = timed(plotly), timed(vega)
    pr = hooked_profiler() if prof else None
    t, c = time.perf_counter(), time.process_time()
    try:
        at.run()
    finally:
        threading.setprofile(None)
        st.plotly_chart, st.vega_lite_chart = plotly, vega
    first, first_cpu = time.perf_counter() - t, time.process_time() - c
    chart = (charts[0][0] - t, charts[0][1] - c) if charts else (None, None)
    if pr is not None:
        pr.disable()
        pstats.Stats(pr).sort_stats("cumulative").print_stats(top)
    runs, cpu = warm_runs(at, repeat)

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    return {"page": page + (" (share link)" if token else ""), "landing_first": r(landing), "landing_first_cpu": r(landing_cpu),
            "first": r(first), "first_cpu": r(first_cpu), "first_chart": r(chart[0]),
            "first_chart_cpu": r(chart[1]),
            "warm": r(statistics.median(runs)) if runs else None,
            "warm_cpu": r(statistics.median(cpu)) if cpu else None,
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "metrics": [str(m.value) for m in at.metric], "tabs": [x.label for x in at.tabs],
            "errors": [str(e.value)[:300] for e in at.exception]}


def first_renders(args: argparse.Namespace) -> None:
    """Each page in its own child process, so one page's cached reads do not make the next look
    fast."""
    print(f"load average {os.getloadavg()[0]:.1f} / {os.cpu_count()} cores", flush=True)
    flags = [f for f, on in (("--profile", args.profile), ("--cold", args.cold),
                             ("--skip-start", args.skip_start)) if on]
    if args.share:
        from core import sharing

        made = sharing.create(ADMIN, "bench/render.py", 1, db=args.db)
        flags.append(f"--token={made.url.rsplit('share=', 1)[1]}")  # one word: a token may start with '-'
    for page in args.first.split(","):
        subprocess.run([sys.executable, __file__, "--db", str(args.db), "--admin", ADMIN.name,
                        "--repeat", str(args.repeat), "--first-child", page, *flags], check=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=120)
    ap.add_argument("--db", type=Path, help="keep / reuse the big store here")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--admin", help="render as this admin account of --db (e.g. fleet-admin on bench/fleet.py's store)")
    ap.add_argument("--profile", action="store_true", help="also profile the slowest page")
    ap.add_argument("--profile-page", help="only profile this page file (e.g. train.py) on --db")
    ap.add_argument("--first", help="time these page files' first render on --db, each in a fresh process")
    ap.add_argument("--first-child", help=argparse.SUPPRESS)
    ap.add_argument("--cold", action="store_true", help="with --first: empty the read cache after the landing page")
    ap.add_argument("--skip-start", action="store_true",
                    help="with --first: leave out the landing page's inventory replay")
    ap.add_argument("--share", action="store_true",
                    help="with --first overview.py: through a share link made on --db (a write: use a copy)")
    ap.add_argument("--token", help=argparse.SUPPRESS)
    ap.add_argument("--only", help="only time these page files on --db (comma-separated, no baseline)")
    args = ap.parse_args()
    if args.admin:
        global ADMIN
        ADMIN = Actor(args.admin, "admin")
    if args.first_child:
        print(json.dumps(first_render(str(args.db), ADMIN.name, args.first_child, args.repeat,
                                      args.profile, args.cold, args.skip_start, token=args.token)),
              flush=True)
        return
    if args.first:
        first_renders(args)
        return
    if args.profile_page:
        profile(args.db, args.profile_page)
        return
    if args.only:
        print(f"load average {os.getloadavg()[0]:.1f} / {os.cpu_count()} cores")
        for f in args.only.split(","):
            first, med, errs = time_page(args.db, f, args.repeat)
            print(f"{f:<18} first {first:.2f} s, median {med:.2f} s wall, {CPU[f]:.2f} s CPU"
                  + (f"  ERRORS: {errs}" if errs else ""), flush=True)
        return
    tmp = Path(tempfile.mkdtemp(prefix="shelfcast-render-"))
    small = tmp / "small.duckdb"
    big = args.db or tmp / "big.duckdb"
    print(f"load average {os.getloadavg()[0]:.1f} / {os.cpu_count()} cores")
    print("baseline store: 100 series")
    build(small, 100, args.days)
    print(f"big store: {args.series:,} series")
    build(big, args.series, args.days)

    rows = []
    for f, title, _perm in PAGES:
        f0, base, e0 = time_page(small, f, args.repeat)
        f1, med, e1 = time_page(big, f, args.repeat)
        rows.append((title, f, base, f1, med, e0 + e1))
        print(f"  {title}: 100 series {base:.2f} s, 10k first {f1:.2f} s, median {med:.2f} s"
              f" ({CPU[f]:.2f} s CPU)", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f}")
    print(f"{'page':<12} {'100 series':>11} {'10k first':>10} {'10k median':>11} {'ratio':>6}  target<=1s")
    for title, _f, base, first, med, errs in rows:
        flag = "ok" if med <= 1.0 else "MISSED"
        print(f"{title:<12} {base:>10.2f}s {first:>9.2f}s {med:>10.2f}s {med / base:>6.1f}  {flag}"
              + (f"  ERRORS: {errs}" if errs else ""))
    if args.profile:
        slow = max(rows, key=lambda r: r[4])
        print(f"\nprofile of {slow[0]} ({slow[1]}) on the big store")
        profile(big, slow[1])


if __name__ == "__main__":
    main()
