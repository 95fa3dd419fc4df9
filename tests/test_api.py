"""core.api on real stores: every area's mutation checks the actor's permission before it
touches anything, reads return entities and write nothing, and the Train page's per-series
accuracy is 1 - WAPE of the serving model on the backtest rows (core.metrics)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from core import metrics, training
from core.access import Actor
from core.api import Shelfcast
from core.data import Counts, Upload
from core.errors import PermissionDenied
from core.forecasts import SeriesView, VersionInfo
from tests.test_access_matrix import snapshot
from tests.train_helpers import make_store

LINK = Actor("share link 9", "viewer", via_link=True)
SCI = Actor("sam", "scientist")


def _mutations(api: Shelfcast) -> list[tuple[str, object]]:
    out = []
    for area in ("data", "versions", "training", "users", "sharing"):
        obj = getattr(api, area)
        for name, fn in inspect.getmembers(obj, inspect.ismethod):
            if not name.startswith("_") and "actor" in inspect.signature(fn).parameters:
                out.append((f"{area}.{name}", fn))
    return out


def test_every_api_mutation_refuses_a_share_link_and_changes_nothing(tmp_path):
    db = make_store(tmp_path, n_skus=2, days=60)
    api = Shelfcast(db)
    found = _mutations(api)
    assert {"data.ingest", "versions.promote", "training.start", "users.add", "sharing.create"} <= {
        n for n, _ in found}
    before = snapshot(db)
    for name, fn in found:
        args = {p: None for p in inspect.signature(fn).parameters if p != "actor"}
        with pytest.raises(PermissionDenied):
            fn(actor=LINK, **args)
        assert snapshot(db) == before, name


@pytest.mark.slow
def test_reads_return_entities_and_write_nothing(tmp_path):
    db = make_store(tmp_path, n_skus=3, days=120)
    vid = training.train(SCI, "naive", horizon=7, folds=2, db=db)
    api = Shelfcast(db)
    before = snapshot(db)
    c = api.data.counts
    assert isinstance(c, Counts) and c.series == 3 and c.rows == 360
    ups = api.data.uploads()
    assert len(ups) == 1 and isinstance(ups[0], Upload) and len(ups[0].sha256) == 64
    assert list(api.data.series_summary().columns) == [
        "sku", "store", "first_date", "last_date", "periods", "total_units", "mean_units", "zero_share"]
    (v,) = api.versions.ready()
    assert isinstance(v, VersionInfo) and v.id == vid and isinstance(v.metrics, dict)
    table = api.versions.series_table(v)
    assert len(table) == 3 and table["accuracy"].is_monotonic_increasing
    sid = int(api.versions.series_index(vid)["series_id"].iloc[0])
    view = api.versions.series_view(vid, sid)
    assert isinstance(view, SeriesView) and len(view.forecast) == 7 and view.model == "naive"
    assert len(api.versions.forecast_frame(vid)) == 21
    assert snapshot(db) == before

    # One definition of accuracy: 1 - WAPE of the serving model over every backtest row.
    idx = api.versions.series_index(vid).set_index("series_id")
    for series_id, r in idx.iterrows():
        bt = api.versions.series_view(vid, int(series_id)).backtests
        bt = bt[bt["model"] == r["model"]]
        want = 1 - metrics.compute(bt["y"].to_numpy(), bt["yhat"].to_numpy())["wape"]
        got = table.set_index(["sku", "store"]).loc[(r["sku"], r["store"]), "accuracy"]
        assert np.isclose(got, want, rtol=0, atol=1e-9)


def test_training_limits_come_from_core(tmp_path):
    t = Shelfcast(tmp_path / "s.duckdb").training
    assert t.max_horizon("W-MON") == training.MAX_HORIZON["W"]
    assert t.defaults("sklearn")["estimator"] == "hgb" and "seed" in t.defaults("naive")


def test_published_summary_matches_the_published_rows(tmp_path):
    """What Compare says about the published forecasts, without reading them out."""
    from core import registry

    db = make_store(tmp_path, n_skus=3, days=90)
    api = Shelfcast(db)
    assert api.versions.published() is None
    vid = training.train(SCI, "naive", horizon=7, folds=1, db=db)
    registry.promote(Actor("ada", "admin"), vid, "test", db=db)
    before = snapshot(db)
    p = api.versions.published()
    pub = api.versions.active_forecasts()
    assert (p.version, p.rows, p.series) == (vid, len(pub), pub[["sku", "store"]].drop_duplicates().shape[0])
    assert (p.first, p.last) == (pub["date"].min(), pub["date"].max())
    assert snapshot(db) == before
