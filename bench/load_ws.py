"""Server load test without a browser: N concurrent sessions (default 20) speak Streamlit's own
websocket protocol to one `shelfcast serve` on loopback, so the numbers are the server's, not
Chromium's.

    .venv/bin/python bench/load_ws.py [--sessions 20] [--rounds 2] [--series 200] [--days 120]
                                      [--db PATH] [--link-sessions 2] [--max-seconds 600]
                                      [--think SECONDS] [--profile FILE]

Each session opens `/_stcore/stream` (subprotocol "streamlit"), sends the `BackMsg.rerun_script`
a browser sends on load, fills and submits the sign-in form by its widget ids (taken from the
`ForwardMsg` deltas, as the browser does), then opens Monitor, Data, Compare and Overview `rounds`
times by their page hashes from the `navigation` message. A share-link session (`--link-sessions`)
opens `?share=TOKEN` and reruns the Overview. Page-ready: from sending the rerun until
`script_finished` with FINISHED_SUCCESSFULLY (the script run is over and every delta has arrived).
An error: an exception element, a compile error, page-not-found, a closed socket, or no
`script_finished` within 60 s. How sessions behave: all start at once; with `--think 0` (the
default) each clicks the next page the moment the last one is ready, a stress test no group of
people produces; `--think S` waits 0.5-1.5 x S seconds (uniform) before each view, as a person
reading the page does. `--profile FILE` has the server write its CPU per function to FILE
(app/profiling.py; FILE.folded holds whole stacks), counted over the measured wave only, and the
report adds the server's CPU per view of each page (its pages/*.py file) and what ran outside the
pages per view (the profiler's hook adds about half to the server's CPU: compare pages with each
other, not with an unprofiled run); if the run fails, every thread's stack
goes to FILE.stacks. The run is bounded: `rounds` per session and `--max-seconds` for the whole
wave, then every socket is closed and the server stopped.

Reported: errors, page-ready p50/p95/max (per page too), sign-in p50, the server's CPU seconds
per page view (its process tree via psutil across the wave, divided by page views + sign-ins; a
sign-in includes an argon2 hash, so it costs more than a view), the client's own CPU (to show it
did not bound the run), server RSS, and the load average. One session alone first is the
baseline of the p95 ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load import PASSWORD, ROLES, cpu_seconds, free_port, pct, server_rss, start_server, stop, tree  # noqa: E402
from render import ADMIN, build  # noqa: E402

from core import sharing, users  # noqa: E402

# sidebar title -> the page's own heading (st.title), which proves the right page ran
PAGES = {"Monitor": "Monitor", "Data": "Data", "Compare": "Compare versions", "Overview": "Overview"}
PAGE_TIMEOUT = 60.0


class PageError(Exception):
    """A page run that a user would have seen fail."""


@dataclass
class Run:
    """What one script run sent back."""

    widgets: dict[str, str] = field(default_factory=dict)      # label -> widget id
    submit: str | None = None                                  # the form's submit button id
    pages: dict[str, str] = field(default_factory=dict)        # page title -> page_script_hash
    exceptions: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


class Session:
    """One browser tab's worth of protocol: a websocket and the runs it asks for."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ws = None
        self.pages: dict[str, str] = {}

    async def __aenter__(self) -> Session:
        self.ws = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None,
                                           open_timeout=PAGE_TIMEOUT, ping_interval=None)
        return self

    async def __aexit__(self, *_exc) -> None:
        await self.ws.close()

    async def rerun(self, page: str | None = None, query: str = "", widgets: list | None = None) -> Run:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = query
        if page is not None:
            cs.page_script_hash = self.pages[page]
        cs.widget_states.widgets.extend(widgets or [])
        await self.ws.send(msg.SerializeToString())
        return await asyncio.wait_for(self._until_finished(), PAGE_TIMEOUT)

    async def _until_finished(self) -> Run:
        run = Run()
        while True:
            fm = ForwardMsg()
            fm.ParseFromString(await self.ws.recv())
            kind = fm.WhichOneof("type")
            if kind == "navigation":
                run.pages = {p.page_name: p.page_script_hash for p in fm.navigation.app_pages}
                self.pages = run.pages or self.pages
            elif kind == "page_not_found":
                raise PageError(f"page not found: {fm.page_not_found.page_name}")
            elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                self._element(fm.delta.new_element, run)
            elif kind == "script_finished":
                status = fm.script_finished
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    raise PageError("script compile error")
                if status == ForwardMsg.FINISHED_SUCCESSFULLY:
                    if run.exceptions:
                        raise PageError("exception shown: " + run.exceptions[0][:160])
                    return run
                # FINISHED_EARLY_FOR_RERUN: st.rerun / st.switch_page; the next run follows

    @staticmethod
    def _element(el, run: Run) -> None:
        kind = el.WhichOneof("type")
        if kind == "exception":
            run.exceptions.append(f"{el.exception.type}: {el.exception.message}")
        elif kind == "text_input":
            run.widgets[el.text_input.label] = el.text_input.id
        elif kind == "button" and el.button.is_form_submitter:
            run.submit = el.button.id
        elif kind == "heading":
            run.text.append(el.heading.body)


