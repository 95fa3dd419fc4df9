"""Issue 10 item 6 in Chromium: the dataframe toolbar offers no CSV download (a viewer once got a
live =HYPERLINK cell out of the Series table, past the download permission and the formula
prefix); tables still have their toolbar, and downloads stay with the formula-safe buttons of
roles that may download."""

from __future__ import annotations

import pytest

from core.access import SYSTEM
from core.demo import DemoSpec, generate
from core.ingest import ingest
from tests.auth import PASSWORD, make_user
from tests.browser import browser_page, goto, needs_chromium, running_server, settle, sign_in

pytestmark = [pytest.mark.browser, needs_chromium]


def test_viewer_gets_no_toolbar_download(db, tmp_path):
    df = generate(DemoSpec(n_skus=2, n_stores=1, days=20))
    df.loc[df["sku"] == df["sku"].iloc[0], "sku"] = '=HYPERLINK("http://evil.example","x")'
    f = tmp_path / "s.csv"
    df.to_csv(f, index=False)
    ingest(f, SYSTEM, db=db)
    make_user("vic", "viewer")
    with running_server(db) as url, browser_page() as page:
        sign_in(page, url, "vic", PASSWORD)
        goto(page, "Data")
        table = page.locator('[data-testid="stDataFrame"]').first
        table.wait_for()
        settle(page)
        table.hover()
        toolbar = page.locator('[data-testid="stElementToolbar"]').first
        toolbar.wait_for()
        labels = [b.get_attribute("aria-label") or b.inner_text()
                  for b in toolbar.locator("button").all()]
        assert any("Search" in (x or "") for x in labels), labels  # the toolbar is there
        assert not [x for x in labels if "Download" in (x or "")], labels
        assert page.get_by_role("button", name="Download CSV").count() == 0  # no download permission


def test_hostile_names_are_text_in_the_dom(db, tmp_path):
    """Issue 10 item 4 on the Data page in Chromium: a file name written as a Markdown link (in
    the success message) and a SKU written as an HTML link (in the chart title) leave no anchor
    or image pointing at their URL."""
    df = generate(DemoSpec(n_skus=2, n_stores=1, days=20))
    df.loc[df["sku"] == df["sku"].iloc[0], "sku"] = '<a href="http://evil.example/a">A</a>'  # sorts first
    name = "[Reset your password](http://evil.example/login) ![p](http://evil.example/x.png).csv"
    make_user("maya", "manager")
    with running_server(db) as url, browser_page() as page:
        sign_in(page, url, "maya", PASSWORD)
        goto(page, "Data")
        page.locator('input[type="file"]').set_input_files(
            {"name": name, "mimeType": "text/csv", "buffer": df.to_csv(index=False).encode()})
        page.get_by_role("button", name="Load into store").wait_for()
        settle(page)
        page.get_by_role("button", name="Load into store").click()
        done = page.locator('[data-testid="stAlert"]').filter(has_text="rows added")
        done.wait_for()
        assert "[Reset your password](http" in done.inner_text()  # the name, as typed
        page.locator(".js-plotly-plot").first.wait_for()
        settle(page)
        assert page.get_by_text('<a href="http://evil.example/a">A</a>', exact=False).count() >= 1
        anchors = page.locator('a[href*="evil.example"]')
        assert anchors.count() == 0, [a.evaluate("e => e.parentElement.outerHTML.slice(0, 400)")
                                      for a in anchors.all()]
        assert page.locator('img[src*="evil.example"], image[href*="evil.example"]').count() == 0
