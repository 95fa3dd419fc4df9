"""The per-version rollups Compare, the gate and Train read at 100,000 series
(core.store.version_rollups) give what the raw backtest rows give: built by `build` (training's
final write), built on open for versions made before them, and never used for a version that
has none (the raw rows are read instead)."""

from __future__ import annotations

import pandas as pd
import pytest

from core import forecasts, registry
from core.access import Actor
from core.store import db as store_db
from core.store import gate, session
from core.store import registry as reg
from core.store import version_rollups as vr
from core.store import versions as vstore
from core.store.db import raw
from tests.registry_fixtures import fake_version, load_demo

SAM = Actor("sam", "admin")


@pytest.fixture
def two(db, tmp_path):
    load_demo(db, tmp_path, SAM, n_skus=4, n_stores=3)
    a = fake_version(db, lambda sku: 0.1 if sku < "H" else 0.3)
    b = fake_version(db, lambda sku: 0.2, kind="theta")
    with session(db, write=True) as s:  # what training's final write does (fake_version does not)
        vr.build(s, a)
        vr.build(s, b)
    return a, b


def _drop(db, ids=None) -> None:
    with session(db, write=True) as s:
        for t in ("version_rollups", *vr.TABLES):
            raw(s).execute(f"DELETE FROM {t}" + ("" if ids is None else f" WHERE version_id IN ({','.join(map(str, ids))})"))  # noqa: S608


def _read(db, a: int, b: int, rollups: bool) -> dict:
    """Everything the rollups serve: through them (`rollups`, both built) or from the raw rows
    (no rollup in the store)."""
    with session(db) as s:
        assert vr.built(s, [a, b]) == ({a, b} if rollups else set())
        return {
            "pooled": reg.pooled_wape(s, [a, b]),
            "sku": reg.per_sku_wape(s, [a, b], "sku"),
            "sku_store": reg.per_sku_wape(s, [a, b], "sku_store"),
            "chart": reg.sku_backtests(s, [a, b], "BEV-001"),
            "chart_store": reg.sku_backtests(s, [a, b], "BEV-001", "Leeds"),
            "fc": reg.sku_forecasts(s, [a, b], "BEV-001"),
            "gate": (vr.common_wape if rollups else gate.common_wape)(s, b, a),
            "serving": (vr.serving if rollups else vstore.series_ids)(s, a),
        }


def _raw_truth(db, a: int, b: int) -> dict:
    return _read(db, a, b, rollups=False)


def _from_rollups(db, a: int, b: int) -> dict:
    return _read(db, a, b, rollups=True)


def _same(got: dict, want: dict) -> None:
    assert got["pooled"] == pytest.approx(want["pooled"])
    for k in ("sku", "sku_store", "chart", "chart_store", "fc", "serving"):
        pd.testing.assert_frame_equal(got[k].reset_index(drop=True), want[k].reset_index(drop=True),
                                      check_dtype=False)
    g, w = got["gate"], want["gate"]
    assert (g["series"], g["points"], g["cutoffs"]) == (w["series"], w["points"], w["cutoffs"])
    assert g["challenger_wape"] == pytest.approx(w["challenger_wape"])
    assert g["active_wape"] == pytest.approx(w["active_wape"])


def test_rollups_built_by_the_write_equal_the_raw_rows(db, two):
    a, b = two
    _drop(db)
    want = _raw_truth(db, a, b)
    assert want["gate"]["points"] > 0 and len(want["sku"]) == 8  # both versions, every SKU
    with session(db, write=True) as s:
        vr.build(s, a)
        vr.build(s, b)
        vr.build(s, b)  # a second build changes nothing
        assert raw(s).execute("SELECT count(*) FROM version_rollups").fetchone()[0] == 2
    _same(_from_rollups(db, a, b), want)
    # what the pages get through core: the comparison and the gate
    cmp = registry.compare(db, [a, b])
    assert cmp.wins == {a: 2, b: 2}  # BEV, DRY: a's 10% beats b's 20%; HOU, SNK: a's 30% loses
    registry.promote(SAM, a, "first", db=db)
    g = registry.check_gate(b, db)
    assert (g.challenger_wape, g.active_wape) == pytest.approx((want["gate"]["challenger_wape"],
                                                                 want["gate"]["active_wape"]))
    assert list(forecasts.series_index(a, db)["series_id"]) == list(want["serving"]["series_id"])


def test_rollups_are_built_on_open_for_older_versions(db, two):
    a, b = two
    _drop(db)
    want = _raw_truth(db, a, b)
    with session(db, write=True) as s:
        raw(s).execute("UPDATE settings SET value = 'older code' WHERE key = 'schema_code'")
    store_db.forget(db)
    _same(_from_rollups(db, a, b), want)


def test_a_version_without_rollups_is_read_from_raw_rows(db, two):
    a, b = two
    with session(db) as s:
        both = {"sku": reg.per_sku_wape(s, [a, b], "sku"), "pooled": reg.pooled_wape(s, [a, b])}
    _drop(db, [b])
    with session(db) as s:
        assert vr.built(s, [a, b]) == {a}
        mixed = reg.per_sku_wape(s, [a, b], "sku")
        assert vr.common_wape(s, b, a) is None and vr.serving(s, b) is None
        assert reg.pooled_wape(s, [a, b]) == pytest.approx(both["pooled"])
    pd.testing.assert_frame_equal(mixed, both["sku"], check_dtype=False)


def test_the_gate_falls_back_when_cells_hold_different_dates(db, two):
    """Two versions whose (series, cut-off) cells hold different dates: the rollup cannot say
    which points both hold, so the gate joins the rows."""
    a, b = two
    with session(db, write=True) as s:
        raw(s).execute("""DELETE FROM backtests WHERE version_id = ? AND ds = (SELECT max(ds) FROM backtests)""", [b])
        raw(s).execute("DELETE FROM version_cutoff WHERE version_id = ?", [b])
        raw(s).execute("DELETE FROM version_rollups WHERE version_id = ?", [b])
        vr.build(s, b)
    with session(db) as s:
        assert vr.common_wape(s, b, a) is None
        got = gate.common_wape(s, b, a)
    _drop(db)
    with session(db) as s:
        want = gate.common_wape(s, b, a)
    assert got == want and got["points"] > 0
