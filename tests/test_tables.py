"""Per-series tables above app.tables.SHOWN rows: the Data and Train pages send the first rows
of their order and a search box, not the whole fleet (100,000 rows were 7-10 MB per view)."""

from __future__ import annotations

import pytest

from app import tables
from core import training
from core.access import Actor
from tests.helpers import open_page
from tests.train_helpers import make_store

SCI = Actor("sam", "scientist")


@pytest.fixture
def six_series(db, tmp_path, monkeypatch):
    """3 SKUs x 2 stores, with a naive version; pages list at most 4 rows of a table."""
    make_store(tmp_path, n_skus=3, n_stores=2, days=120)
    monkeypatch.setattr(tables, "SHOWN", 4)
    return db


def test_data_series_table_is_capped_and_searchable(six_series):
    at = open_page("data", SCI)
    assert not at.exception
    series = at.dataframe[0].value  # the Series table (no upload preview on a fresh page)
    assert list(series.columns[:2]) == ["sku", "store"] and len(series) == 4
    assert any("Showing the first 4 of 6 series" in c.value for c in at.caption)
    store = series["store"].iloc[-1]
    at.text_input(key="series-find").set_value(store.upper()).run()  # case-insensitive, plain text
    series = at.dataframe[0].value
    assert not at.exception and len(series) == 3 and set(series["store"]) == {store}
    assert any("3 of 6 series match" in c.value for c in at.caption)
    at.text_input(key="series-find").set_value("(").run()  # not a pattern: no error, no match
    assert not at.exception and at.dataframe[0].value.empty


def test_small_table_has_no_search(db, tmp_path):
    make_store(tmp_path, n_skus=2, n_stores=1, days=60)
    at = open_page("data", SCI)
    assert not at.exception
    assert len(at.dataframe[0].value) == 2
    assert not [t for t in at.text_input if t.key == "series-find"]


def test_train_per_series_table_shows_the_worst_first(six_series):
    training.train(SCI, "naive", horizon=7, folds=1, db=six_series)
    at = open_page("train", SCI)
    assert not at.exception
    per_series = next(d.value for d in at.dataframe if "error_units" in d.value.columns)
    assert len(per_series) == 4
    assert per_series["error_units"].is_monotonic_decreasing
    full = training_table(six_series)
    assert per_series["error_units"].tolist() == full["error_units"].head(4).tolist()  # the 4 worst of 6
    assert any("Showing the first 4 of 6 series (largest error first)" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 1  # the one-series chart still follows


def training_table(db):
    """The whole per-series table as the page ranks it (error units, largest first)."""
    from core.api import Shelfcast

    api = Shelfcast(db)
    v = api.versions.ready()[0]
    t = api.versions.series_table(v)
    t = t.assign(error_units=((1 - t["accuracy"]) * t["units"]).round())
    return t.sort_values("error_units", ascending=False, na_position="last", ignore_index=True)
