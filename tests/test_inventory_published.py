"""Planner overrides reach the published forecasts (the `active_forecasts` view downstream
systems read, `shelfcast export` of the active version, page downloads) with a column naming the
override applied, while the version's own stored forecasts never change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import forecasts, registry
from core.inventory import overrides
from core.store import session
from core.store.db import raw
from tests.helpers import run_cli
from tests.registry_fixtures import fake_version, load_demo


@pytest.fixture
def live(db, tmp_path, scientist):
    load_demo(db, tmp_path, scientist, n_skus=2, n_stores=2, days=40)
    a = fake_version(db, 0.2)
    b = fake_version(db, 0.1, level=1.3)
    registry.promote(scientist, a, "go live", db=db)
    return db, a, b


def _view(db) -> pd.DataFrame:
    with session(db) as s:
        df = raw(s).execute("SELECT * FROM active_forecasts ORDER BY sku, store, ds").df()
    df["ds"] = pd.to_datetime(df["ds"])
    return df


def _stored(db, vid: int) -> pd.DataFrame:
    with session(db) as s:
        return raw(s).execute("SELECT * FROM forecasts WHERE version_id = ? ORDER BY series_id, ds",
                              [vid]).df()


def test_overrides_reach_the_view_export_and_downloads(live, manager, scientist, tmp_path):
    db, a, b = live
    stored_before = _stored(db, a)
    plain = _view(db)
    assert plain["override_id"].isna().all()
    np.testing.assert_allclose(plain["yhat"], plain["yhat_model"])
    days = sorted(plain["ds"].unique())
    d1, d2, d3 = (pd.Timestamp(days[i]).date() for i in (1, 2, 4))
    pct = overrides.set_override(manager, "BEV-001", d1, d3, "pct", 50, "promotion", "end cap", db=db)
    units = overrides.set_override(manager, "BEV-001", d2, d2, "units", 7, "event", "",
                                   store=plain["store"].iloc[0], db=db)
    ended = overrides.set_override(manager, "SNK-002", d1, d3, "units", 999, "other", "", db=db)
    overrides.end_override(manager, ended.id, db)

    view = _view(db)
    m = view.merge(plain[["series_id", "ds", "yhat", "yhat_lower", "yhat_upper"]],
                   on=["series_id", "ds"], suffixes=("", "_0"))
    in_pct = (m["sku"] == "BEV-001") & m["ds"].between(pd.Timestamp(d1), pd.Timestamp(d3))
    in_units = in_pct & (m["store"] == plain["store"].iloc[0]) & (m["ds"] == pd.Timestamp(d2))
    only_pct = in_pct & ~in_units
    assert set(m.loc[only_pct, "override_id"]) == {pct.id}
    assert set(m.loc[in_units, "override_id"]) == {units.id}  # the newest wins where they overlap
    assert m.loc[~in_pct, "override_id"].isna().all()  # an ended override applies nowhere
    np.testing.assert_allclose(m.loc[only_pct, "yhat"], 1.5 * m.loc[only_pct, "yhat_0"])
    np.testing.assert_allclose(m.loc[only_pct, "yhat_upper"], 1.5 * m.loc[only_pct, "yhat_upper_0"])
    np.testing.assert_allclose(m.loc[in_units, "yhat"], 7.0)
    np.testing.assert_allclose(m.loc[in_units, "yhat_lower"],
                               np.maximum(m.loc[in_units, "yhat_lower_0"] + 7 - m.loc[in_units, "yhat_0"], 0))
    np.testing.assert_allclose(m.loc[~in_pct, "yhat"], m.loc[~in_pct, "yhat_0"])
    np.testing.assert_allclose(m["yhat_model"], m["yhat_0"])

    # the SQL view and core.inventory.overrides.apply are one rule
    py = overrides.apply(plain.drop(columns=["yhat_model", "override_id"]), db)
    np.testing.assert_allclose(py["yhat"], view["yhat"])
    np.testing.assert_allclose(py["yhat_lower"], view["yhat_lower"])
    assert py["override_id"].astype("Float64").fillna(-1).tolist() == view["override_id"].fillna(-1).tolist()

    # the Python read of the published forecasts and the export of the active version carry them
    pub = registry.active_forecasts(db).set_index(["sku", "store", "date"])["yhat"]
    fr = forecasts.forecast_frame(a, db)
    assert "override_id" in fr.columns
    np.testing.assert_allclose(fr.set_index(["sku", "store", "date"])["yhat"].loc[pub.index], pub)
    assert set(fr["override_id"].dropna()) == {pct.id, units.id}
    out = tmp_path / "active.csv"
    p = run_cli("export", "--out", str(out), db=db)
    assert p.returncode == 0, p.stderr
    csv = pd.read_csv(out)
    assert sorted(csv["override_id"].dropna().astype(int).unique()) == sorted({pct.id, units.id})
    np.testing.assert_allclose(csv["yhat"], fr["yhat"], rtol=1e-9)

    # another version's export, and the version's own rows, are untouched
    other = forecasts.forecast_frame(b, db)
    assert "override_id" not in other
    own = forecasts.forecast_frame(a, db, published=False)
    assert "override_id" not in own
    assert not np.allclose(own["yhat"], fr["yhat"])
    pd.testing.assert_frame_equal(_stored(db, a), stored_before)

    # promoting another version publishes its numbers with the same overrides in force
    registry.promote(scientist, b, "better", db=db)
    assert set(_view(db)["override_id"].dropna()) == {pct.id, units.id}
    assert "override_id" not in forecasts.forecast_frame(a, db)
