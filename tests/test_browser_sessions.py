"""Sessions in a real headless Chromium: a reload keeps the user signed in (cookie token), sign-out
ends it for good, and an alert's deep link opened signed out lands on that alert after sign-in."""

from __future__ import annotations

import pytest

from core import monitoring, registry, training
from core.demo import DemoSpec, generate, split_recent
from tests.auth import PASSWORD, make_user
from tests.browser import browser_page, needs_chromium, running_server, settle, sign_in
from tests.monitor_helpers import ingest_frame

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]

SPEC = DemoSpec(n_skus=8, n_stores=2, days=400, seed=7)


def test_reload_keeps_sign_in_and_deep_link_survives_it(db):
    sam = make_user("sam", "scientist")
    make_user("maya", "manager")
    hist, recent = split_recent(generate(SPEC), SPEC.shift_days)
    ingest_frame(db, hist, sam, "history.parquet")
    vid = training.train(sam, "sklearn", horizon=SPEC.shift_days, folds=2, db=db)
    registry.promote(sam, vid, "first version", db=db)
    ingest_frame(db, recent, sam, "recent.parquet")
    alerts = monitoring.alerts(db, ["open"])
    assert alerts, "the shifted demo must raise alerts"
    target = alerts[-1]

    with running_server(db) as url, browser_page() as page:
        sign_in(page, url, "maya", PASSWORD)
        settle(page)
        cookie = [c for c in page.context.cookies() if c["name"] == "shelfcast_session"]
        assert cookie and cookie[0]["sameSite"] == "Strict"
        page.reload()
        page.get_by_text("Signed in as maya (manager)").wait_for()

        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("heading", name="Sign in to Shelfcast").wait_for()
        settle(page)
        page.reload()  # the revoked token does not sign the tab back in
        page.get_by_role("heading", name="Sign in to Shelfcast").wait_for()
        settle(page)
        assert page.get_by_text("Signed in as").count() == 0

        page.goto(f"{url}/monitor?alert={target['id']}")
        page.get_by_role("heading", name="Sign in to Shelfcast").wait_for()
        settle(page)
        assert page.get_by_text("Page not found").count() == 0
        page.get_by_role("textbox", name="User name").fill("maya")
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Signed in as maya").wait_for()
        settle(page, 1500)
        assert "/monitor" in page.url and f"alert={target['id']}" in page.url
        page.get_by_role("heading", name="Monitor").first.wait_for()
        boxes = page.locator('[data-testid="stSelectbox"]')
        chosen = boxes.locator("input").evaluate_all("els => els.map(e => e.value)")
        assert target["sku"] in chosen, chosen  # the drill-down opened on the alert's SKU
