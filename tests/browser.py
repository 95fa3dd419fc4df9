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
            yield page
        finally:
            browser.close()


def sign_in(page, url: str, name: str, password: str) -> None:
    page.goto(url)
    page.get_by_role("textbox", name="User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {name}").wait_for()


def settle(page, extra_ms: int = 600) -> None:
    """Wait until Streamlit has finished running the script (no 'Running...' status)."""
    page.wait_for_load_state("networkidle")
    try:
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=60_000)
    except Exception:  # noqa: BLE001 - the widget may never have appeared
        pass
    page.wait_for_timeout(extra_ms)


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
