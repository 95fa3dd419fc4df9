"""The fleet's proposals kept by the write paths (proposal_rows), read through the process's one
read cache (core.store.db.memo), and the Forecast view through the same cache: what a caller
gets is its own copy, the kept rows equal the computed ones, every input's write path keeps them
current, a promotion without the hook falls back to computing, and a read writes nothing."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from core import forecast_view, plan_rollups, registry
from core.errors import PermissionDenied
from core.inventory import inputs, overrides, proposals
from core.store import inventory as inv
from core.store import session
from core.store.db import raw
from tests.helpers import stocked_store
from tests.registry_fixtures import fake_version

SHOWN = proposals.COLUMNS + proposals.DETAIL + ["version"]


@pytest.fixture
def store(db, tmp_path, scientist, manager):
    """3 SKUs x 2 stores, a promoted version, stock for most series and a policy."""
    stocked_store(db, tmp_path, scientist, manager, ["BEV-001,,2,6,0,1.5,3", "SNK-002,Leeds,3,1,5,2,4"],
                  n_skus=3)
    return db


def kept(db) -> pd.DataFrame | None:
    with session(db) as s:
        return inv.stored_proposals(s, repr(inv.proposal_state(s, None)))


def computed(db) -> pd.DataFrame:
    return proposals._read(db, None, None, None)[0]


def content_hash(db) -> str:
    with session(db) as s:
        con = raw(s)
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() ORDER BY table_name").fetchall()]
        h = hashlib.sha256()
        for t in tables:
            h.update(repr(con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall()).encode())  # noqa: S608 - catalog names
    return h.hexdigest()


def test_a_caller_cannot_change_what_the_next_caller_gets(store, manager):
    """Regression: the fleet's frame was handed out shared, so a page's in-place edit reached
    every later reader of the process."""
    first = proposals.read(store)
    before = first.copy()
    first["order_qty"] = -1.0
    first.loc[0, "sku"] = "MUTATED"
    assert_frame_equal(proposals.read(store), before)
    view = proposals.proposals(manager, store)
    view["on_hand"] = 0
    assert_frame_equal(proposals.read(store), before)


def test_kept_rows_equal_the_computed_ones_after_every_write_path(store, manager, tmp_path):
    # the policy upload (the last write of the fixture) kept them
    got = kept(store)
    assert got is not None and len(got) == 6
    assert_frame_equal(got[SHOWN], computed(store)[SHOWN], check_dtype=False)
    assert_frame_equal(proposals.read(store)[SHOWN], computed(store)[SHOWN], check_dtype=False)

    start = pd.Timestamp(got["forecast_from"].min()).date()
    o = overrides.set_override(manager, "SNK-002", start, start + pd.Timedelta(days=30), "pct", 80,
                               "promotion", store="Bristol", db=store)
    got = kept(store)
    assert got is not None and got.loc[(got["sku"] == "SNK-002") & (got["store"] == "Bristol"), "overridden"].all()
    assert_frame_equal(got[SHOWN], computed(store)[SHOWN], check_dtype=False)

    overrides.end_override(manager, o.id, db=store)
    got = kept(store)
    assert got is not None and not got["overridden"].any()
    assert_frame_equal(got[SHOWN], computed(store)[SHOWN], check_dtype=False)

    (tmp_path / "stock2.csv").write_text("date,sku,store,on_hand\n2026-11-02,SNK-002,Bristol,0\n")
    inputs.ingest_inventory(store, manager, tmp_path / "stock2.csv", "stock")
    got = kept(store)
    assert got is not None
    assert got.loc[(got["sku"] == "SNK-002") & (got["store"] == "Bristol"), "on_hand"].iloc[0] == 0
    assert_frame_equal(got[SHOWN], computed(store)[SHOWN], check_dtype=False)


def _proposed_skus(monkeypatch) -> list[set]:
    """The SKUs of each proposal computation (the fleet's, or an override's few)."""
    made, propose = [], proposals.propose
    monkeypatch.setattr(proposals, "propose",
                        lambda fc, inputs, *a, **k: made.append(set(inputs["sku"])) or propose(fc, inputs, *a, **k))
    return made


def test_an_override_remakes_only_its_skus_rows_equal_to_a_full_recompute(store, manager, tmp_path, monkeypatch):
    """Regression: setting one override recomputed the fleet's proposals (3-5 CPU-s at 100,000
    series). Only the SKUs it touches are made again, in the fleet's context: here BEV-001's
    series keep fewer forecast periods than the fleet's (a stock count inside the forecast) and
    one has no band (the backtest-error spread), under a protection interval longer than them."""
    with session(store) as s:
        first = raw(s).execute("SELECT min(ds)::DATE FROM active_forecasts").fetchone()[0]
        bev = [r[0] for r in raw(s).execute(
            "SELECT series_id FROM series WHERE sku = 'BEV-001' ORDER BY series_id").fetchall()]
    with session(store, write=True) as s:  # behind the product's back: the stock upload below keeps them
        raw(s).execute("UPDATE forecasts SET yhat_lower = NULL, yhat_upper = NULL WHERE series_id = ?", [bev[0]])
    day = (pd.Timestamp(first) + pd.Timedelta(days=4)).date()
    (tmp_path / "stock4.csv").write_text(f"date,sku,store,on_hand\n{day},BEV-001,Leeds,2\n{day},BEV-001,Bristol,9\n")
    inputs.ingest_inventory(store, manager, tmp_path / "stock4.csv", "stock")
    (tmp_path / "policy4.csv").write_text("sku,store,lead_time,review_period\nBEV-001,,5,3\n")
    inputs.ingest_inventory(store, manager, tmp_path / "policy4.csv", "policy")
    assert_frame_equal(kept(store)[SHOWN], computed(store)[SHOWN], check_dtype=False)

    made = _proposed_skus(monkeypatch)
    end = first + pd.Timedelta(days=30)
    steps = [
        ("set BEV-001 at Leeds", lambda: overrides.set_override(
            manager, "BEV-001", first, end, "units", 40, "promotion", store="Leeds", db=store), {"BEV-001"}),
        ("set SNK-002 everywhere", lambda: overrides.set_override(
            manager, "SNK-002", first, end, "pct", -30, "event", db=store), {"SNK-002"}),
    ]
    ids = []
    for what, step, skus in steps:
        made.clear()
        ids.append(step().id)
        assert made == [skus], what
        assert_frame_equal(kept(store)[SHOWN], computed(store)[SHOWN], check_dtype=False)
    made.clear()  # change the BEV-001 override into one of DRY-003: both SKUs' rows move
    changed = overrides.set_override(manager, "DRY-003", first, end, "pct", 50, "ranging",
                                     replaces=ids[0], db=store)
    assert made == [{"BEV-001", "DRY-003"}]
    got = kept(store)
    assert not got.loc[got["sku"] == "BEV-001", "overridden"].any()
    assert got.loc[got["sku"] == "DRY-003", "overridden"].all()
    assert_frame_equal(got[SHOWN], computed(store)[SHOWN], check_dtype=False)
    for oid, skus in ((changed.id, {"DRY-003"}), (ids[1], {"SNK-002"})):  # clear them
        made.clear()
        overrides.end_override(manager, oid, db=store)
        assert made == [skus]
        assert_frame_equal(kept(store)[SHOWN], computed(store)[SHOWN], check_dtype=False)
    assert not kept(store)["overridden"].any()


def test_an_override_after_another_write_left_the_kept_rows_behind_remakes_the_fleet(store, manager, monkeypatch):
    """The few rows are made only if the rest were current before the override."""
    with session(store, write=True) as s:
        raw(s).execute("UPDATE proposal_marks SET state = 'behind'")
    start = pd.Timestamp(computed(store)["forecast_from"].min()).date()
    made = _proposed_skus(monkeypatch)
    overrides.set_override(manager, "BEV-001", start, start + pd.Timedelta(days=9), "units", 7, "other", db=store)
    assert made == [{"BEV-001", "SNK-002", "DRY-003"}]
    assert_frame_equal(kept(store)[SHOWN], computed(store)[SHOWN], check_dtype=False)


def test_a_promotion_keeps_the_proposals_current(store, scientist):
    vid = fake_version(store, 0.05)
    registry.promote(scientist, vid, "newer", db=store)  # core.registry calls plan_rollups
    assert (kept(store)["version"] == vid).all()
    assert_frame_equal(kept(store)[SHOWN], computed(store)[SHOWN], check_dtype=False)


def test_a_promotion_whose_hook_failed_falls_back_and_the_read_writes_nothing(store, scientist, monkeypatch):
    before = proposals.read(store)
    vid = fake_version(store, 0.05)
    monkeypatch.setattr(plan_rollups, "after_promote", lambda actor, db=None: (False, False, False))
    registry.promote(scientist, vid, "newer", db=store)  # the kept rows are left behind
    monkeypatch.undo()
    assert kept(store) is None  # behind: made at the old version's state
    frozen = content_hash(store)
    now = proposals.read(store)
    assert content_hash(store) == frozen
    assert (now["version"] == vid).all() and not (before["version"] == vid).any()
    assert_frame_equal(now[SHOWN], computed(store)[SHOWN], check_dtype=False)
    # the hook the promotion path calls brings the kept rows back
    plan_rollups.after_promote(scientist, store)
    assert_frame_equal(kept(store)[SHOWN], computed(store)[SHOWN], check_dtype=False)


def test_after_change_needs_upload_and_changes_nothing_when_refused(store, scientist):
    vid = fake_version(store, 0.05)
    registry.promote(scientist, vid, "newer", db=store)
    frozen = content_hash(store)
    from core.access import Actor

    with pytest.raises(PermissionDenied):
        plan_rollups.after_promote(Actor("v", "viewer"), store)
    assert content_hash(store) == frozen


def test_the_forecast_view_hands_out_copies(store):
    a = forecast_view.weekly(store, 8, limit=5, totals=True, options=True)
    want_table, want_totals = a.table.copy(), a.totals.copy()
    a.table["forecast"] = 0
    a.totals.loc[:, "forecast"] = 0
    a.options.drop(a.options.index, inplace=True)
    b = forecast_view.weekly(store, 8, limit=5, totals=True, options=True)
    assert_frame_equal(b.table, want_table)
    assert_frame_equal(b.totals, want_totals)
    assert len(b.options) == 6


def test_a_filter_on_active_forecasts_reaches_the_scan(store, manager):
    """A SKU's rows of the view are the view's rows for that SKU (overrides included), and the
    plan no longer materialises every forecast row before the filter (a CTE node)."""
    with session(store) as s:
        start = raw(s).execute("SELECT min(ds) FROM active_forecasts").fetchone()[0]
    overrides.set_override(manager, "BEV-001", start, start + pd.Timedelta(days=3), "pct", 40,
                           "promotion", db=store)
    overrides.set_override(manager, "BEV-001", start, start, "units", 9, "event", store="Leeds", db=store)
    with session(store) as s:
        con = raw(s)
        every = con.execute("SELECT * FROM active_forecasts ORDER BY series_id, ds").df()
        one = con.execute("SELECT * FROM active_forecasts WHERE sku = ? ORDER BY series_id, ds",
                          ["BEV-001"]).df()
        plan = "\n".join(r[1] for r in con.execute(
            "EXPLAIN SELECT * FROM active_forecasts WHERE sku = ?", ["BEV-001"]).fetchall())
    want = every[every["sku"] == "BEV-001"].reset_index(drop=True)
    assert one["override_id"].notna().any()
    assert_frame_equal(one, want)
    assert "CTE" not in plan.replace("CTE_SCAN", "")


def test_replays_not_kept_are_made_once_per_store_state_through_the_read_cache(store, monkeypatch):
    """The fallback while the kept replays are behind goes through core.store.db.memo: one
    replay per store state for every caller, made again after any write, also another
    process's (a raw policy change behind the product's back, which also makes no kept row)."""
    import subprocess
    import sys

    from core.inventory import simulate
    from core.store import db as store_db

    with session(store) as s:
        from core.store import registry as reg_store

        vid = reg_store.active_version_id(s)
    both = [(vid, "chosen"), (vid, simulate.NAIVE_MODEL)]
    with session(store, write=True) as s:
        raw(s).execute("DELETE FROM replay_totals")
    replays = _counting_replays(monkeypatch)
    first = simulate._replays(store, both)
    assert len(replays) == 2 and first[(vid, "chosen")]["demand"] > 0
    again = simulate._replays(store, both)
    assert len(replays) == 2 and again == first  # the same store state: no replay
    again[(vid, "chosen")]["demand"] = -1  # a caller's own copy
    assert simulate._replays(store, both) == first

    code = ("import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
            "c.execute('UPDATE policies SET lead_time = 6, pack_size = 24'); c.close()")
    subprocess.run([sys.executable, "-c", code, str(store)], check=True)
    after = simulate._replays(store, both)
    assert len(replays) == 4 and after != first
    store_db._shared.clear()
    assert simulate._replays(store, both) == after  # what a fresh replay of that state gives
    assert len(replays) == 6


def _view_rows(db, kept: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Forecast view's rows and totals with the actuals scanned from the sales, or read
    from the kept tables (which must then be current)."""
    from core.store import forecast_view as fvs

    with session(db) as s:
        f = forecast_view._read_frame(s, 8)
        if kept:
            assert fvs.kept_actuals(s, fvs.actuals_mark(s, f.last_year, f.recent))
            actuals = None
        else:
            actuals = fvs.weekly_actuals(s, f.last_year, f.recent)
        return fvs.weekly_view(s, f.version, f.last, f.weeks, actuals, totals=True)


