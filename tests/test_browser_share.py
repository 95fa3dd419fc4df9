"""An executive's share link in a real headless Chromium: the Overview read-only, no other page,
no sidebar, no mutating control; once revoked, only "This link is not valid". Pictures go to
docs/screenshots/share_overview.png and share_revoked.png."""

from __future__ import annotations

import pytest

from core import registry, seed, sharing, training, users
from core.access import Actor
from core.demo import DemoSpec
from tests.browser import browser_page, needs_chromium, running_server, settle, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]
ADMIN = Actor("alice", "admin")
# Every widget that could change something, by Streamlit's test ids.
MUTATING = ("stButton", "stFormSubmitButton", "stDownloadButton", "stFileUploader",
            "stTextInput", "stTextArea", "stCheckbox", "stForm")


def _train_and_promote(a: Actor, db, say) -> None:
    vid = training.train(a, "naive", horizon=28, folds=1, db=db)
    registry.promote(a, vid, "for the board pack", db=db)


def test_share_link_shows_overview_read_only_then_revoked(tmp_path, monkeypatch):
    db = tmp_path / "store.duckdb"
    users.create_first_admin("alice", "alice-password", db)
    # The demo the way a newcomer gets it, small and quick: history, a trained and promoted
    # version, then the recent actuals that monitoring compares with it.
    monkeypatch.setattr(seed, "AFTER_HISTORY", [_train_and_promote])
    seed.seed_demo(ADMIN, db, DemoSpec(n_skus=4, n_stores=2, days=400), say=lambda _m: None)
    made = sharing.create(ADMIN, "Board pack", "7d", db)
    token = made.url.split("share=")[1]

    with running_server(db) as url, browser_page() as page:
        page.goto(f"{url}/?share={token}")
        page.get_by_role("heading", name="Overview").wait_for()
        page.locator('[data-testid="stMetric"]').first.wait_for()  # the numbers are there
        settle(page)
        for tid in MUTATING:
            assert page.locator(f'[data-testid="{tid}"]').count() == 0, tid
        assert page.locator('[data-testid="stSidebar"]').count() == 0
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
        assert page.get_by_text("Sign out").count() == 0
        assert token not in page.locator('[data-testid="stMain"]').inner_text()
        # The trend is drawn without Plotly (whose 4.7 MB chunk a fresh tab would load first),
        # one Vega-Lite chart with its points, the target line's label and, on hover, the value.
        assert page.locator('[data-testid="stPlotlyChart"]').count() == 0
        chart = page.locator('[data-testid="stVegaLiteChart"]')
        assert chart.count() == 1
        points = chart.locator("svg.marks .mark-symbol.role-mark path")
        assert points.count() >= 2 and "target 88%" in chart.locator("svg.marks").text_content()
        points.last.hover()
        tip = page.locator("#vg-tooltip-element")
        tip.wait_for(state="visible")
        assert "Accuracy" in tip.inner_text() and "%" in tip.inner_text()
        page.mouse.move(0, 0)
        settle(page)
        shot(page, "share_overview")

        # Another page by URL: not routed for a link session; the Overview is all there is.
        page.goto(f"{url}/data?share={token}")
        page.get_by_role("heading", name="Overview").wait_for()
        page.locator('[data-testid="stMetric"]').first.wait_for()
        settle(page)
        assert page.get_by_role("heading", name="Data").count() == 0
        assert page.locator('[data-testid="stFileUploader"]').count() == 0

        sharing.revoke(ADMIN, made.info.id, db)
        page.goto(f"{url}/?share={token}")
        page.get_by_role("heading", name="This link is not valid").wait_for()
        settle(page)
        assert page.get_by_role("heading", name="Overview").count() == 0
        assert page.locator('[data-testid="stMetric"]').count() == 0
        shot(page, "share_revoked")

        page.goto(f"{url}/?share={token[:-2]}xx")  # tampered
        page.get_by_role("heading", name="This link is not valid").wait_for()


def test_hostile_sku_names_show_as_literal_text_on_the_share_link(tmp_path):
    """Issue 10 item 4: a SKU named like a Markdown link or image is text on the executive's
    share-link Overview, and nothing in the DOM links to or loads from its URL."""
    from core.demo import generate, split_recent
    from tests.monitor_helpers import ingest_frame, make_active_version

    hostile = ("[Reset your password](http://evil.example/login)", "![p](http://evil.example/x.png)")
    db = tmp_path / "store.duckdb"
    users.create_first_admin("alice", "alice-password", db)
    spec = DemoSpec(n_skus=16, n_stores=1, days=400, seed=7)
    names = dict(zip(spec.shifted_skus[:2], hostile, strict=True))  # demand shifts: top issues
    hist, recent = split_recent(generate(spec), spec.shift_days)
    make_active_version(db, hist.replace({"sku": names}), spec.shift_days, ADMIN,
                        plan=recent.replace({"sku": names}))
    ingest_frame(db, recent.replace({"sku": names}), ADMIN)
    token = sharing.create(ADMIN, "Board pack", "7d", db).url.split("share=")[1]

    with running_server(db) as url, browser_page() as page:
        page.goto(f"{url}/?share={token}")
        page.get_by_role("heading", name="Top issues").wait_for()
        settle(page)
        main = page.locator('[data-testid="stMain"]')
        shown = main.inner_text()
        for name in hostile:
            assert name in shown, name  # the characters themselves, as typed
        links = page.locator('a[href*="evil.example"]')
        assert links.count() == 0, [links.nth(i).evaluate("e => e.parentElement.outerHTML")
                                    for i in range(links.count())]
        assert page.locator('img[src*="evil.example"]').count() == 0
        assert page.locator('[src*="evil.example"], [href*="evil.example"]').count() == 0