def widget(wid: str, *, text: str | None = None, trigger: bool = False):
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    w = WidgetState(id=wid)
    if trigger:
        w.trigger_value = True
    else:
        w.string_value = text or ""
    return w


async def sign_in(s: Session, user: str) -> None:
    first = await s.rerun()
    ids = first.widgets.values()  # a widget's id ends with its user key when it has one

    def by_key(key: str) -> str | None:
        return next((i for i in ids if i.endswith("-" + key)), None)

    name, pw = by_key("login-name"), by_key("login-pw")
    if not (name and pw and first.submit):
        raise PageError(f"no sign-in form (saw widgets {sorted(first.widgets)})")
    await s.rerun(widgets=[widget(name, text=user), widget(pw, text=PASSWORD),
                           widget(first.submit, trigger=True)])
    if not all(p in s.pages for p in PAGES):
        raise PageError(f"signed in but the pages offered are {sorted(s.pages)}")


async def pause(think: float) -> None:
    """A person reading the page before the next click: 0.5-1.5x the mean think time."""
    if think > 0:
        await asyncio.sleep(think * random.uniform(0.5, 1.5))


async def user_session(url: str, user: str, rounds: int, times: list, errors: list, think: float = 0.0) -> None:
    try:
        async with Session(url) as s:
            t = time.perf_counter()
            await sign_in(s, user)
            times.append(("sign-in", time.perf_counter() - t))
            for _ in range(rounds):
                for title in PAGES:
                    await pause(think)
                    t = time.perf_counter()
                    try:
                        run = await s.rerun(page=title)
                        if PAGES[title] not in run.text:
                            raise PageError(f"heading {PAGES[title]!r} not drawn")
                        times.append((title, time.perf_counter() - t))
                    except PageError as exc:
                        errors.append(f"{user} {title}: {exc}")
    except Exception as exc:  # noqa: BLE001 - counted and reported; the other sessions go on
        errors.append(f"{user}: {type(exc).__name__}: {str(exc)[:160]}")


async def link_session(url: str, token: str, rounds: int, times: list, errors: list, think: float = 0.0) -> None:
    try:
        async with Session(url) as s:
            for i in range(rounds * len(PAGES)):
                if i:
                    await pause(think)
                t = time.perf_counter()
                run = await s.rerun(query=f"share={token}")
                if "Overview" not in run.text:
                    raise PageError("the share link did not show the Overview")
                times.append(("Overview (link)", time.perf_counter() - t))
    except Exception as exc:  # noqa: BLE001
        errors.append(f"share link: {type(exc).__name__}: {str(exc)[:160]}")


async def wave(url: str, n: int, links: int, token: str, rounds: int, max_s: float,
               think: float = 0.0) -> tuple[list, list, float]:
    times: list = []
    errors: list = []
    tasks = [asyncio.create_task(user_session(url, f"load-{ROLES[i % len(ROLES)]}", rounds, times, errors, think))
             for i in range(n)]
    tasks += [asyncio.create_task(link_session(url, token, rounds, times, errors, think)) for _ in range(links)]
    t0 = time.perf_counter()
    _done, pending = await asyncio.wait(tasks, timeout=max_s)
    for t in pending:
        t.cancel()
    if pending:
        errors.append(f"{len(pending)} session(s) still running after --max-seconds {max_s:.0f}: cancelled")
    await asyncio.gather(*pending, return_exceptions=True)
    return times, errors, time.perf_counter() - t0


