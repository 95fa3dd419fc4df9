"""Browser journey (headless Chromium): a manager clicks a row of Monitor's worklist and sees that
SKU's chart open below it, then assigns the row to someone."""

from __future__ import annotations

import pytest

from core import monitoring, worklist
from core.access import Actor
from core.demo import DemoSpec, generate, split_recent
from tests.auth import PASSWORD, make_user
from tests.browser import browser_page, goto, needs_chromium, running_server, settle, shot, sign_in
from tests.monitor_helpers import ingest_frame, make_active_version

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]

SPEC = DemoSpec(n_skus=8, n_stores=2, days=420, seed=7)
ROW_PX = 35  # st.dataframe's header and row height


def test_clicking_a_worklist_row_opens_that_skus_chart(db):
    sam = make_user("sam", "scientist")
    make_user("maya", "manager")
    hist, recent = split_recent(generate(SPEC), SPEC.shift_days)
    make_active_version(db, hist, SPEC.shift_days, Actor("sam", "scientist"), plan=recent)
    ingest_frame(db, recent, sam)
    live = monitoring.alerts(db, ["open", "acknowledged"])
    grain, window = monitoring.default_grain("D")
    shown, _ = worklist.rows(live, monitoring.Monitoring(db).accuracy(window, grain, "sku"), db=db)
    second = shown.iloc[1]  # not the first, so the Accuracy tab's default SKU cannot pass for it

    with running_server(db) as url, browser_page() as page:
        sign_in(page, url, "maya", PASSWORD)
        goto(page, "Monitor")
        page.get_by_text("Accuracy over time").wait_for()
        page.get_by_role("tab", name="Alerts").click()
        page.get_by_text("Select a row to open its SKU's chart").wait_for()
        settle(page)
        grid = page.locator('[data-testid="stDataFrame"]:visible').first
        grid.scroll_into_view_if_needed()
        box = grid.locator("canvas").first.bounding_box()  # the grid itself, below its toolbar
        page.mouse.click(box["x"] + 17, box["y"] + ROW_PX * 2.5)  # the selection box of row 2
        title = f"{second['sku']} — {second['store']}"
        page.locator(".js-plotly-plot .gtitle:visible", has_text=title).first.wait_for(timeout=20_000)
        settle(page, 1500)
        shot(page, "monitor_worklist")

        page.get_by_label("Assignee").fill("ana")
        page.get_by_role("button", name="Assign").click()
        for _ in range(40):  # the server writes after the click's round trip
            page.wait_for_timeout(250)
            got = worklist.states(db)
            if len(got):
                break
        assert got.set_index("sku").loc[second["sku"], "assignee"] == "ana"