def test_the_forecast_views_kept_actuals_follow_ingest_and_promotion(store, scientist, manager, tmp_path):
    scanned = forecast_view.weekly(store, 8, totals=True)  # the promotion did not keep them: a scan
    assert scanned.table["recent_avg"].notna().any()
    assert plan_rollups.after_promote(scientist, store)[0]
    for a, b in zip(_view_rows(store, kept=True), _view_rows(store, kept=False), strict=True):
        assert_frame_equal(a, b)
    assert_frame_equal(forecast_view.weekly(store, 8, totals=True).table, scanned.table)

    # more units in the recent weeks: the ingest hook keeps the actuals current
    demo = pd.read_csv(tmp_path / "demo.csv")
    date_col = next(c for c in demo.columns if "date" in c.lower() or c == "ds")
    unit_col = next(c for c in demo.columns if c not in (date_col, "sku", "store") and demo[c].dtype.kind in "if")
    recent = demo[pd.to_datetime(demo[date_col]) >= pd.to_datetime(demo[date_col]).max() - pd.Timedelta(days=13)].copy()
    recent[unit_col] = recent[unit_col] * 10 + 5
    recent.to_csv(tmp_path / "more.csv", index=False)
    from core import ingest

    ingest.ingest(tmp_path / "more.csv", manager, db=store)
    rows, tot = _view_rows(store, kept=True)
    want_rows, want_tot = _view_rows(store, kept=False)
    assert_frame_equal(rows, want_rows)
    assert_frame_equal(tot, want_tot)
    after = forecast_view.weekly(store, 8, totals=True)
    assert (after.table["recent_avg"].fillna(0) > scanned.table["recent_avg"].fillna(0)).any()