def measured(proc, url: str, n: int, links: int, token: str, rounds: int, max_s: float,
             think: float = 0.0, profile: Path | None = None) -> dict:
    server = tree(proc.pid)
    if profile is not None:  # the profile covers this wave only (app/profiling.py)
        profile_reset(profile)
    rss0 = server_rss(proc)
    s0, c0 = cpu_seconds(server), time.process_time()
    times, errors, wall = asyncio.run(wave(url, n, links, token, rounds, max_s, think))
    server_cpu, client_cpu = cpu_seconds(server) - s0, time.process_time() - c0
    views = [t for k, t in times if k != "sign-in"]
    signins = [t for k, t in times if k == "sign-in"]
    return {"sessions": n, "links": links, "views": len(views), "signins": len(signins), "errors": errors,
            "p50": statistics.median(views) if views else None, "p95": pct(views, 0.95) if views else None,
            "max": max(views) if views else None, "signin_p50": statistics.median(signins) if signins else None,
            "per_page": {k: (statistics.median(v), pct(v, 0.95), len(v)) for k in {k for k, _ in times}
                         if (v := [t for kk, t in times if kk == k])},
            "wall": wall, "server_cpu": server_cpu, "client_cpu": client_cpu,
            "cpu_per_view": server_cpu / max(1, len(views) + len(signins)),
            "rss_after": server_rss(proc), "rss_before": rss0}


def profile_reset(profile: Path) -> None:
    """Start the server's profile afresh (app/profiling.py looks for FILE.reset), so it covers one
    wave."""
    reset = Path(str(profile) + ".reset")
    reset.touch()
    deadline = time.monotonic() + 2
    while reset.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


# the pages/*.py file that serves each kind of view
PAGE_FILES = {"Monitor": "pages/monitor.py", "Data": "pages/data.py", "Compare": "pages/compare.py",
              "Overview": "pages/overview.py", "Overview (link)": "pages/overview.py"}


def page_cpu(profile: Path, r: dict) -> None:
    """The server's CPU per view of each page from the profile's per-page line (written every 5 s):
    the page file's own CPU over its views, and what ran outside the pages (gate, navigation,
    Streamlit's runner and loop) per view."""
    time.sleep(6)
    try:
        line = next(x for x in profile.read_text().splitlines() if x.startswith("CPU s by page: "))
    except (OSError, StopIteration):
        return
    by_page = {k: float(v) for k, v in (x.rsplit(" ", 1) for x in line.removeprefix("CPU s by page: ").split(", "))}
    views_of: dict[str, int] = {}
    for k, (_p50, _p95, n) in r["per_page"].items():
        if k in PAGE_FILES:
            views_of[PAGE_FILES[k]] = views_of.get(PAGE_FILES[k], 0) + n
    r["page_cpu"] = {k: by_page.get(f, 0.0) / views_of[f] for k, f in PAGE_FILES.items() if views_of.get(f)}
    runs = r["views"] + r["signins"]
    rest = {k: v for k, v in by_page.items() if not k.startswith("pages/")}
    r["shell_cpu"] = ", ".join(f"{k} {v / max(1, runs):.4f}" for k, v in sorted(rest.items(), key=lambda x: -x[1])) \
        + " CPU-s per view"


