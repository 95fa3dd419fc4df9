"""The app server dies mid-training (kill -9) and is started again: the version the browser
started shows as interrupted, never stuck 'running' with a progress bar that never moves.

A corrupt or truncated model artefact is covered by tests/test_training.py
(test_artefacts_are_checked_on_load: appended bytes -> "sha256 mismatch", deleted -> "missing",
both core.artifacts.ArtifactError, a ShelfcastError the pages show with st.error)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from core.access import Actor
from core.store import session, train_jobs
from core.store import versions as vstore
from tests.browser import browser_page, goto, needs_chromium, running_server, settle, sign_in
from tests.helpers import TEST_PASSWORD, ensure_account
from tests.train_helpers import make_store

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]
SCI = Actor("sam", "scientist")


def _running_version(db) -> tuple[int, int, str] | None:
    """(version id, pid of the process training it, progress) once a run has made progress."""
    with session(db) as s:
        for v in vstore.running(s):
            job = train_jobs.get(s, v.id)
            if job is not None and v.progress_done > 0:
                return int(v.id), int(job.pid), f"{v.progress_done}/{v.progress_total}"
    return None


def _status(db, vid: int) -> str:
    with session(db) as s:
        return vstore.get_version(s, vid).status


def test_server_killed_mid_training_shows_interrupted_after_restart(tmp_path, monkeypatch):
    # Prophet per series, 3 folds + the final fit on 24 series (96 fits, ~15 s): long enough to be
    # caught running, provided this process can read the store meanwhile. With 8 series (~5 s) a
    # loaded CI box once first read the store as the run saved, and the kill came too late. The server's keeper (SHELFCAST_STORE_LINGER)
    # holds the file up to 2 s at a time while it is busy, longer than some of this run's gaps.
    monkeypatch.setenv("SHELFCAST_STORE_LINGER", "0")
    db = make_store(tmp_path, n_skus=8, n_stores=3, days=300)
    ensure_account(SCI, db)
    with running_server(db) as url, browser_page() as page:
        sign_in(page, url, "sam", TEST_PASSWORD)
        goto(page, "Train")
        page.locator('[data-testid="stSelectbox"]').filter(has_text="Model").first.click()
        page.get_by_role("option", name="Prophet", exact=True).click()
        settle(page)
        page.get_by_role("button", name="Start training").click()
        page.get_by_text("series-fits").first.wait_for(timeout=120_000)  # the progress bar
        deadline, found = time.monotonic() + 120, None
        while found is None and time.monotonic() < deadline:
            found = _running_version(db)
            time.sleep(0.5)
        assert found is not None, "the job never made progress"
        vid, pid, seen = found
        assert pid != os.getpid()
        os.kill(pid, signal.SIGKILL)  # the streamlit server process that runs the job thread
        page.get_by_text("Connection error", exact=False).first.wait_for(timeout=30_000)
    # nothing could tidy up after kill -9 (progress as first seen, if the run finished first)
    assert _status(db, vid) == "running", f"killed at progress {seen}"

    with running_server(db) as url, browser_page() as page:
        sign_in(page, url, "sam", TEST_PASSWORD)  # the new process's first run tidies up
        assert _status(db, vid) == "interrupted"
        goto(page, "Train")
        page.get_by_text("New training run").wait_for()
        settle(page)
        assert page.get_by_text("series-fits").count() == 0  # no progress bar for a dead job
        assert page.get_by_role("button", name="Cancel").count() == 0
    with session(db) as s:
        v = vstore.get_version(s, vid)
        assert "stopped before it finished" in (v.error or "")
        assert vstore.forecasts(s, vid).empty  # no half-made results