def test_a_view_read_while_the_kept_actuals_are_behind_writes_nothing(store, scientist):
    frozen = content_hash(store)  # the promotion left them behind
    got = forecast_view.weekly(store, 8, totals=True, options=True)
    assert not got.table.empty
    assert content_hash(store) == frozen


def _counting_replays(monkeypatch) -> list:
    """Every replay the readers make (the kept rows are read, not replayed)."""
    from core.inventory import simulate

    made, replay = [], simulate.replay
    monkeypatch.setattr(simulate, "replay", lambda *a, **k: made.append(1) or replay(*a, **k))
    return made


def test_the_policy_replays_are_kept_by_the_write_paths(store, scientist, manager, tmp_path, monkeypatch):
    from core.inventory import simulate

    with session(store) as s:
        from core.store import registry as reg_store

        vid = reg_store.active_version_id(s)
    both = [(vid, "chosen"), (vid, simulate.NAIVE_MODEL)]
    replays = _counting_replays(monkeypatch)
    made = simulate._replays(store, both)  # kept by the policy upload
    assert replays == []  # nothing replayed: read from the store
    with session(store, write=True) as s:
        raw(s).execute("DELETE FROM replay_totals")
    replayed = simulate._replays(store, both)
    assert len(replays) == 2
    assert made == replayed and made[(vid, "chosen")]["demand"] > 0

    # a new policy upload: the kept replays follow it (and equal a fresh replay)
    (tmp_path / "policy3.csv").write_text("sku,store,lead_time,review_period,pack_size,min_order\n"
                                          "BEV-001,,5,3,24,30\nSNK-002,,4,2,12,20\n")
    inputs.ingest_inventory(store, manager, tmp_path / "policy3.csv", "policy")
    replays.clear()
    kept_now = simulate._replays(store, both)
    assert replays == []
    with session(store, write=True) as s:
        raw(s).execute("DELETE FROM replay_totals")
    assert simulate._replays(store, both) == kept_now
    assert kept_now != made


