"""The Replenishment page's figure, from a real projection of a real store."""

from __future__ import annotations

import pandas as pd
import pytest

from app.inventory_charts import projection_figure
from core import registry
from core.inventory import inputs, overrides, proposals
from tests.registry_fixtures import fake_version, load_demo


@pytest.fixture
def proj(db, tmp_path, scientist, manager, viewer):
    store = load_demo(db, tmp_path, scientist, n_skus=1, n_stores=1, days=40)["store"].iloc[0]
    registry.promote(scientist, fake_version(db, 0.1), "go", db=db)
    (tmp_path / "stock.csv").write_text(f"sku,store,on_hand\nBEV-001,{store},2\n")
    (tmp_path / "policy.csv").write_text("sku,lead_time,pack_size\nBEV-001,2,6\n")
    inputs.ingest_inventory(db, manager, tmp_path / "stock.csv", "stock")
    inputs.ingest_inventory(db, manager, tmp_path / "policy.csv", "policy")
    start = proposals.proposals(viewer, db)["forecast_from"].iloc[0]
    overrides.set_override(manager, "BEV-001", start, pd.Timestamp(start) + pd.Timedelta(days=1), "pct",
                           50, "event", db=db)
    return proposals.projection(viewer, "BEV-001", store, db)


def test_projection_figure_draws_stock_band_lines_order_and_override(proj):
    fig = projection_figure(proj, "BEV-001", "all")
    by = {t.name: t for t in fig.data if t.name}
    stock = by["Projected stock"]
    assert list(stock.y) == pytest.approx(proj["on_hand"].round(1).tolist())
    assert set(by["Safety stock"].y) == {round(proj["safety_stock"].iloc[0], 1)}
    assert set(by["Reorder point"].y) == {round(proj["reorder_point"].iloc[0], 1)}
    arrives = by["Proposed order arrives"]
    assert len(arrives.x) == 1 and pd.Timestamp(arrives.x[0]) == pd.Timestamp(proj["ds"].iloc[2])
    assert len(by["Planner override"].x) == 2  # the two overridden days
    band = by["Stock if demand runs at the band's edges"]
    assert band.fill == "tonexty" and list(band.y) == pytest.approx(proj["on_hand_low"].round(1).tolist())
    assert list(by["Forecast demand per period"].y) == pytest.approx(proj["forecast"].round(1).tolist())


def test_no_order_no_override_markers_and_names_escaped(proj):
    quiet = proj.assign(order_arrives=0.0, overridden=False)
    fig = projection_figure(quiet, '<a href="http://x">S</a>', "Leeds")
    names = {t.name for t in fig.data}
    assert "Proposed order arrives" not in names and "Planner override" not in names
    assert "<a" not in fig.layout.title.text and "&lt;a href=" in fig.layout.title.text


def test_empty_shelf_line_only_when_stock_would_run_out(proj):
    short = projection_figure(proj.assign(on_hand_low=proj["on_hand_low"] - 1e6), "BEV-001", "x")
    full = projection_figure(proj.assign(on_hand_low=proj["on_hand_low"].abs() + 1), "BEV-001", "x")
    assert [a.text for a in short.layout.annotations] == ["empty shelf: below this line, demand goes unserved"]
    assert not full.layout.annotations


def test_cut_at_the_protection_period(proj):
    fig = projection_figure(proj, "BEV-001", "x", periods=3)
    stock = next(t for t in fig.data if t.name == "Projected stock")
    assert len(stock.x) == 3 and list(stock.y) == pytest.approx(proj["on_hand"].round(1).tolist()[:3])
