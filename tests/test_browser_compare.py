"""Compare page in a real headless Chromium: compare two trained versions, promote, meet the gate,
override it, roll back."""

from __future__ import annotations

import pytest

from core import registry, training
from core.access import Actor
from tests.browser import browser_page, goto, needs_chromium, running_server, settle, sign_in
from tests.helpers import TEST_PASSWORD, ensure_account
from tests.train_helpers import make_store

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]
SCI = Actor("sam", "scientist")


def test_compare_promote_gate_rollback_journey(tmp_path):
    db = make_store(tmp_path, n_skus=8, n_stores=2, days=300)
    ensure_account(SCI, db)
    naive = training.train(SCI, "naive", horizon=28, folds=2, db=db)
    best = training.train(SCI, "best", horizon=28, folds=2, options={"models": "naive,sklearn"}, db=db)
    lb = registry.leaderboard(db).set_index("version")
    better, worse = sorted((naive, best), key=lambda v: lb.loc[v, "wape"])
    with running_server(db) as url, browser_page() as page:
        sign_in(page, url, "sam", TEST_PASSWORD)
        goto(page, "Compare")
        page.get_by_text("Leaderboard").wait_for()
        page.get_by_text("No version is in service yet").wait_for()
        page.get_by_text("One SKU over time").scroll_into_view_if_needed()
        # WAPE scatter + one SKU's chart (Plotly draws once the charts are on screen)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 2")

        # Promote the better one with a note.
        page.get_by_role("tab", name="Promote").click()
        page.locator('[data-testid="stSelectbox"]').filter(has_text="Version to promote").click()
        page.get_by_role("option").filter(has_text=f"v{better} ·").click()
        settle(page)
        page.get_by_label("Note (required: why this version?)").fill("lowest pooled WAPE")
        page.get_by_role("button", name="Promote to active").click()
        page.get_by_text(f"Version {better} is now active").wait_for()
        assert registry.active_version(db) == better

        # The worse one meets the gate: refused without the override, recorded with it.
        settle(page)
        page.get_by_text("Accuracy gate:").wait_for()
        page.get_by_label("Note (required: why this version?)").fill("try the other one")
        page.get_by_role("button", name="Promote to active").click()
        page.get_by_text("Promotion refused").wait_for()
        assert registry.active_version(db) == better
        page.get_by_text("Override the accuracy gate").click()
        settle(page)
        page.get_by_label("Reason for the override").fill("smoother orders for the DC")
        page.get_by_label("Reason for the override").press("Tab")
        settle(page)
        page.get_by_role("button", name="Promote to active").click()
        page.get_by_text(f"Version {worse} is now active").wait_for()
        assert registry.active_version(db) == worse

        # One step back.
        settle(page)
        page.get_by_role("tab", name="Roll back").click()
        page.get_by_label("Note (required: why roll back?)").fill("over-forecasts the slow movers")
        page.get_by_role("button", name=f"Roll back to v{better}").click()
        page.get_by_text(f"version {better} is active again").wait_for()
        assert registry.active_version(db) == better
        assert list(registry.history(db)["action"]) == ["rollback", "promote", "promote"]
        # The comparison survived the reruns (it is not reset by the promotions).
        assert page.get_by_text(f"v{worse} wins").count() == 1
        page.get_by_text("Compare versions").scroll_into_view_if_needed()
        settle(page, 1500)
        # docs/screenshots/compare.png (in the README) is a richer store (four model kinds);
        # this run's picture stays with the test's files for whoever debugs it.
        page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
