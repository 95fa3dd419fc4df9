"""Replenishment in a real headless Chromium: a manager reads the proposal, sets an override and
sees the order change, and reads the policy simulation."""

from __future__ import annotations

import pytest

from core import registry
from core.access import Actor
from core.inventory import inputs, overrides, proposals
from tests.browser import browser_page, goto, needs_chromium, running_server, settle, sign_in
from tests.helpers import TEST_PASSWORD, ensure_account
from tests.registry_fixtures import fake_version, load_demo

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]
SCI = Actor("sam", "scientist")
MAYA = Actor("maya", "manager")
KEY = ("BEV-001", "Bristol")


def pick(page, label: str, option: str) -> None:
    box = page.locator('[data-testid="stSelectbox"]').filter(
        has=page.locator('[data-testid="stWidgetLabel"]').get_by_text(label, exact=True))
    box.click()
    page.keyboard.type(option)  # the selectbox filters its options as one types
    page.get_by_role("option", name=option, exact=True).wait_for()
    page.keyboard.press("Enter")
    settle(page)


def order_of(db) -> float:
    return float(proposals.proposals(MAYA, db).set_index(["sku", "store"]).loc[KEY, "order_qty"])


def test_manager_proposal_override_simulation_journey(tmp_path):
    db = tmp_path / "store.duckdb"
    load_demo(db, tmp_path, SCI, n_skus=4, n_stores=2, days=60)
    registry.promote(SCI, fake_version(db, 0.1), "go live", db=db)
    (tmp_path / "policy.csv").write_text("sku,lead_time,pack_size,unit_cost,price\nBEV-001,2,6,1.5,3\n")
    inputs.ingest_inventory(db, MAYA, tmp_path / "policy.csv", "policy")
    ensure_account(MAYA, db)
    stock = tmp_path / "stock.csv"
    stock.write_text("date,sku,store,on_hand\n" + "".join(
        f"2026-11-01,{sku},{store},{n}\n" for (sku, store), n in
        {("BEV-001", "Bristol"): 0, ("BEV-001", "Leeds"): 400, ("SNK-002", "Leeds"): 2}.items()))
    with running_server(db) as url, browser_page() as page:
        sign_in(page, url, MAYA.name, TEST_PASSWORD)
        goto(page, "Replenishment")
        page.get_by_text("Proposed orders").wait_for()
        page.get_by_text("No stock snapshot is on file yet").wait_for()

        # The stock file goes in through the page's upload form, with its column mapping.
        page.get_by_role("tab", name="Upload stock & policy").click()
        page.locator('[data-testid="stFileUploader"] input[type=file]').set_input_files(str(stock))
        settle(page)
        page.get_by_role("button", name="Load file").click()
        page.get_by_text("3 stock rows loaded").wait_for()
        settle(page)

        before = order_of(db)
        assert before > 0
        page.locator('[data-testid="stMetric"]').filter(has_text="Orders due now").wait_for()
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 1")
        pick(page, "SKU × store", "BEV-001 · Bristol")
        page.get_by_text(f"order {before:g} (").wait_for()

        # A promotion: +200% on BEV-001 at Bristol over the first week of the forecast.
        page.get_by_role("tab", name="Overrides").click()
        pick(page, "SKU", "BEV-001")
        pick(page, "Store", "Bristol")
        page.get_by_text("± % of the forecast").click()
        settle(page)
        page.get_by_label("Change in %").fill("200")
        page.get_by_label("Change in %").press("Enter")
        settle(page)
        page.get_by_label("Note (what the planner knows)").fill("end cap, local derby")
        page.get_by_label("Note (what the planner knows)").press("Enter")
        settle(page)
        page.get_by_role("button", name="Save override").click()
        page.get_by_text("Override 1 saved for BEV").wait_for()
        settle(page)
        ov = overrides.list_overrides(db)
        assert list(ov["store"]) == ["Bristol"] and list(ov["value"]) == [200.0]
        after = order_of(db)
        assert after > before
        pick(page, "SKU × store", "BEV-001 · Bristol")
        page.get_by_text(f"order {after:g} (").wait_for()

        # What the forecast is worth on the shelf: the simulation table and its headline.
        page.get_by_role("tab", name="Policy simulation").click()
        page.get_by_text("overstock by").wait_for()
        # the table's rows (the grid keeps an accessible copy of its cells in the page)
        sim = page.locator('[data-testid="stDataFrame"]').filter(has_text="seasonal naive")
        sim.wait_for()
        assert sim.count() == 1
        settle(page, 1000)
        page.screenshot(path=str(tmp_path / "replenishment.png"), full_page=True)
