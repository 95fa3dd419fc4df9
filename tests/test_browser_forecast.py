"""The manager's journey in headless Chromium: open the Forecast page and download the coming
weeks' forecast as CSV (future weeks only, whole units). Picture: docs/screenshots/forecast.png."""

from __future__ import annotations

import pandas as pd
import pytest

from core import registry, training
from core.demo import DemoSpec, generate
from tests.auth import PASSWORD, make_user
from tests.browser import browser_page, goto, needs_chromium, running_server, settle, shot, sign_in
from tests.monitor_helpers import ingest_frame

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]

SPEC = DemoSpec(n_skus=4, n_stores=2, days=420, seed=5)


def test_manager_downloads_next_weeks_forecast(db, tmp_path):
    sam = make_user("sam", "scientist")
    make_user("maya", "manager")
    frame = generate(SPEC)
    ingest_frame(db, frame, sam, "history.parquet")
    vid = training.train(sam, "sklearn", horizon=35, folds=2, db=db)
    registry.promote(sam, vid, "first", db=db)
    last = pd.to_datetime(frame["date"] if "date" in frame else frame["ds"]).max()

    with running_server(db) as url, browser_page() as page:
        sign_in(page, url, "maya", PASSWORD)
        goto(page, "Forecast")
        page.get_by_role("heading", name="Forecast").first.wait_for()
        page.get_by_role("button", name="Download forecast CSV").wait_for()
        settle(page, 1500)
        shot(page, "forecast")
        with page.expect_download() as dl:
            page.get_by_role("button", name="Download forecast CSV").click()
        path = tmp_path / "fc.csv"
        dl.value.save_as(path)
    got = pd.read_csv(path)
    assert {"sku", "store", "week", "forecast", "last_year", "recent_avg"} <= set(got.columns)
    weeks = pd.to_datetime(got["week"])
    assert (weeks + pd.Timedelta(days=6) > last).all()  # every bucket holds coming days only
    assert weeks.nunique() == 5 and got["forecast"].dtype.kind == "i"  # 35 days from a Monday
