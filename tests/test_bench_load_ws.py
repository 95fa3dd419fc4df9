"""bench/load_ws.py against a real `shelfcast serve`: sessions sign in and open pages through
Streamlit's websocket protocol, and a page that is not what was asked for counts as an error."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import load_ws  # noqa: E402


@pytest.mark.slow
def test_sessions_over_the_websocket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "load.duckdb"
    token = load_ws.prepare(db, 40, 60)
    port = load_ws.free_port()
    proc = load_ws.start_server(db, port, tmp_path / "server.log")
    url = f"ws://127.0.0.1:{port}/_stcore/stream"
    try:
        r = load_ws.measured(proc, url, 2, 1, token, 1, 300)
        assert r["errors"] == [], r["errors"]
        # 2 signed-in sessions x 4 pages, and the link session reruns the Overview 4 times
        assert (r["views"], r["signins"]) == (2 * 4 + 4, 2)
        assert set(r["per_page"]) == {*load_ws.PAGES, "Overview (link)", "sign-in"}
        assert 0 < r["p50"] <= r["p95"] <= r["max"] < 120 and r["server_cpu"] > 0 and r["cpu_per_view"] > 0
        # a revoked or wrong link shows "not valid", not the Overview: counted as an error
        bad = load_ws.measured(proc, url, 0, 1, "not-a-valid-token", 1, 120)
        assert bad["views"] == 0 and len(bad["errors"]) == 1 and "did not show the Overview" in bad["errors"][0]
        # a wrong password never reaches the pages: an error, not a page view
        times: list = []
        errors: list = []
        monkeypatch.setattr(load_ws, "PASSWORD", "wrong-password-1")
        asyncio.run(load_ws.user_session(url, "load-viewer", 1, times, errors))
        assert times == [] and len(errors) == 1 and "pages offered" in errors[0]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
