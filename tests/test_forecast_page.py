"""The managers' Forecast page and core.forecast_view on a real trained and promoted version:
weekly buckets of only future dates, rounded units equal to the summed daily forecast, last
year's same week from the actuals, filters, and downloads only for roles that may download."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from core import forecast_view, forecasts, registry, training
from core.demo import DemoSpec, generate
from core.store import sales as sales_store
from core.store import session
from tests.auth import make_user, page, signed_in_app
from tests.monitor_helpers import ingest_frame

SPEC = DemoSpec(n_skus=3, n_stores=2, days=420, seed=3)


@pytest.fixture
def published(db):
    sam = make_user("sam", "scientist")
    ingest_frame(db, generate(SPEC), sam, "history.parquet")
    vid = training.train(sam, "sklearn", horizon=35, folds=2, db=db)
    registry.promote(sam, vid, "first", db=db)
    return vid


def test_weekly_view_sums_future_days_and_adds_last_year(db, published):
    view = forecast_view.weekly(db, weeks=13)
    t = view.table
    assert view.version == published and not t.empty
    last = view.last_actual
    weeks = sorted(t["week"].unique())
    assert all(w.weekday() == 0 for w in weeks)
    # only dates after the last actual: the first bucket is the week holding last+1 day
    first_day = last + pd.Timedelta(days=1)
    assert weeks[0] == (first_day - pd.Timedelta(days=first_day.weekday()))
    fc = forecasts.forecast_frame(published, db)
    fc["date"] = pd.to_datetime(fc["date"])
    row = t.iloc[len(t) // 2]
    days = fc[(fc["sku"] == row["sku"]) & (fc["store"] == row["store"]) & (fc["date"] > pd.Timestamp(last))
              & (fc["date"] >= pd.Timestamp(row["week"]))
              & (fc["date"] < pd.Timestamp(row["week"]) + pd.Timedelta(days=7))]
    assert row["forecast"] == round(max(days["yhat"].sum(), 0))
    with session(db) as s:
        h = sales_store.history(s, row["sku"], row["store"])
    h["ds"] = pd.to_datetime(h["ds"])
    ly0 = pd.Timestamp(row["week"]) - pd.Timedelta(days=364)
    expect = h[(h["ds"] >= ly0) & (h["ds"] < ly0 + pd.Timedelta(days=7))]["y"].sum()
    assert row["last_year"] == round(expect) and expect > 0
    assert t["recent_avg"].notna().all()
    assert len(forecast_view.weekly(db, weeks=4).table["week"].unique()) <= 4


def test_manager_filters_and_downloads_only_future_weeks(db, published):
    at = signed_in_app("manager")
    at.switch_page(page("forecast.py")).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Forecast"
    table = at.dataframe[0].value
    assert {"SKU", "Store", "Week from", "Forecast", "Last year", "Recent"} <= set(table.columns)
    store = sorted(table["Store"].unique())[0]
    at.multiselect(key="fc-stores").set_value([store]).run()
    narrowed = at.dataframe[0].value
    assert set(narrowed["Store"]) == {store} and len(narrowed) < len(table)
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download forecast CSV", "Download forecast Excel"]
    view = forecast_view.weekly(db, weeks=8)
    sel = view.table[view.table["store"] == store].drop(columns=[] if view.has_band else ["p10", "p90"])
    xl = pd.read_excel(io.BytesIO(forecast_view.to_xlsx_bytes(sel)))
    assert (pd.to_datetime(xl["week"]) + pd.Timedelta(days=6) > pd.Timestamp(view.last_actual)).all()
    assert xl["forecast"].dtype.kind == "i"


def test_viewer_sees_the_page_without_downloads(db, published):
    at = signed_in_app("viewer")
    assert "Forecast" in [p["page_name"] for p in at._registered_pages.values()]
    at.switch_page(page("forecast.py")).run()
    assert not at.exception and at.dataframe[0].value is not None
    assert not at.get("download_button")
