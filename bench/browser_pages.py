"""Time to first chart in Chromium, page by page: what a person waits for, measured in a real
browser against a real `shelfcast serve` (issue 13: every page <= 2 s to its first chart).

    .venv/bin/python bench/browser_pages.py [--db PATH] [--series 200] [--days 120] [--repeat 3]
                                            [--json OUT] [--pages Data,Compare]

`--db PATH`: an existing store (an admin account `browser-bench` is added if missing, acting as
an existing admin: `--admin NAME`, default `fleet-admin` or `bench-admin`); without it a small
store is built like bench/render.py's (`--series` x `--days`, naive trained and promoted, a week
of actuals after). The bench writes to the store (the account, share links): use a copy.

How it measures. One headless Chromium (Debian's, through Playwright) signs in as the admin, then
opens every page by its sidebar link, as a person does (the app is already loaded; the click starts
the page's script run on the server). Per page:
  chart   click -> the first chart drawn (Plotly: `.main-svg` of the new page; Vega-Lite: an item
          of a data mark in its SVG, or a painted pixel of its canvas), taken in the browser by
          a MutationObserver (performance.now(), no polling error; a canvas: on each frame);
  ready   click -> the script run finished (`script_finished` on the websocket), the page's
          heading on screen and no "Running..." status;
  shown   the page's figure for issue 13: chart, or ready for a page that draws no chart;
  sent    click -> that chart's message arrived from the server (chart - sent: the browser's part);
  server CPU-s and browser CPU-s (psutil, each process tree, across the page), and the bytes the
          server sent on the websocket for it (frames and the largest one: a big dataframe
          shipped to the browser is the usual cause of a slow page).
Sign in -> Overview: from the click on "Sign in" to the landing page's chart, the server's first
view after it started. Cold: the first visit after the server started, each page right after a write to the store (a
share link is created), so no cache of an earlier page's reads serves it (the first view after
an upload). Warm: `--repeat` rounds through every page after one untimed round (the writes made
every cached read stale), the median per page. The Overview through
a share link is measured from navigation start in a tab of its own (the app's own load included,
as an executive opening the link sees it): cold in a fresh browser context (nothing cached),
warm in the same context again (scripts cached). For it the JavaScript fetched is
reported too (KiB of `.js` bodies: the app's chunks, 0 when served from the browser's cache). The load average is printed before and
after. Exit status 1 if any page showed an exception, a "Connection error" or did not get ready.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load import ARGS, CHROMIUM, free_port, start_server, stop, tree  # noqa: E402

from app.nav import PAGES  # noqa: E402
from core import sharing, users  # noqa: E402
from core.access import Actor  # noqa: E402

USER = "browser-bench"
PASSWORD = "browser-bench-password-1"  # an account on a throw-away store or a copy
ADMINS = ("fleet-admin", "bench-admin")
# sidebar title -> the page's own heading (st.title)
HEADINGS = {"Compare": "Compare versions"}
LINK = "Overview (share link)"
SIGN_IN = "Sign in -> Overview"
TIMEOUT_MS = 180_000
CHART_ELEMENTS = ("plotly_chart", "vega_lite_chart")  # the elements that count as a chart, on the wire
NEW_CHART = '[data-testid="stPlotlyChart"]:not([data-bench-old]), [data-testid="stVegaLiteChart"]:not([data-bench-old])'

# Installed at document start (the websocket is wrapped before the app opens it): records, after `arm`, when the
# first chart of the new page is drawn: the new page's heading is on screen and a chart that was not
# there when armed (the page being left; one still drawing then finishes late) has its marks. Drawn
# means: a Plotly chart has its SVG; a Vega-Lite chart rendered as SVG has an item of one of its
# data marks (a path, line or text, not an axis), one rendered on a canvas has a pixel painted
# (Vega paints a canvas after inserting it, with no DOM change: checked on every frame then).
OBSERVER_JS = """() => {
  if (window.__bench) return;
  const b = window.__bench = {t0: 0, chart: null, ready: null, heading: null};
  const CHARTS = '[data-testid="stPlotlyChart"], [data-testid="stVegaLiteChart"]';
  const mine = () => [...document.querySelectorAll('h1')].some(e => e.innerText.trim() === b.heading);
  const painted = (c) => {
    if (!c.width || !c.height) return false;
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < px.length; i += 4) if (px[i]) return true;
    return false;
  };
  const drawn = () => document.querySelector(
      '[data-testid="stPlotlyChart"]:not([data-bench-old]) .main-svg, '
      + '[data-testid="stVegaLiteChart"]:not([data-bench-old]) svg.marks .role-mark > :not(g)')
    || [...document.querySelectorAll('[data-testid="stVegaLiteChart"]:not([data-bench-old]) canvas')].some(painted);
  const seen = () => {
    if (b.chart === null && b.heading && mine() && drawn()) b.chart = performance.now();
  };
  new MutationObserver(seen).observe(document, {childList: true, subtree: true});
  const frame = () => {  // a canvas gets its pixels without a DOM change
    if (b.chart === null && document.querySelector('[data-testid="stVegaLiteChart"]:not([data-bench-old]) canvas')) seen();
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  b.frames = [];  // [arrival, bytes] of the app's websocket messages since armed
  const WS = window.WebSocket;
  window.WebSocket = class extends WS {
    constructor(...a) {
      super(...a);
      this.addEventListener('message', (e) => b.frames.push(
        [performance.now(), e.data.byteLength ?? e.data.size ?? e.data.length]));
    }
  };
  b.arm = (heading) => {
    document.querySelectorAll(CHARTS).forEach(e => e.setAttribute('data-bench-old', '1'));
    Object.assign(b, {t0: performance.now(), chart: null, ready: null, heading, frames: []});
  };
}"""
READY_JS = """() => {
  const b = window.__bench;
  const ok = !document.querySelector('[data-testid="stStatusWidget"]')
    && [...document.querySelectorAll('h1')].some(e => e.innerText.trim() === b.heading);
  if (ok && b.ready === null) b.ready = performance.now();
  return ok;
}"""


@dataclass
class View:
    page: str
    phase: str  # cold / warm
    chart: float | None = None  # seconds from the click (navigation start for a link) to the first chart
    sent: float | None = None  # seconds from the click to the first chart's message arriving (the server's part)
    ready: float | None = None
    server_cpu: float = 0.0
    browser_cpu: float = 0.0
    bytes: int = 0
    frames: int = 0
    largest: int = 0
    js_kib: float = 0.0  # JavaScript the browser fetched for the view (a share link's tab; 0 from its cache)
    errors: list[str] = field(default_factory=list)

    @property
    def shown(self) -> float | None:
        return self.chart if self.chart is not None else self.ready


class Wire:
    """What the server sends on the app's websocket for a view: bytes, the charts and exceptions
    in it, and the end of its script run."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.chart_size: int | None = None  # bytes of the first chart's message: found among the browser's
        self.bytes = self.frames = self.largest = self.charts = 0
        self.started = False  # frames of a run begun before the view (its end) are not the view's
        self.finished = 0
        self.exceptions: list[str] = []

    def attach(self, page) -> None:
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        fm = ForwardMsg()
        try:
            fm.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
        except Exception:  # noqa: BLE001 - not a ForwardMsg (none is expected): not the view's
            return
        kind = fm.WhichOneof("type")
        self.started = self.started or kind == "new_session"  # every script run opens with one
        if not self.started:
            return
        self.bytes += len(payload)
        self.frames += 1
        self.largest = max(self.largest, len(payload))
        if kind == "script_finished" and fm.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
            self.finished += 1
        elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
            el = fm.delta.new_element
            if el.WhichOneof("type") in CHART_ELEMENTS and _draws(el):
                self.charts += 1
                self.chart_size = self.chart_size or len(payload)
            elif el.WhichOneof("type") == "exception":
                self.exceptions.append(f"exception: {el.exception.type}: {el.exception.message[:160]}")


