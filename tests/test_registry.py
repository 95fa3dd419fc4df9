"""The registry on a real store: gate, override, rollback, archive, roles, compare, concurrency."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from core import exports, registry
from core.errors import NotFound, PermissionDenied, ShelfcastError, ValidationError
from tests.registry_fixtures import fake_version, load_demo, registry_snapshot


@pytest.fixture
def two(db, tmp_path, scientist):
    """Demo sales, a good version A (WAPE 10%) and a worse B (20%, but best on BEV SKUs)."""
    load_demo(db, tmp_path, scientist)
    a = fake_version(db, 0.10, level=1.0)
    b = fake_version(db, lambda sku: 0.05 if sku.startswith("BEV") else 0.25, level=3.0)
    return a, b


def test_first_promotion_publishes_forecasts_and_is_audited(db, two, scientist):
    a, _ = two
    assert registry.active_forecasts(db).empty
    p = registry.promote(scientist, a, "  first forecast for the autumn range ")
    assert (p.action, p.from_version, p.to_version, p.actor, p.override) == ("promote", None, a, "sam", False)
    assert p.note == "first forecast for the autumn range"
    pub = registry.active_forecasts(db)
    assert set(pub["version"]) == {a} and len(pub) == 8 * 7
    assert list(pub.columns) == ["sku", "store", "date", "yhat", "yhat_lower", "yhat_upper", "model", "version"]
    h = registry.history(db)
    assert len(h) == 1 and h.loc[0, "to_version"] == a and h.loc[0, "to_wape"] == pytest.approx(0.10)
    assert registry.active_version(db) == a


def test_gate_refuses_a_worse_challenger_and_changes_nothing(db, two, scientist):
    a, b = two
    registry.promote(scientist, a, "baseline")
    before = registry_snapshot(db)
    g = registry.check_gate(b, db)
    assert g.needs_override and g.active_id == a
    assert g.active_wape == pytest.approx(0.10) and g.challenger_wape > 0.10
    with pytest.raises(ValidationError, match=r"worse than active version .*tick the override"):
        registry.promote(scientist, b, "try the new one")
    with pytest.raises(ValidationError, match="worse"):
        registry.promote(scientist, b, "try the new one", override_reason="   ")
    assert registry_snapshot(db) == before
    assert set(registry.active_forecasts(db)["version"]) == {a}


def test_override_is_recorded(db, two, scientist):
    a, b = two
    registry.promote(scientist, a, "baseline")
    p = registry.promote(scientist, b, "promo season", override_reason="BEV matters most in December")
    assert p.override and p.override_reason == "BEV matters most in December"
    m = json.loads(p.metrics)
    assert m["gate"] == "overridden" and m["from"]["id"] == a and m["to"]["id"] == b
    assert m["to"]["wape"] > m["from"]["wape"]
    h = registry.history(db)
    assert bool(h.loc[0, "override"]) and h.loc[0, "override_reason"] == "BEV matters most in December"


def test_better_challenger_passes_without_override(db, two, scientist):
    a, b = two
    registry.promote(scientist, b, "first")
    p = registry.promote(scientist, a, "A is better overall", override_reason="not needed")
    assert not p.override and p.override_reason is None
    assert json.loads(p.metrics)["gate"] == "passed"


def test_incomparable_versions_skip_the_gate(db, two, scientist):
    a, _ = two
    registry.promote(scientist, a, "baseline")
    weekly = fake_version(db, 0.5, horizon=14)
    p = registry.promote(scientist, weekly, "longer horizon for the buyers")
    assert not p.override and json.loads(p.metrics)["gate"] == "not comparable"


def test_rollback_restores_the_previous_forecasts_as_published(db, two, scientist):
    a, b = two
    registry.promote(scientist, a, "baseline")
    published_a = registry.active_forecasts(db)
    registry.promote(scientist, b, "try B", override_reason="test in prod")
    assert set(registry.active_forecasts(db)["version"]) == {b}
    assert not registry.active_forecasts(db)["yhat"].equals(published_a["yhat"])
    p = registry.rollback(scientist, "B over-forecasts, back to A")
    assert (p.action, p.from_version, p.to_version) == ("rollback", b, a)
    pd.testing.assert_frame_equal(registry.active_forecasts(db), published_a)
    assert list(registry.history(db)["action"]) == ["rollback", "promote", "promote"]


def test_rollback_walks_back_through_the_chain(db, two, scientist):
    a, b = two
    c = fake_version(db, 0.01)
    registry.promote(scientist, a, "1")
    registry.promote(scientist, c, "2")
    registry.promote(scientist, b, "3", override_reason="why not")
    assert registry.rollback(scientist, "undo 3").to_version == c
    assert registry.rollback(scientist, "undo 2").to_version == a
    before = registry_snapshot(db)
    with pytest.raises(ValidationError, match="Nothing to roll back to"):
        registry.rollback(scientist, "undo 1")
    assert registry_snapshot(db) == before


def test_rollback_with_nothing_active_is_refused(db, two, scientist):
    with pytest.raises(ValidationError, match="Nothing to roll back to"):
        registry.rollback(scientist, "panic")


def test_refusals_change_nothing(db, two, scientist):
    a, _ = two
    running = fake_version(db, 0.01, status="running")
    failed = fake_version(db, 0.01, status="failed")
    registry.promote(scientist, a, "baseline")
    before = registry_snapshot(db)
    with pytest.raises(NotFound, match="no version 999"):
        registry.promote(scientist, 999, "x")
    with pytest.raises(ValidationError, match="running, not ready"):
        registry.promote(scientist, running, "x")
    with pytest.raises(ValidationError, match="failed, not ready"):
        registry.promote(scientist, failed, "x")
    with pytest.raises(ValidationError, match="already the active"):
        registry.promote(scientist, a, "again")
    with pytest.raises(ValidationError, match="note is required"):
        registry.promote(scientist, running, "   ")
    with pytest.raises(ValidationError, match="under 2000"):
        registry.promote(scientist, a, "x" * 2001)
    assert registry_snapshot(db) == before


@pytest.mark.parametrize("who", ["viewer", "manager"])
def test_viewer_and_manager_cannot_promote_rollback_or_archive(db, two, scientist, request, who):
    a, b = two
    registry.promote(scientist, a, "baseline")
    before = registry_snapshot(db)
    actor = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied, match="needs the scientist role"):
        registry.promote(actor, b, "me too", override_reason="x")
    with pytest.raises(PermissionDenied):
        registry.rollback(actor, "undo")
    with pytest.raises(PermissionDenied):
        registry.archive(actor, b)
    assert registry_snapshot(db) == before


def test_share_link_viewer_cannot_promote(db, two):
    from core.access import Actor

    with pytest.raises(PermissionDenied):
        registry.promote(Actor("exec", "admin", via_link=True), two[0], "from the link")


def test_archive_rules(db, two, scientist):
    a, b = two
    registry.promote(scientist, a, "baseline")
    before = registry_snapshot(db)
    with pytest.raises(ValidationError, match="active version and cannot be archived"):
        registry.archive(scientist, a, db)
    with pytest.raises(NotFound):
        registry.archive(scientist, 4242, db)
    assert registry_snapshot(db) == before
    registry.archive(scientist, b, db)
    assert b not in set(registry.leaderboard(db)["version"])
    assert b in set(registry.leaderboard(db, include_archived=True)["version"])  # never deleted
    with pytest.raises(ValidationError, match="already archived"):
        registry.archive(scientist, b, db)
    with pytest.raises(ValidationError, match="archived"):
        registry.promote(scientist, b, "revive", override_reason="x")
    assert registry.history(db).loc[0, "action"] == "archive"
    registry.unarchive(scientist, b, db)
    registry.promote(scientist, b, "revive", override_reason="x")
    assert registry.active_version(db) == b


def test_rollback_target_archived_is_refused(db, two, scientist):
    a, b = two
    registry.promote(scientist, a, "1")
    registry.promote(scientist, b, "2", override_reason="x")
    registry.archive(scientist, a, db)
    with pytest.raises(ValidationError, match="previously active version .* is archived"):
        registry.rollback(scientist, "back")
    assert registry.active_version(db) == b


def test_leaderboard_marks_exactly_one_active(db, two, scientist):
    a, b = two
    registry.promote(scientist, b, "first")
    lb = registry.leaderboard(db)
    assert lb["active"].sum() == 1 and lb.loc[lb["active"], "version"].item() == b
    row = lb.set_index("version").loc[a]
    assert row["wape"] == pytest.approx(0.10) and row["accuracy"] == pytest.approx(0.90)
    assert row["model"] == "sklearn" and row["created_by"] == "sam" and row["training_s"] == 1.5


def test_compare_per_sku_and_per_series(db, two):
    a, b = two
    c = registry.compare(db, [a, b], level="sku")
    t = c.table.set_index("sku")
    assert len(t) == 4
    assert t.loc["BEV-001", f"wape_{a}"] == pytest.approx(0.10)
    assert t.loc["BEV-001", f"wape_{b}"] == pytest.approx(0.05)
    assert t.loc["BEV-001", f"diff_{b}"] == pytest.approx(-0.05)
    assert t.loc["BEV-001", "winner"] == str(b) and t.loc["SNK-002", "winner"] == str(a)
    assert c.wins == {a: 3, b: 1} and c.ties == 0
    s = registry.compare(db, [a, b], level="sku_store")
    assert len(s.table) == 8 and list(s.table.columns[:2]) == ["sku", "store"]
    assert s.wins == {a: 6, b: 2}


def test_compare_counts_ties_and_validates(db, two):
    a, _ = two
    a2 = fake_version(db, 0.10)
    c = registry.compare(db, [a, a2])
    assert c.ties == 4 and set(c.table["winner"]) == {"tie"}
    with pytest.raises(ValidationError, match="at least two"):
        registry.compare(db, [a, a])
    with pytest.raises(NotFound):
        registry.compare(db, [a, 777])
    with pytest.raises(ValidationError, match="level"):
        registry.compare(db, [a, a2], level="store")


def test_published_csv_neutralises_formula_skus(db, tmp_path, scientist):
    from core.ingest import ingest
    from tests.helpers import frame_csv

    rows = [{"date": f"2026-10-{d:02d}", "sku": sku, "store": "Leeds", "units": d % 5 + 1}
            for d in range(1, 29) for sku in ("=cmd()", "+SUM(A1)", "plain")]
    ingest(frame_csv(tmp_path / "evil.csv", rows), scientist)
    v = fake_version(db, 0.1)
    registry.promote(scientist, v, "evil names")
    pub = registry.active_forecasts(db)
    assert "=cmd()" in set(pub["sku"])
    text = exports.to_csv_bytes(pub).decode()
    assert "\n'=cmd()," in text and "\n'+SUM(A1)," in text
    assert "\n=cmd()" not in text
    path = tmp_path / "active.parquet"
    exports.write(pub, str(path))
    assert "=cmd()" in set(pd.read_parquet(path)["sku"])  # Parquet keeps the real name


# --- concurrency --------------------------------------------------------------------------------


def _promote_at_once(db, actor, ids, override: str | None):
    barrier = threading.Barrier(len(ids))

    def go(v):
        barrier.wait()
        try:
            return ("ok", registry.promote(actor, v, f"thread for {v}", override_reason=override, db=db))
        except ShelfcastError as exc:
            return ("refused", exc)

    with ThreadPoolExecutor(len(ids)) as pool:
        return list(pool.map(go, ids))


def _assert_consistent_chain(db, n_ok):
    from core.store import session
    from core.store.db import raw

    with session(db) as s:
        active = raw(s).execute("SELECT version_id FROM active").fetchall()
        log = raw(s).execute(
            "SELECT from_version, to_version FROM promotions ORDER BY id").fetchall()
    assert len(active) == 1
    assert len(log) == n_ok
    assert log[0][0] is None
    for prev, cur in zip(log, log[1:], strict=False):
        assert cur[0] == prev[1]  # each promotion replaced the one recorded before it
    assert active[0][0] == log[-1][1]
    return log


def test_eight_threads_promote_at_once_gate_honoured(db, tmp_path, scientist):
    load_demo(db, tmp_path, scientist, n_skus=2, n_stores=1, days=30)
    ids = [fake_version(db, 0.05 * (i + 1)) for i in range(8)]
    results = _promote_at_once(db, scientist, ids, override=None)
    ok = [r for k, r in results if k == "ok"]
    refused = [r for k, r in results if k == "refused"]
    assert len(ok) + len(refused) == 8 and ok
    assert all(isinstance(e, ValidationError) and "worse" in str(e) for e in refused)
    _assert_consistent_chain(db, len(ok))
    wapes = [json.loads(p.metrics)["to"]["wape"] for p in sorted(ok, key=lambda p: p.id)]
    assert wapes == sorted(wapes, reverse=True)  # every recorded promotion passed the gate


def test_eight_threads_with_override_all_recorded(db, tmp_path, scientist):
    load_demo(db, tmp_path, scientist, n_skus=2, n_stores=1, days=30)
    ids = [fake_version(db, 0.05 * (i + 1)) for i in range(8)]
    results = _promote_at_once(db, scientist, ids, override="load test")
    assert [k for k, _ in results] == ["ok"] * 8
    log = _assert_consistent_chain(db, 8)
    assert sorted(to for _, to in log) == sorted(ids)


def test_eight_threads_same_version_recorded_once(db, tmp_path, scientist):
    load_demo(db, tmp_path, scientist, n_skus=2, n_stores=1, days=30)
    v = fake_version(db, 0.1)
    results = _promote_at_once(db, scientist, [v] * 8, override=None)
    kinds = sorted(k for k, _ in results)
    assert kinds == ["ok"] + ["refused"] * 7
    assert all("already the active" in str(e) for k, e in results if k == "refused")
    _assert_consistent_chain(db, 1)


def test_promote_for_demo_publishes_the_newest_ready_version_once(db, two, scientist):
    _, b = two
    fake_version(db, 0.1, status="failed")
    said = []
    assert registry.promote_for_demo(scientist, db, said.append) == b
    assert registry.active_version(db) == b and "promoted" in said[0]
    assert registry.promote_for_demo(scientist, db, said.append) is None  # already active
    assert len(registry.history(db)) == 1
