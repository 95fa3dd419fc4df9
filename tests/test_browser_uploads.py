"""Issue 10 item 1 in Chromium: two managers in two browser contexts load different files at the
same moment; each dataset must record its own file's name, rows and SHA-256 (they once shared one
temp file, so one dataset held the other's rows)."""

from __future__ import annotations

import hashlib

import pytest

from core.api import Shelfcast
from core.demo import DemoSpec, generate
from tests.auth import PASSWORD, make_user
from tests.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    goto,
    needs_chromium,
    running_server,
    settle,
    sign_in,
)

pytestmark = [pytest.mark.browser, needs_chromium]


def test_two_sessions_upload_at_once_each_dataset_is_its_own(db, tmp_path):
    from playwright.sync_api import sync_playwright

    files = {}
    for name, n_skus in (("ann", 2), ("bob", 5)):
        make_user(name, "manager")
        f = tmp_path / f"{name}_sales.csv"
        generate(DemoSpec(n_skus=n_skus, n_stores=1, days=30)).to_csv(f, index=False)
        files[name] = f
    with running_server(db) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            pages = {}
            for name in files:
                page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                page.set_default_timeout(60_000)
                sign_in(page, url, name, PASSWORD)
                goto(page, "Data")
                pages[name] = page
            for name, page in pages.items():
                page.locator('input[type="file"]').set_input_files(str(files[name]))
            for page in pages.values():
                page.get_by_role("button", name="Load into store").wait_for()
                settle(page)
            for page in pages.values():  # both clicks before either load finishes
                page.get_by_role("button", name="Load into store").click()
            for name, page in pages.items():
                page.get_by_text(f"Loaded {name}", exact=False).wait_for()
        finally:
            browser.close()
    by_file = {u.file_name: u for u in Shelfcast(db).data.uploads()}
    assert set(by_file) == {f.name for f in files.values()}
    for name, f in files.items():
        u = by_file[f.name]
        assert u.created_by == name
        assert u.sha256 == hashlib.sha256(f.read_bytes()).hexdigest()
        assert u.rows_added + u.rows_updated == len(f.read_text().splitlines()) - 1
