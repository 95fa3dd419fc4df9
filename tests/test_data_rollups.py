"""The per-series sales rollup (core.store.summaries) the Data page reads at 100,000 series: it
must equal the raw rows after every write path that changes sales (ingest, an append, a
re-ingest that replaces rows, a deletion), fall back to the raw rows while it is behind, and be
built on open for a store made before it existed."""

from __future__ import annotations

import pandas as pd
import pytest

from core import data, ingest, rollups, sales_edit
from core.access import SYSTEM, Actor
from core.demo import DemoSpec, generate
from core.store import db as store_db
from core.store import sales, session
from core.store import summaries as sum_store
from core.store.db import raw

MANAGER = Actor("mia", "manager")


def _frame() -> pd.DataFrame:
    return generate(DemoSpec(n_skus=3, n_stores=2, days=40))


def _ingest(df: pd.DataFrame, path) -> None:
    df.to_csv(path, index=False)
    ingest.ingest(path, SYSTEM)


def _raw_truth(db) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    with session(db) as s:
        return sales.counts(s), sales.series_summary(s), sales.history(s, "SNK-002", None)


def assert_matches_raw(db) -> None:
    counts, summary, hist = _raw_truth(db)
    assert data.counts(db).__dict__ == {k: (int(v) if k in ("rows", "series", "skus", "stores") else v)
                                        for k, v in counts.items()}
    pd.testing.assert_frame_equal(data.series_summary(db), summary, check_dtype=False)
    got = data.history("SNK-002", None, db)
    pd.testing.assert_frame_equal(got.reset_index(drop=True),
                                  hist.assign(ds=pd.to_datetime(hist["ds"])), check_dtype=False)


def _current(db) -> bool:
    with session(db) as s:
        return sum_store.series_stats_current(s)


def test_rollup_matches_raw_after_ingest_append_reingest_and_deletion(db, tmp_path):
    df = _frame()
    days = sorted(df["date"].unique())
    d = [str(pd.Timestamp(x).date()) for x in days]
    _ingest(df[df["date"] <= days[29]], tmp_path / "a.csv")
    assert _current(db)  # the hook ran
    assert_matches_raw(db)

    _ingest(df[df["date"] > days[29]], tmp_path / "b.csv")  # ten new days: an append
    assert _current(db)
    assert_matches_raw(db)

    changed = df[df["date"] >= days[35]].assign(units=lambda d: d["units"] + 7)  # replaces rows
    _ingest(changed, tmp_path / "c.csv")
    assert_matches_raw(db)

    sales_edit.delete_sales(MANAGER, d[0], d[4], note="bad week", sku="SNK-002")
    assert _current(db)
    assert_matches_raw(db)
    # a series with every row deleted leaves the table, as it leaves the raw rows
    store = df["store"].iloc[0]
    sales_edit.delete_sales(MANAGER, None, d[-1], note="closed", sku="BEV-001", store=store)
    assert_matches_raw(db)
    summary = data.series_summary(db)
    assert not ((summary["sku"] == "BEV-001") & (summary["store"] == store)).any()


def test_append_path_adds_only_the_new_rows_and_reads_fall_back_while_behind(db, tmp_path, monkeypatch):
    df = _frame()
    days = sorted(df["date"].unique())
    _ingest(df[df["date"] <= days[19]], tmp_path / "a.csv")
    monkeypatch.setattr(ingest, "AFTER_INGEST", [])  # a write whose refresh did not run (crash, CLI)
    _ingest(df[(df["date"] > days[19]) & (df["date"] <= days[29])], tmp_path / "b.csv")
    _ingest(df[df["date"] > days[29]], tmp_path / "c.csv")
    assert not _current(db)
    assert_matches_raw(db)  # behind by appends: the rollup plus the new datasets' rows, still right
    assert rollups.refresh(db) == "append"  # two appends since the mark: only their rows read
    assert _current(db)
    assert_matches_raw(db)
    assert rollups.refresh(db) == "current"

    _ingest(df[df["date"] >= days[30]].assign(units=1), tmp_path / "d.csv")  # replaces rows
    assert_matches_raw(db)  # behind by a replacement: the raw rows
    assert rollups.refresh(db) == "rebuild"
    assert_matches_raw(db)


def test_rollup_is_built_on_open_for_an_older_store(db, tmp_path):
    _ingest(_frame(), tmp_path / "a.csv")
    with session(db, write=True) as s:  # a store from before the rollup: no rows, no mark
        raw(s).execute("DELETE FROM series_stats")
        raw(s).execute("DELETE FROM rollup_marks")
        raw(s).execute("UPDATE settings SET value = 'older code' WHERE key = 'schema_code'")
    store_db.forget(db)
    with session(db) as s:  # opening it migrates
        assert raw(s).execute("SELECT count(*) FROM series_stats").fetchone()[0] == 6
        assert sum_store.series_stats_current(s)
    assert_matches_raw(db)


@pytest.mark.parametrize("sku,store", [("NOPE", None), ("SNK-002", "Nowhere")])
def test_history_of_an_unknown_sku_or_store_is_empty(db, tmp_path, sku, store):
    _ingest(_frame(), tmp_path / "a.csv")
    h = data.history(sku, store, db)
    assert list(h.columns) == ["ds", "y"] and h.empty


def test_an_upload_of_new_series_brings_their_rollup_in_its_own_merge(db, tmp_path, monkeypatch):
    """A first load (every series new) writes series_stats from the file's per-series figures in
    the merge itself, so no refresh has to read the new sales rows again; the figures are the
    raw rows'. An upload to known series still leaves it to the refresh."""
    monkeypatch.setattr(ingest, "AFTER_INGEST", [])  # no refresh runs
    df = _frame()
    skus = sorted(df["sku"].unique())
    days = sorted(df["date"].unique())
    _ingest(df[df["sku"] != skus[-1]], tmp_path / "a.csv")
    assert _current(db)
    assert_matches_raw(db)
    _ingest(df[(df["sku"] == skus[-1]) & (df["date"] <= days[29])], tmp_path / "b.csv")  # new series only
    assert _current(db)
    assert_matches_raw(db)
    _ingest(df[(df["sku"] == skus[-1]) & (df["date"] > days[29])], tmp_path / "c.csv")  # known series
    assert not _current(db)
    assert_matches_raw(db)
