"""Browser journey for monitoring (headless Chromium): a manager opens Monitor on a store whose
active forecast meets shifted demand, drills into an alert and acknowledges it; an executive opens
the Overview through a share link. Saves docs/screenshots/monitor.png and overview.png."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from core import monitoring, registry, sharing, training
from core.access import Actor
from core.demo import DemoSpec, generate, split_recent
from tests.auth import PASSWORD, make_user
from tests.browser import browser_page, goto, needs_chromium, running_server, settle, shot, sign_in
from tests.monitor_helpers import ingest_frame

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]

SPEC = DemoSpec(n_skus=20, n_stores=3, days=480, seed=7)


def test_monitor_and_overview_in_a_browser(db):
    sam = make_user("sam", "scientist")
    make_user("maya", "manager")
    hist, recent = split_recent(generate(SPEC), SPEC.shift_days)
    ingest_frame(db, hist, sam, "history.parquet")
    vid = training.train(sam, "sklearn", horizon=SPEC.shift_days, folds=2, db=db)
    registry.promote(sam, vid, "first version", db=db)
    ingest_frame(db, recent, sam, "recent.parquet")
    target = next(a for a in monitoring.alerts(db, ["open"])
                  if a["kind"] == "accuracy" and a["sku"] == SPEC.shifted_skus[0])

    with running_server(db) as url, browser_page() as page:
        sign_in(page, url, "maya", PASSWORD)
        goto(page, "Monitor")
        page.get_by_text("Accuracy over time").wait_for()
        page.get_by_text("Accuracy by SKU and week").wait_for()
        settle(page, 2500)
        shot(page, "monitor")

        page.get_by_role("tab", name="Alerts").click()
        settle(page)
        page.get_by_text("Note (what is being done)").wait_for()
        page.get_by_label("Note (what is being done)").fill("order cut by 40%, watching")
        page.get_by_role("button", name="Acknowledge").click()
        page.get_by_text("Acknowledged by maya").first.wait_for()
        acked = monitoring.alerts(db, ["acknowledged"])
        assert len(acked) == 1 and acked[0]["acknowledged_by"] == "maya"

        link = sharing.create(Actor("sam", "scientist"), "board pack", "7d", db)
        q = urlparse(link.url).query
        page.goto(f"{url}/?{q}")
        page.get_by_text("Forecast accuracy, last 4 weeks").wait_for()
        page.get_by_text("Top issues").wait_for()
        settle(page, 2500)
        shot(page, "overview")
        assert page.get_by_role("button").count() == 0 or page.get_by_role("button", name="Acknowledge").count() == 0
        assert page.get_by_text(target["sku"]).count() >= 1