def _draws(el) -> bool:
    """A chart element with something to draw: not one sent empty (the Overview sends an empty
    Vega-Lite element first so the browser loads the library early; it draws nothing)."""
    if el.WhichOneof("type") != "vega_lite_chart":
        return True
    v = el.vega_lite_chart

    def rows(x) -> bool:
        if isinstance(x, dict):
            return any(k == "values" and isinstance(y, list) and y or rows(y) for k, y in x.items())
        return isinstance(x, list) and any(rows(y) for y in x)

    import pyarrow as pa

    def arrow_rows(b: bytes) -> int:
        return pa.ipc.open_stream(b).read_all().num_rows if b else 0

    return bool(rows(json.loads(v.spec)) or arrow_rows(v.data.data)
                or any(arrow_rows(d.data.data) for d in v.datasets))


class Meter:
    """CPU seconds of the server's process tree and of the browser's (Chromium + Playwright).
    Each process's last reading is kept, so a renderer that exits (a closed context) does not
    take its CPU out of the total."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.last: dict[int, float] = {}
        self.server: set[int] = set()

    def _sum(self, procs: list[psutil.Process]) -> float:
        for p in procs:
            try:
                t = p.cpu_times()
                self.last[p.pid] = t.user + t.system
            except psutil.Error:
                pass
        return sum(self.last.get(p.pid, 0.0) for p in procs)

    def read(self) -> tuple[float, float]:
        server = tree(self.server_pid)
        self.server |= {p.pid for p in server}
        self._sum(server)
        self._sum([c for c in tree(os.getpid())[1:] if c.pid not in self.server])
        return (sum(v for pid, v in self.last.items() if pid in self.server),
                sum(v for pid, v in self.last.items() if pid not in self.server))


def heading(title: str) -> str:
    return HEADINGS.get(title, title)


def problems(page) -> list[str]:
    out = [f"exception: {t[:200]}" for t in page.locator('[data-testid="stException"]').all_inner_texts()]
    if page.get_by_text("Connection error").count():
        out.append("connection error")
    return out


def finish(page, wire: Wire, view: View, meter: Meter, before: tuple[float, float], t_click: float) -> None:
    """Wait for the run's end and the first chart, then fill the view's figures."""
    try:
        while not wire.finished:
            if time.perf_counter() - t_click > TIMEOUT_MS / 1000:
                raise TimeoutError("no script_finished")
            page.wait_for_timeout(10)
        page.wait_for_function(READY_JS, timeout=TIMEOUT_MS, polling="raf")
        # a chart sent whole, or sent before in this session (then only its hash comes) and on screen
        if wire.charts or page.locator(NEW_CHART).count():
            page.wait_for_function("() => window.__bench.chart !== null", timeout=TIMEOUT_MS, polling="raf")
        b = page.evaluate("() => ({t0: window.__bench.t0, chart: window.__bench.chart, ready: window.__bench.ready,"
                          " frames: window.__bench.frames})")
        view.ready = (b["ready"] - b["t0"]) / 1000
        view.chart = None if b["chart"] is None else (b["chart"] - b["t0"]) / 1000
        got = [t for t, n in b["frames"] if n == wire.chart_size]
        view.sent = (got[0] - b["t0"]) / 1000 if got and wire.chart_size else None
    except Exception as exc:  # noqa: BLE001 - reported as the page's error, the bench goes on
        view.errors.append(f"not ready: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
    view.errors += wire.exceptions or problems(page)
    s, b_ = meter.read()
    view.server_cpu, view.browser_cpu = s - before[0], b_ - before[1]
    view.bytes, view.frames, view.largest = wire.bytes, wire.frames, wire.largest


def visit(page, wire: Wire, meter: Meter, title: str, phase: str) -> View:
    """Open a page by its sidebar link (the app stays loaded, as when a person clicks)."""
    view = View(title, phase)
    before = meter.read()
    wire.reset()
    t = time.perf_counter()
    page.evaluate(
        """([title, heading]) => {
          const a = [...document.querySelectorAll('[data-testid="stSidebarNav"] a')]
            .find(e => e.innerText.trim() === title);
          if (!a) throw new Error('no sidebar link ' + title);
          window.__bench.arm(heading);
          a.click();
        }""", [title, heading(title)])
    finish(page, wire, view, meter, before, t)
    return view


def link_context(browser):
    """A browser context of its own (no cookies of the admin's), with the observer at document start."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    ctx.add_init_script(f"({OBSERVER_JS})(); window.__bench.heading = 'Overview';")
    return ctx


def open_link(ctx, url: str, meter: Meter, phase: str) -> View:
    """The Overview through a share link in a new tab of `ctx`: from navigation start (t0 = 0).
    Cold: a fresh context (nothing cached: the app's scripts are fetched and compiled); warm: the
    same context again (the browser's cache warm, as for someone who opened the link before)."""
    view = View(LINK, phase)
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    wire = Wire()
    wire.attach(page)
    fetched: list = []
    page.on("requestfinished", lambda r: fetched.append(r))
    try:
        before = meter.read()
        t = time.perf_counter()
        page.goto(url)
        finish(page, wire, view, meter, before, t)
        view.js_kib = sum(max(0, r.sizes()["responseBodySize"]) for r in fetched
                          if urlparse(r.url).path.endswith(".js")) / 1024
    finally:
        page.close()
    return view


def sign_in(page, wire: Wire, url: str, meter: Meter) -> View:
    """Sign in, timed from the click on "Sign in" to the landing page's (Overview's) first chart:
    the server's first view after it started (a cache kept per process is filled here)."""
    page.add_init_script(f"({OBSERVER_JS})()")
    page.goto(url)
    page.get_by_role("textbox", name="User name").fill(USER)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    view = View(SIGN_IN, "cold")
    before = meter.read()
    wire.reset()
    t = time.perf_counter()
    page.evaluate("() => window.__bench.arm('Overview')")
    page.get_by_role("button", name="Sign in").click()
    finish(page, wire, view, meter, before, t)
    return view


def prepare(db: Path, admin: str | None) -> Actor:
    """The bench's own admin account on the store (made by an existing admin, or the first)."""
    if not users.has_users(db):
        return users.create_first_admin(USER, PASSWORD, db)
    if (me := users.current(USER, db)) is not None:
        return me
    for name in ([admin] if admin else list(ADMINS)):
        a = users.current(name, db)
        if a is not None and a.role == "admin":
            users.add_user(a, USER, "admin", PASSWORD, db)
            return Actor(USER, "admin")
    raise SystemExit(f"no admin among {admin or ADMINS} in {db}: pass --admin NAME")


def store_changed(me: Actor, db: Path) -> str:
    """A write (a new share link), so the next view is the first after the store changed; its
    token opens the Overview read-only."""
    made = sharing.create(me, "browser bench", 1, db)
    return parse_qs(urlparse(made.url).query)["share"][0]


def run(db: Path, me: Actor, titles: list[str], repeat: int, say=print) -> list[View]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(db, port, db.parent / "browser_pages_server.log")
    views: list[View] = []
    try:
        meter = Meter(proc.pid)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.set_default_timeout(TIMEOUT_MS)
                wire = Wire()
                wire.attach(page)
                views.append(v := sign_in(page, wire, url, meter))
                say(line(v), flush=True)
                # Overview last: sign-in landed on it, and a page is never opened from itself
                order = [*(t for t in titles if t != "Overview"), *(["Overview"] if "Overview" in titles else [])]
                for title in order:  # cold: each page first after a write
                    store_changed(me, db)
                    views.append(v := visit(page, wire, meter, title, "cold"))
                    say(line(v), flush=True)
                token = store_changed(me, db)
                link = f"{url}/?share={token}"
                views.append(v := open_link(ctx := link_context(browser), link, meter, "cold"))
                say(line(v), flush=True)
                # one round untimed: the writes above left every cached read stale
                for i in range(repeat + 1):
                    for title in order:
                        v = visit(page, wire, meter, title, "warm")
                        if i:
                            views.append(v)
                            say(line(v), flush=True)
                    v = open_link(ctx, link, meter, "warm")
                    if i:
                        views.append(v)
                        say(line(v), flush=True)
            finally:
                browser.close()
    finally:
        stop(proc)
    return views


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def line(v: View) -> str:
    return (f"  {v.phase:<5} {v.page:<22} chart {_s(v.chart):>6} s (sent {_s(v.sent):>5} s)  ready {_s(v.ready):>6} s  "
            f"server {v.server_cpu:5.2f} CPU-s  browser {v.browser_cpu:5.2f} CPU-s  "
            f"{v.bytes / 1024:8.0f} KiB in {v.frames} frames" + (f"  JS fetched {v.js_kib:.0f} KiB" if v.page == LINK else "") + (f"  ERRORS {v.errors}" if v.errors else ""))


def summary(views: list[View], target: float = 2.0) -> list[dict]:
    """Per page: cold, and the medians of the warm views."""
    rows = []
    for name in dict.fromkeys(v.page for v in views):
        cold = next((v for v in views if v.page == name and v.phase == "cold"), None)
        warm = [v for v in views if v.page == name and v.phase == "warm"]

        def med(f, vs=warm):
            xs = [f(v) for v in vs if f(v) is not None]
            return statistics.median(xs) if xs else None

        rows.append({
            "page": name, "has_chart": any(v.chart is not None for v in [*warm, *([cold] if cold else [])]),
            "cold_shown": cold.shown if cold else None, "cold_ready": cold.ready if cold else None,
            "cold_server_cpu": cold.server_cpu if cold else None,
            "warm_shown": med(lambda v: v.shown), "warm_ready": med(lambda v: v.ready),
            "warm_sent": med(lambda v: v.sent),
            "warm_server_cpu": med(lambda v: v.server_cpu), "warm_browser_cpu": med(lambda v: v.browser_cpu),
            "cold_browser_cpu": cold.browser_cpu if cold else None,
            "cold_js_kib": cold.js_kib if cold else None,
            "kib": med(lambda v: v.bytes / 1024) or (cold.bytes / 1024 if cold else 0),
            "errors": sorted({e for v in views if v.page == name for e in v.errors}),
            "target": target,
        })
    return rows


def table(rows: list[dict]) -> str:
    head = (f"{'page':<22}{'waits':>7}{'cold':>7}{'warm':>7}{'sent':>6}{'cold rdy':>9}{'warm rdy':>9}"
            f"{'srv CPU cold':>13}{'srv CPU warm':>13}{'brw CPU warm':>13}{'KiB sent':>10}  <=2 s")
    out = [head, "-" * len(head)]
    for r in rows:
        worst = max(x for x in (r["cold_shown"], r["warm_shown"]) if x is not None) if (
            r["cold_shown"] is not None or r["warm_shown"] is not None) else None
        flag = "ERROR " + "; ".join(r["errors"]) if r["errors"] else (
            "ok" if worst is not None and worst <= r["target"] else "MISSED")
        out.append(f"{r['page']:<22}{'chart' if r['has_chart'] else 'page':>7}{_s(r['cold_shown']):>7}"
                   f"{_s(r['warm_shown']):>7}{_s(r['warm_sent']):>6}{_s(r['cold_ready']):>9}{_s(r['warm_ready']):>9}"
                   f"{_s(r['cold_server_cpu']):>13}{_s(r['warm_server_cpu']):>13}"
                   f"{_s(r['warm_browser_cpu']):>13}{r['kib']:>10.0f}  {flag}")
    out.append("waits: what the figure waits for (the first chart, or the page ready when it draws none); "
               "seconds from the sidebar click (the share link: from navigation start); sent: warm, when "
               "the chart's message arrived (the rest is the browser's)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, help="an existing store (use a copy: the bench adds an account and links)")
    ap.add_argument("--admin", help="an admin of --db to add the bench's account with")
    ap.add_argument("--series", type=int, default=200)
    ap.add_argument("--days", type=int, default=120)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pages", help="only these sidebar titles, comma-separated (default: all)")
    ap.add_argument("--json", type=Path, help="also write every view and the summary here")
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if args.db is not None:
        return bench(args, args.db.resolve())
    from render import build

    with tempfile.TemporaryDirectory(prefix="shelfcast-browser-") as tmp:
        db = Path(tmp) / "store.duckdb"
        build(db, args.series, args.days)
        return bench(args, db)


def bench(args: argparse.Namespace, db: Path) -> int:
    os.environ.pop("SHELFCAST_DB", None)
    me = prepare(db, args.admin)
    titles = [t for _f, t, _p in PAGES]
    if args.pages:
        want = [x.strip() for x in args.pages.split(",")]
        titles = [t for t in titles if t in want]
    load0 = os.getloadavg()
    print(f"load average before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} / {os.cpu_count()} cores", flush=True)
    views = run(db, me, titles, args.repeat)
    load1 = os.getloadavg()
    rows = summary(views)
    print()
    print(table(rows))
    print(f"load average after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"load_before": load0, "load_after": load1, "summary": rows,
                                         "views": [asdict(v) | {"shown": v.shown} for v in views]}, indent=1))
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
