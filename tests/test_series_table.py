"""The Train page's per-series table, now one SQL query, against the pandas pivot it replaced
(kept here as the reference): same rows, columns and numbers, with and without the version's
rollups, for a best-of version and a single-model one."""

from __future__ import annotations

import pandas as pd
import pytest

from core import forecasts, training
from core.access import Actor
from core.store import session
from core.store.db import raw
from tests.train_helpers import make_store

SCI = Actor("sam", "scientist")


def reference(db, version_id: int, kind: str) -> pd.DataFrame:
    """The pandas implementation before this change, over the raw series_metrics rows."""
    with session(db) as s:
        ms = raw(s).execute(
            """SELECT se.sku, se.store, m.series_id, m.model, m.wape, m.mase, m.bias, m.coverage, m.abs_y
               FROM series_metrics m JOIN series se USING (series_id)
               WHERE m.version_id = ? AND m.fold IS NULL ORDER BY se.sku, se.store, m.model""",
            [version_id]).df()
        chosen = forecasts._serving(s, version_id).set_index("series_id")["model"]
    wide = ms.pivot_table(index=["series_id", "sku", "store"], columns="model", values="wape")
    serving = ms["series_id"].map(chosen) if kind == "best" else pd.Series(kind, index=ms.index)
    mine = ms[ms["model"] == serving].set_index("series_id")
    table = wide.add_prefix("WAPE ").reset_index().merge(
        mine[["wape", "mase", "bias", "coverage", "abs_y"]].rename(columns={"abs_y": "units"}),
        left_on="series_id", right_index=True, how="left")
    table.insert(3, "model", table["series_id"].map(chosen))
    table.insert(4, "accuracy", 1 - table.pop("wape"))
    return table.drop(columns=["series_id"]).sort_values(["accuracy", "sku", "store"]).reset_index(drop=True)


def same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False, check_exact=False,
                                  rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """4 SKUs x 2 stores; one SKU sells nothing in the backtest window (no WAPE: left out)."""
    d = tmp_path_factory.mktemp("series_table")
    db = make_store(d, n_skus=4, n_stores=2, days=150)
    with session(db, write=True) as s:
        raw(s).execute("""UPDATE sales SET y = 0 WHERE ds > (SELECT max(ds) - 30 FROM sales)
                          AND series_id IN (SELECT series_id FROM series ORDER BY sku, store LIMIT 2)""")
    best = training.train(SCI, "best", horizon=7, folds=2,
                          options={"models": "naive,sklearn", "max_iter": 10, "estimator": "ridge"}, db=db)
    naive = training.train(SCI, "naive", horizon=7, folds=2, db=db)
    return db, best, naive


@pytest.mark.parametrize("which", ["best", "naive"])
def test_matches_the_pandas_pivot_with_and_without_rollups(store, which, tmp_path):
    import shutil

    db0, best, naive = store
    db = tmp_path / "store.duckdb"
    shutil.copy(db0, db)
    vid, kind = (best, "best") if which == "best" else (naive, "naive")
    got = forecasts.series_table(vid, kind, db)
    want = reference(db, vid, kind)
    assert 0 < len(want) < 8  # the silent SKU's series are not in it
    if which == "best":
        assert {"WAPE naive", "WAPE sklearn"} <= set(want.columns)
    same(got, want)
    with session(db, write=True) as s:  # a version whose rollups are not built reads the raw rows
        raw(s).execute("DELETE FROM version_rollups WHERE version_id = ?", [vid])
    same(forecasts.series_table(vid, kind, db), reference(db, vid, kind))
