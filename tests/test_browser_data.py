"""Smoke test in a real headless Chromium: sign in, upload a CSV through the file chooser, see the
summary; then a scheduled `shelfcast ingest` runs while the server is up, and the page shows the
new data on its next rerun."""

from __future__ import annotations

import pytest

from core.demo import DemoSpec, generate
from tests.auth import PASSWORD, make_user
from tests.browser import browser_page, goto, needs_chromium, running_server, settle, shot, sign_in
from tests.helpers import frame_csv, run_cli

pytestmark = [pytest.mark.browser, needs_chromium]


def test_upload_in_browser_then_cli_ingest_while_serving(db, tmp_path):
    make_user("sam", "scientist")
    df = generate(DemoSpec(n_skus=4, n_stores=2, days=90))
    csv = tmp_path / "store_sales.csv"
    df.to_csv(csv, index=False)
    with running_server(db) as url, browser_page() as page:
        sign_in(page, url, "sam", PASSWORD)
        goto(page, "Data")
        page.get_by_text("The store has no sales yet").wait_for()
        page.locator('input[type="file"]').set_input_files(str(csv))
        page.get_by_role("button", name="Load into store").wait_for()
        settle(page)
        page.get_by_role("button", name="Load into store").click()
        page.get_by_text("720 rows added").wait_for()
        settle(page, 1500)
        shot(page, "data")
        assert page.get_by_text("Series (SKU × store)").count() >= 1

        # The daily feed arrives while the app is running.
        feed = frame_csv(tmp_path / "feed.csv", [
            {"date": "2026-11-02", "sku": "BEV-001", "store": "Leeds", "units": 9},
            {"date": "2026-11-02", "sku": "NEW-999", "store": "Leeds", "units": 4},
        ])
        p = run_cli("--user", "sam", "ingest", str(feed), "--json", db=db)
        assert p.returncode == 0, p.stderr
        goto(page, "Overview")  # a rerun of the same session, as a user clicking around
        goto(page, "Data")
        page.get_by_text("2026-11-02", exact=False).first.wait_for()  # the new last date
        shot(page, "data_after_feed")
