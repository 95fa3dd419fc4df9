"""Load benchmark: N concurrent browser sessions (default 20) against one running Shelfcast server.
Each session is its own Playwright browser context in one headless Chromium (Debian's): it signs in
and clicks through the main pages in the sidebar. Targets (issue 7): 0 errors, p95 page-ready time
< 2 s. Also reports the server's RSS (idle, peak while loaded, after) and the machine's load
average, and the same page-ready times for ONE session alone first (the baseline of the ratio).

    .venv/bin/python bench/load.py [--sessions 20] [--rounds 2] [--series 200] [--db PATH]

Page-ready: from the click on the sidebar link until the page's title is on screen and Streamlit
shows no "Running..." status (the script run has finished). An error is any exception shown by
the app, a "Connection error", or a page not ready within 60 s. Note that Chromium runs on the
same machine as the server, so on a small box the browser's own CPU use is part of the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from render import ADMIN, build  # noqa: E402

from core import users  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
PASSWORD = "load-password-1"
ROLES = ("manager", "scientist", "viewer")
# sidebar title -> the page's own heading
PAGES = {"Monitor": "Monitor", "Data": "Data", "Compare": "Compare versions", "Overview": "Overview"}
READY_JS = """(h) => !document.querySelector('[data-testid="stStatusWidget"]')
  && [...document.querySelectorAll('h1')].some(e => e.innerText.trim() === h)"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, port: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ, SHELFCAST_DB=str(db))
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "shelfcast"), "serve", "--no-demo", "--port", str(port),
         "--address", "127.0.0.1"], env=env, cwd=ROOT, stdout=log.open("w"),
        stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:  # noqa: S310
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(log.read_text()[-2000:])


def stop(proc) -> None:
    """SIGTERM the server's process group (`serve` and its streamlit child), SIGKILL what lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            proc.poll()  # reap the wrapper so the group can empty
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for x in procs:
        try:
            t = x.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def tree(pid: int) -> list[psutil.Process]:
    p = psutil.Process(pid)
    return [p, *p.children(recursive=True)]


def server_rss(proc: subprocess.Popen) -> int:
    """Resident memory of the server: the `shelfcast serve` wrapper and its streamlit child."""
    p = psutil.Process(proc.pid)
    return sum(x.memory_info().rss for x in [p, *p.children(recursive=True)])


async def ready(page, heading: str, timeout_ms: float = 60_000) -> None:
    await page.wait_for_function(READY_JS, arg=heading, timeout=timeout_ms, polling=50)


async def session(browser, url: str, user: str, rounds: int, times: list, errors: list) -> None:
    ctx = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await ctx.new_page()
    page.set_default_timeout(60_000)
    try:
        t = time.perf_counter()
        await page.goto(url)
        await page.get_by_role("textbox", name="User name").fill(user)
        await page.get_by_role("textbox", name="Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_text(f"Signed in as {user}").wait_for()
        await ready(page, "Overview")
        times.append(("sign-in", time.perf_counter() - t))
        nav = page.locator('[data-testid="stSidebarNav"]')
        for _ in range(rounds):
            for title, heading in PAGES.items():
                t = time.perf_counter()
                await nav.get_by_role("link", name=title).click()
                await page.wait_for_timeout(30)  # let the old page go stale before checking
                await ready(page, heading)
                times.append((title, time.perf_counter() - t))
                bad = await page.locator('[data-testid="stException"]').count()
                if bad or await page.get_by_text("Connection error").count():
                    errors.append(f"{user} {title}: exception shown")
    except Exception as exc:  # noqa: BLE001 - counted and reported, the benchmark goes on
        errors.append(f"{user}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
    finally:
        await ctx.close()


async def wave(url: str, n: int, rounds: int, proc) -> tuple[list, list, int]:
    from playwright.async_api import async_playwright

    times: list = []
    errors: list = []
    peak = [server_rss(proc)]

    async def sample() -> None:
        while True:
            peak[0] = max(peak[0], server_rss(proc))
            await asyncio.sleep(0.5)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        sampler = asyncio.create_task(sample())
        server = tree(proc.pid)
        browsers = [c for c in tree(os.getpid())[1:] if c.pid not in {x.pid for x in server}]
        s0, b0 = cpu_seconds(server), cpu_seconds(browsers)
        t0 = time.perf_counter()
        try:
            await asyncio.gather(*[session(browser, url, f"load-{ROLES[i % 3]}", rounds, times, errors)
                                   for i in range(n)])
        finally:
            sampler.cancel()
            browsers = [c for c in tree(os.getpid())[1:] if c.pid not in {x.pid for x in server}]
            wall = time.perf_counter() - t0
            print(f"  CPU over {wall:.0f} s: server {cpu_seconds(server) - s0:.0f} s, "
                  f"Chromium + Playwright {cpu_seconds(browsers) - b0:.0f} s (2 cores = {2 * wall:.0f} s)")
            await browser.close()
    return times, errors, peak[0]


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def report(name: str, times: list, errors: list) -> dict:
    pages = [t for k, t in times if k != "sign-in"]
    signin = [t for k, t in times if k == "sign-in"]
    r = {"p50": statistics.median(pages), "p95": pct(pages, 0.95), "max": max(pages)} if pages else {}
    print(f"{name}: {len(pages)} page loads, {len(errors)} errors; page-ready p50 {r.get('p50', 0):.2f} s, "
          f"p95 {r.get('p95', 0):.2f} s, max {r.get('max', 0):.2f} s; sign-in p50 "
          f"{statistics.median(signin) if signin else 0:.2f} s")
    for title in PAGES:
        ts = [t for k, t in times if k == title]
        if ts:
            print(f"    {title:<9} p50 {statistics.median(ts):.2f} s  p95 {pct(ts, 0.95):.2f} s")
    for e in errors[:10]:
        print(f"    error: {e}")
    return r


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--series", type=int, default=200)
    ap.add_argument("--days", type=int, default=120)
    ap.add_argument("--db", type=Path, help="an existing store (accounts are added) or where to build one")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="shelfcast-load-"))
    db = args.db or tmp / "load.duckdb"
    build(db, args.series, args.days)
    for role in ROLES:
        if users.current(f"load-{role}", db) is None:
            users.add_user(ADMIN, f"load-{role}", role, PASSWORD, db)
    port = free_port()
    proc = start_server(db, port, tmp / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        idle = server_rss(proc)
        print(f"server up; RSS {idle / 2**20:.0f} MiB; load average {os.getloadavg()[0]:.1f} / {os.cpu_count()} cores")
        t1, e1, _ = asyncio.run(wave(url, 1, args.rounds, proc))
        base = report("1 session (baseline)", t1, e1)
        la0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        tn, en, peak = asyncio.run(wave(url, args.sessions, args.rounds, proc))
        wall = time.perf_counter() - t0
        r = report(f"{args.sessions} concurrent sessions", tn, en)
        after = server_rss(proc)
        print(f"wall {wall:.1f} s; load average before {la0:.1f}, after {os.getloadavg()[0]:.1f}")
        print(f"server RSS: idle {idle / 2**20:.0f} MiB, peak {peak / 2**20:.0f} MiB, after {after / 2**20:.0f} MiB")
        if base and r:
            print(f"p95 ratio vs 1 session: {r['p95'] / base['p95']:.1f}x; target p95 < 2 s: "
                  f"{'met' if r['p95'] < 2 else 'MISSED'}; errors target 0: {'met' if not en else 'MISSED'}")
    finally:
        stop(proc)


if __name__ == "__main__":
    main()
