"""Browser journey for issue 14's crash: the store holds price/promo/temperature, then a
scientist uploads an ordinary units-only file on the Data page; Monitor's charts, Alerts and Rules
must all render (the drift code once raised on the missing regressor values and the page showed a
traceback)."""

from __future__ import annotations

import pytest

from core import registry, training
from core.demo import DemoSpec, generate, split_recent
from tests.auth import PASSWORD, make_user
from tests.browser import browser_page, goto, needs_chromium, running_server, settle, sign_in
from tests.monitor_helpers import ingest_frame

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]

SPEC = DemoSpec(n_skus=6, n_stores=2, days=400, seed=3)


def test_units_only_upload_after_regressors_keeps_monitor_working(db, tmp_path):
    sam = make_user("sam", "scientist")
    hist, recent = split_recent(generate(SPEC), SPEC.shift_days)
    assert {"price", "promo", "temperature"} <= set(hist.columns)
    ingest_frame(db, hist, sam, "history.parquet")
    vid = training.train(sam, "naive", horizon=SPEC.shift_days, folds=2, db=db)
    registry.promote(sam, vid, "first version", db=db)
    csv = tmp_path / "units_only.csv"
    recent[["date", "sku", "store", "units"]].to_csv(csv, index=False)

    with running_server(db) as url, browser_page() as page:
        sign_in(page, url, "sam", PASSWORD)
        goto(page, "Data")
        page.locator('input[type="file"]').set_input_files(str(csv))
        page.get_by_role("button", name="Load into store").wait_for()
        settle(page)
        page.get_by_role("button", name="Load into store").click()
        page.get_by_text("rows added").first.wait_for()
        settle(page, 1500)
        assert page.get_by_text("could not be checked").count() == 0  # the after-ingest evaluation ran

        goto(page, "Monitor")
        page.get_by_text("Accuracy over time").wait_for()
        settle(page, 1500)
        page.get_by_role("tab", name="Alerts").click()
        settle(page)
        page.get_by_role("tab", name="Rules").click()
        page.get_by_text("Alert rules").first.wait_for()
        page.get_by_text("Edit rule").first.wait_for()
        settle(page)
        for bad in ("Traceback", "TypeError", "Something went wrong", "encountered an error"):
            assert page.get_by_text(bad).count() == 0, bad