def report(name: str, r: dict) -> None:
    f = lambda x: "–" if x is None else f"{x:.2f} s"  # noqa: E731
    print(f"{name}: {r['views']} page views + {r['signins']} sign-ins in {r['wall']:.1f} s, "
          f"{len(r['errors'])} errors; page-ready p50 {f(r['p50'])}, p95 {f(r['p95'])}, max {f(r['max'])}; "
          f"sign-in p50 {f(r['signin_p50'])}")
    cpu = r.get("page_cpu", {})
    for k, (p50, p95, n) in sorted(r["per_page"].items()):
        c = f"  server CPU {cpu[k]:.3f} s per view (profile)" if k in cpu else ""
        print(f"    {k:<16} p50 {p50:.2f} s  p95 {p95:.2f} s  ({n}){c}")
    if "shell_cpu" in r:
        print(f"    outside the pages (profile): {r['shell_cpu']}")
    print(f"    server CPU {r['server_cpu']:.1f} s = {r['cpu_per_view']:.3f} CPU-s per page view "
          f"(sign-ins counted as views); load-test client CPU {r['client_cpu']:.1f} s; "
          f"server RSS {r['rss_before'] / 2**20:.0f} -> {r['rss_after'] / 2**20:.0f} MiB")
    for e in r["errors"][:10]:
        print(f"    error: {e}")


def prepare(db: Path, series: int, days: int) -> str:
    """The store (built once), one account per role and a share link; returns its token."""
    build(db, series, days)
    for role in ROLES:
        if users.current(f"load-{role}", db) is None:
            users.add_user(ADMIN, f"load-{role}", role, PASSWORD, db)
    made = sharing.create(ADMIN, "load test", "1d", db)
    return made.url.split("share=", 1)[1].split("&", 1)[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--link-sessions", type=int, default=2, help="extra sessions through a share link")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--series", type=int, default=200)
    ap.add_argument("--days", type=int, default=120)
    ap.add_argument("--db", type=Path, help="an existing store (accounts are added) or where to build one")
    ap.add_argument("--max-seconds", type=float, default=600, help="bound on each wave")
    ap.add_argument("--no-baseline", action="store_true", help="skip the one-session run")
    ap.add_argument("--think", type=float, default=0.0,
                    help="mean seconds a session waits between views (uniform 0.5-1.5x), as a person reads "
                         "the page; 0 (default) clicks again the moment a page is ready: a stress test")
    ap.add_argument("--profile", type=Path, help="write the server's CPU per function here (app/profiling.py)")
    args = ap.parse_args()
    if args.profile:
        os.environ["SHELFCAST_PROFILE"] = str(args.profile.resolve())
    tmp = Path(tempfile.mkdtemp(prefix="shelfcast-loadws-"))
    db = args.db or tmp / "load.duckdb"
    token = prepare(db, args.series, args.days)
    port = free_port()
    proc = start_server(db, port, tmp / "server.log")
    url = f"ws://127.0.0.1:{port}/_stcore/stream"
    failed = False
    try:
        print(f"server up on 127.0.0.1:{port}; RSS {server_rss(proc) / 2**20:.0f} MiB; load average "
              f"{os.getloadavg()[0]:.1f} / {os.cpu_count()} cores", flush=True)
        base = None
        if not args.no_baseline:
            base = measured(proc, url, 1, 0, token, args.rounds, args.max_seconds)
            report("1 session (baseline)", base)
        la0 = os.getloadavg()[0]
        r = measured(proc, url, args.sessions, args.link_sessions, token, args.rounds, args.max_seconds, args.think,
                     profile=args.profile)
        if args.profile:
            page_cpu(args.profile, r)
        how = f"think time {args.think:g} s between views" if args.think else "no think time (stress)"
        report(f"{args.sessions} sessions + {args.link_sessions} share-link sessions, {how}", r)
        print(f"load average before {la0:.1f}, after {os.getloadavg()[0]:.1f}")
        if r["p95"] is not None:
            ratio = f"; p95 {r['p95'] / base['p95']:.1f}x the single session's" if base and base["p95"] else ""
            print(f"targets: 0 errors {'met' if not r['errors'] else 'MISSED'}; p95 <= 2 s "
                  f"{'met' if r['p95'] <= 2 else 'MISSED'}{ratio}")
        failed = bool(r["errors"]) or r["p95"] is None
        if failed and args.profile:  # every server thread's stack to PROFILE.stacks (app/profiling.py)
            for p in tree(proc.pid):
                with contextlib.suppress(OSError):
                    os.kill(p.pid, signal.SIGUSR1)
            time.sleep(1)
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)  # the store (unless --db) and the server log
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
