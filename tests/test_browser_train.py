"""Train page in a real headless Chromium: start a run from the UI, see it finish, read results."""

from __future__ import annotations

import pytest

from core import training
from core.access import Actor
from tests.browser import browser_page, goto, needs_chromium, running_server, settle, shot, sign_in
from tests.helpers import TEST_PASSWORD, ensure_account
from tests.train_helpers import make_store

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]
SCI = Actor("sam", "scientist")


def test_train_page_journey(tmp_path):
    db = make_store(tmp_path, n_skus=4, n_stores=1, days=500)
    ensure_account(SCI, db)
    training.train(SCI, "best", horizon=14, folds=2, db=db)
    with running_server(db) as url, browser_page() as page:
        sign_in(page, url, "sam", TEST_PASSWORD)
        goto(page, "Train")
        page.get_by_text("Results").first.wait_for()
        page.get_by_role("button", name="Start training").click()
        page.get_by_text("Version 2 (best) finished: ready", exact=False).wait_for(timeout=180_000)
        settle(page, 1500)
        shot(page, "train")
        assert page.get_by_text("Accuracy (1 − WAPE)").count() >= 1
        assert page.locator(".js-plotly-plot").count() >= 2