def _context_by_pandas(db) -> tuple[int, list[str]]:
    """The fleet's grid width and quantile columns in use, as the fleet's own computation sees them."""
    from core.inventory import policy
    from core.inventory.overrides import QUANTILE_COL

    with session(db) as s:
        vid = raw(s).execute("SELECT max(version_id) FROM active WHERE scope = 'default'").fetchone()[0]
        fc = inv.forecast_rows(s, vid, names=False)
        ins = inv.series_inputs(s, policy.DEFAULTS)
    fc, _stale = proposals.from_stock_date(fc, ins)
    return (int(fc.groupby("series_id").size().max()),
            [c for c in fc.columns if QUANTILE_COL.match(c) and fc[c].notna().any()])


def test_the_fleet_context_of_a_few_series_equals_the_fleets_own(store, manager, tmp_path):
    """inv.proposal_context (SQL) against the fleet's computation: the width after the stock
    counts, and a quantile column counts only where it has a value in a period that is kept."""
    with session(store) as s:
        vid = raw(s).execute("SELECT max(version_id) FROM active WHERE scope = 'default'").fetchone()[0]
        first = raw(s).execute("SELECT min(ds)::DATE FROM forecasts WHERE version_id = ?", [vid]).fetchone()[0]
        last = raw(s).execute("SELECT max(ds)::DATE FROM forecasts WHERE version_id = ?", [vid]).fetchone()[0]
        sid = raw(s).execute("SELECT series_id FROM series WHERE sku = 'BEV-001' AND store = 'Leeds'").fetchone()[0]

    def context() -> tuple[int, list[str]]:
        with session(store) as s:
            return inv.proposal_context(s, vid, ["p10", "p90", "yhat_p50"])

    assert context() == _context_by_pandas(store) == (7, [])
    with session(store, write=True) as s:
        con = raw(s)
        con.execute("ALTER TABLE forecasts ADD COLUMN p10 DOUBLE")
        con.execute("ALTER TABLE forecasts ADD COLUMN p90 DOUBLE")
        # values only on BEV-001 at Leeds' first day, which its stock count (below) leaves behind
        con.execute("UPDATE forecasts SET p10 = yhat * 0.5, p90 = yhat * 1.5 WHERE series_id = ? AND ds = ?",
                    [sid, first])
    (tmp_path / "stock5.csv").write_text(f"date,sku,store,on_hand\n{first},BEV-001,Leeds,4\n")
    inputs.ingest_inventory(store, manager, tmp_path / "stock5.csv", "stock")
    assert context() == _context_by_pandas(store) == (7, [])
    # a count on the last day: only the last period is kept, and p90 has a value there
    with session(store, write=True) as s:
        raw(s).execute("UPDATE forecasts SET p90 = yhat * 1.5 WHERE series_id = ? AND ds = ?", [sid, last])
    (tmp_path / "stock6.csv").write_text(f"date,sku,store,on_hand\n{last},BEV-001,Leeds,4\n")
    inputs.ingest_inventory(store, manager, tmp_path / "stock6.csv", "stock")
    assert context() == _context_by_pandas(store) == (7, ["p90"])
