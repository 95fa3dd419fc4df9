"""The Overview's kept rows (issue 13): the active version's backtest WAPE per SKU and of all SKUs
(monitor_backtest_skus) is built by every write path that changes the active version (promote,
rollback) and stays equal to a computation from the raw backtest rows after each write path that
changes the actuals (new actuals, deleted sales); the Overview shows the same numbers either
way; a store without the rows (an older store) is read by computing them, without a write."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pandas as pd
import pytest

from core import registry, sales_edit, training
from core.monitoring import Monitoring
from core.store import monitoring as ms
from core.store import session
from core.store.db import raw
from tests import test_monitoring
from tests.monitor_helpers import content_hash, ingest_frame

built = test_monitoring.built  # the module-scoped store with an active version and actuals
SCI = test_monitoring.SCI
GRAINS = ("week", "month")


@pytest.fixture
def store(built, db):
    shutil.copy(built[0], db)
    return db


def _kept(db: Path) -> dict:
    """What the store keeps, read from the table itself (never a fallback), and for which
    version; None when the rows are not the active version's."""
    with session(db) as s:
        con = raw(s)
        active = con.execute("SELECT version_id FROM active WHERE scope = 'default'").fetchone()[0]
        if ms._kept_version(s, ms._BT_SKU_KEY) != active:
            return {"version": None}
        out = {"version": active}
        for grain in GRAINS:
            out[grain] = con.execute(
                """SELECT sku, '*' AS store, backtest_wape FROM monitor_backtest_skus
                   WHERE grain = ? AND sku IS NOT NULL ORDER BY sku""", [grain]).df()
            out[grain, "total"] = con.execute(
                "SELECT backtest_wape FROM monitor_backtest_skus WHERE grain = ? AND sku IS NULL",
                [grain]).fetchone()[0]
    return out


def _page(db: Path) -> dict:
    """The Overview's numbers as the page gets them."""
    ov = Monitoring(db).overview(top=10_000)
    return {"info": ov.info, "headline": dataclasses.asdict(ov.headline) if ov.headline else None,
            "trend": ov.trend, "worst": ov.worst}


def _behind(db: Path) -> None:
    """Both backtest rollups marked behind: every read computes from the raw backtest rows."""
    with session(db, write=True) as s:
        raw(s).execute("UPDATE settings SET value = '' WHERE list_contains(?, key)",
                       [[ms._BT_KEY, ms._BT_SKU_KEY]])


def _fresh(db: Path, tmp_path: Path) -> dict:
    """The unfiltered backtest numbers and the Overview computed from raw rows, on a copy."""
    copy = tmp_path / f"fresh-{len(list(tmp_path.glob('fresh-*')))}.duckdb"
    shutil.copy(db, copy)
    _behind(copy)
    out = {"page": _page(copy)}
    with session(copy) as s:
        assert not ms._kept_skus(s, "week", None, None, None)
        for grain in GRAINS:
            out[grain] = ms.backtest_wape(s, grain, "sku")
            out[grain, "total"] = ms.backtest_total(s, grain)
    return out


def _same_page(a: dict, b: dict) -> None:
    """Equal up to the order DuckDB's threads add in (the last bit of a sum)."""
    assert a["info"] == b["info"]
    assert (a["headline"] is None) == (b["headline"] is None)
    for k, v in (a["headline"] or {}).items():
        assert v == (pytest.approx(b["headline"][k], rel=1e-12) if isinstance(v, float) else b["headline"][k]), k
    for k in ("trend", "worst"):
        if a[k] is None or b[k] is None:
            assert a[k] is None and b[k] is None, k
        else:
            pd.testing.assert_frame_equal(a[k], b[k], rtol=1e-12)


def _assert_kept_is_fresh(db: Path, tmp_path: Path) -> dict:
    kept, fresh = _kept(db), _fresh(db, tmp_path)
    assert kept["version"] is not None, "the write path left the kept rows behind"
    for grain in GRAINS:
        assert len(kept[grain]) > 0
        pd.testing.assert_frame_equal(kept[grain], fresh[grain], rtol=1e-12)
        assert kept[grain, "total"] == pytest.approx(fresh[grain, "total"], rel=1e-12)
    _same_page(_page(db), fresh["page"])
    return kept


def test_every_write_path_keeps_them_equal_to_a_fresh_computation(store, built, tmp_path):
    first = _assert_kept_is_fresh(store, tmp_path)  # the promotion that built the store
    page_before = _page(store)
    assert page_before["headline"]["accuracy"] is not None and len(page_before["worst"]) > 0

    # new actuals: the last week sold twice as much (the live numbers move, the backtest not)
    recent = built[1]
    late = recent[recent["date"] >= recent["date"].max() - pd.Timedelta(days=6)]
    ingest_frame(store, late.assign(units=late["units"] * 2), SCI, name="again.parquet")
    kept = _assert_kept_is_fresh(store, tmp_path)
    assert kept["version"] == first["version"]
    assert _page(store)["headline"] != page_before["headline"]

    # deleted sales
    sales_edit.delete_sales(SCI, late["date"].min().date(), None, note="test", db=store)
    _assert_kept_is_fresh(store, tmp_path)

    # promotion of a real seasonal-naive version: other backtest, other numbers
    second = training.train(SCI, "naive", horizon=14, folds=1, db=store)
    registry.promote(SCI, second, "test", override_reason="test", db=store)
    kept = _assert_kept_is_fresh(store, tmp_path)
    assert kept["version"] == second
    assert not kept["week"]["backtest_wape"].equals(first["week"]["backtest_wape"])

    # back to the first by promotion, then a rollback to the second
    registry.promote(SCI, first["version"], "back", override_reason="test", db=store)
    assert _assert_kept_is_fresh(store, tmp_path)["version"] == first["version"]
    registry.rollback(SCI, "undo", db=store)
    assert _assert_kept_is_fresh(store, tmp_path)["version"] == second


def test_a_store_without_them_is_read_by_computing_and_the_next_write_keeps_them(store, tmp_path):
    kept_page = _page(store)
    with session(store, write=True) as s:  # as a store from before the table: empty, no marker
        raw(s).execute("DELETE FROM monitor_backtest_skus")
        raw(s).execute("DELETE FROM settings WHERE key = ?", [ms._BT_SKU_KEY])
    assert _kept(store)["version"] is None
    before = content_hash(store)
    _same_page(_page(store), kept_page)
    assert content_hash(store) == before  # the view wrote nothing
    with session(store, write=True) as s:  # the next write path (evaluate, ingest) builds them
        assert ms.sync_errors(s) == "current"
    _assert_kept_is_fresh(store, tmp_path)


def test_filtered_and_store_level_reads_compute(store):
    """Only the unfiltered SKU-level week/month reads take the kept rows; a filter, the store
    level or the day grain compute as before (their numbers: test_monitoring_rollup)."""
    with session(store) as s:
        sku = raw(s).execute("SELECT min(sku) FROM series").fetchone()[0]
        assert ms._kept_skus(s, "week", None, None, None)
        assert not ms._kept_skus(s, "week", [sku], None, None)
        assert not ms._kept_skus(s, "day", None, None, None)
        one = ms.backtest_wape(s, "week", "sku", skus=[sku])
        every = ms.backtest_wape(s, "week", "sku").set_index("sku")
        assert one["backtest_wape"].iloc[0] == pytest.approx(every.loc[sku, "backtest_wape"], rel=1e-12)
        assert set(ms.backtest_wape(s, "week", "series")["store"]) != {"*"}
