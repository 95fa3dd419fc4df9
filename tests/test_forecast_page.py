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
    assert len(at.get("plotly_chart")) == 1  # the selection's units per week
    assert at.metric[0].value == f"{int(table['Forecast'].sum()):,}"
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


def test_filters_limit_and_totals_run_in_the_store_with_overrides(db, published):
    """The page's reads (filters pushed into the store, the first rows only, the selection's
    totals) give exactly the rows and sums of the whole view filtered afterwards; an override in
    force moves the week's forecast and band as the published forecast (forecast_frame) has it."""
    from core.access import Actor
    from core.inventory import overrides

    full = forecast_view.weekly(db, weeks=8).table
    sku, store = full["sku"].iloc[0], full["store"].iloc[0]
    first = full["week"].min()
    overrides.set_override(Actor("maya", "manager"), sku, first, first + pd.Timedelta(days=20), "pct", 50,
                           "promotion", store=store, db=db)
    overrides.set_override(Actor("maya", "manager"), sku, first, first + pd.Timedelta(days=3), "units", 9,
                           "event", db=db)  # newer, every store of the SKU: wins where both apply
    view = forecast_view.weekly(db, weeks=8, totals=True)
    t = view.table
    fc = forecasts.forecast_frame(published, db)
    fc["date"] = pd.to_datetime(fc["date"])
    fc = fc[(fc["sku"] == sku) & (fc["store"] == store) & (fc["date"] > pd.Timestamp(view.last_actual))]
    assert fc["override_id"].notna().any()
    for _, row in t[(t["sku"] == sku) & (t["store"] == store)].iterrows():
        days = fc[(fc["date"] >= pd.Timestamp(row["week"])) & (fc["date"] < pd.Timestamp(row["week"]) + pd.Timedelta(days=7))]
        assert row["forecast"] == round(max(days["yhat"].sum(), 0))
        if view.has_band:
            assert row["p90"] == round(max(days["p90"].sum(), 0))
    assert not t.equals(full)  # the overrides moved the numbers

    stores = sorted(t["store"].unique())[:1]
    cats = sorted(t["category"].unique())[:1]
    want = t[t["store"].isin(stores) & t["category"].isin(cats)].reset_index(drop=True)
    got = forecast_view.weekly(db, weeks=8, stores=stores, categories=cats, totals=True)
    pd.testing.assert_frame_equal(got.table.reset_index(drop=True), want)
    head = forecast_view.weekly(db, weeks=8, stores=stores, categories=cats, limit=3, totals=True)
    pd.testing.assert_frame_equal(head.table.reset_index(drop=True), want.head(3))
    assert head.overall == got.overall
    assert head.overall["rows"] == len(want) and head.overall["series"] == len(want.groupby(["sku", "store"]))
    assert head.overall["forecast"] == int(want["forecast"].sum())
    assert head.overall["last_year"] == int(want["last_year"].sum())
    by_week = head.by_week.set_index("week")
    assert (by_week["forecast"] == want.groupby("week")["forecast"].sum()).all()
    one = forecast_view.weekly(db, weeks=8, skus=[sku], limit=0, options=True)
    assert one.table.empty and set(one.options["sku"]) == set(t["sku"]) and set(one.options["store"]) == set(t["store"])


def test_view_sees_new_sales_from_another_process(db, published, tmp_path):
    """What the view keeps between reruns (the sales behind 'last year' and 'recent') is keyed by
    the store's state, read on every call: a `shelfcast ingest` in another process shows at once."""
    from tests.helpers import run_cli

    before = forecast_view.weekly(db, weeks=4, totals=True)
    t = before.table
    last = pd.Timestamp(before.last_actual)
    end = last - pd.Timedelta(days=last.weekday())  # the recent weeks: 4 complete weeks before `end`
    days = pd.date_range(end - pd.Timedelta(days=28), end - pd.Timedelta(days=1))
    pairs = t[["sku", "store"]].drop_duplicates()
    big = pd.DataFrame([(d.date(), r.sku, r.store, 1000) for d in days for r in pairs.itertuples()],
                       columns=["date", "sku", "store", "units"])
    big.to_csv(tmp_path / "restate.csv", index=False)
    r = run_cli("ingest", str(tmp_path / "restate.csv"), db=db, env_extra={"SHELFCAST_USER": "sam"})
    assert r.returncode == 0, r.stderr
    after = forecast_view.weekly(db, weeks=4, totals=True).table
    assert (after["recent_avg"] == 7000).all() and not (t["recent_avg"] == 7000).all()
