"""A real Shelfcast server and headless Chromium (Debian's package) for the browser journeys."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]

needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (apt-get install chromium); CI installs it",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(db: Path, timeout: float = 90) -> Iterator[str]:
    """`shelfcast serve --no-demo` on a free port; yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, SHELFCAST_DB=str(db), SHELFCAST_BASE_URL=url)
    log = open(db.parent / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "shelfcast"), "serve", "--no-demo", "--port", str(port),
         "--address", "127.0.0.1"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        start_new_session=True,  # `serve` starts streamlit as a child: stop the whole group
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:  # noqa: S310
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {(db.parent / 'server.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        _stop_group(proc)
        log.close()


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group (wrapper and streamlit child), SIGKILL if it lingers."""
    import signal

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            proc.poll()  # reap the wrapper so the group can empty
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
    proc.wait(10)


@contextmanager
def browser_page(width: int = 1400, height: int = 900):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(60_000)
            watch_runs(page)
            yield page
        finally:
            browser.close()


class Runs:
    """The app's script runs as its websocket tells them: every run opens with a `new_session`
    message and ends with `script_finished` (what bench/browser_pages.py waits for)."""

    def __init__(self) -> None:
        self.running = False
        self.finished = 0
        self.last_frame = time.monotonic()

    def frame(self, payload) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.last_frame = time.monotonic()
        fm = ForwardMsg()
        try:
            fm.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
        except Exception:  # noqa: BLE001 - not a ForwardMsg: nothing about runs
            return
        kind = fm.WhichOneof("type")
        if kind == "new_session":
            self.running = True
        elif kind == "script_finished":
            self.running = False
            self.finished += 1


_RUNS: dict[int, Runs] = {}  # by id(page): Playwright's objects take no attributes of ours


def watch_runs(page) -> Runs:
    runs = _RUNS[id(page)] = Runs()
    page.on("websocket", lambda ws: ws.on("framereceived", runs.frame))
    page.on("close", lambda _p: _RUNS.pop(id(page), None))
    return runs


QUIET_S = 0.3  # no websocket message for this long after the run's end: nothing more is coming


def settle(page, extra_ms: int = 300, timeout_s: float = 90) -> None:
    """Wait until Streamlit has finished the script run the last action started: its
    `script_finished` on the websocket, then a moment without any message (a click's rerun
    starts a few milliseconds after it), and the app's own `data-test-script-state` saying it
    is not running; then `extra_ms` for the browser to draw (Plotly charts draw after the run).
    A page not opened through browser_page() falls back to the network going idle."""
    page.wait_for_load_state("networkidle")
    runs = _RUNS.get(id(page))
    if runs is not None:
        deadline = time.monotonic() + timeout_s
        while runs.running or time.monotonic() - runs.last_frame < QUIET_S:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the app's script run did not finish within {timeout_s:.0f} s")
            page.wait_for_timeout(20)  # Playwright delivers the websocket's frames while it waits
        page.wait_for_selector('[data-testid="stApp"]:not([data-test-script-state="running"])',
                               state="attached", timeout=timeout_s * 1000)
    page.wait_for_timeout(extra_ms)


def sign_in(page, url: str, name: str, password: str) -> None:
    page.goto(url)
    page.get_by_role("textbox", name="User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {name}").wait_for()


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    size = page.viewport_size
    # Streamlit scrolls inside its own container, so full_page alone sees one screen: grow the
    # window to the content's height for the picture, then put it back.
    height = page.evaluate(
        "() => Math.max(0, ...[...document.querySelectorAll('[data-testid=stVerticalBlock] > *')]"
        ".map(e => e.getBoundingClientRect().bottom))"
    )
    page.set_viewport_size({"width": size["width"], "height": int(min(max(height + 40, size["height"]), 4000))})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


def goto(page, title: str) -> None:
    """Open a page through the sidebar navigation (a new URL would start a new session)."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    settle(page)
