"""A scheduled `shelfcast ingest` must work while another process (the app) uses the store: it
waits for the file with a bounded retry, then succeeds; past the bound it fails clearly and
changes nothing."""

from __future__ import annotations

import time

from core.ingest import ingest
from tests.helpers import demo_csv, frame_csv, hold_store, run_cli, store_snapshot


def test_cli_ingest_waits_for_a_held_store_then_succeeds(db, tmp_path, scientist):
    ingest(demo_csv(tmp_path / "a.csv", n_skus=2, n_stores=1, days=10), scientist)
    new = frame_csv(tmp_path / "feed.csv", [{"date": "2026-11-02", "sku": "BEV-001", "store": "Leeds", "units": 5}])
    holder = hold_store(db, 3)
    t0 = time.monotonic()
    p = run_cli("ingest", str(new), "--json", db=db)
    waited = time.monotonic() - t0
    holder.wait()
    assert p.returncode == 0, p.stderr
    assert '"rows_added": 1' in p.stdout
    assert waited > 1.0  # it really had to wait for the holder


def test_cli_ingest_gives_up_clearly_and_changes_nothing(db, tmp_path, scientist):
    ingest(demo_csv(tmp_path / "a.csv", n_skus=2, n_stores=1, days=10), scientist)
    before = store_snapshot(db)
    new = frame_csv(tmp_path / "feed.csv", [{"date": "2026-11-02", "sku": "BEV-001", "store": "Leeds", "units": 5}])
    holder = hold_store(db, 8)
    p = run_cli("ingest", str(new), db=db, env_extra={"SHELFCAST_LOCK_TIMEOUT": "2"})
    holder.kill()
    holder.wait()
    assert p.returncode == 2
    assert "in use by another Shelfcast process" in p.stderr and "Try again" in p.stderr
    assert store_snapshot(db) == before


def test_threads_in_one_process_write_one_at_a_time(db, tmp_path, scientist):
    """The app's sessions and its background jobs share one process: concurrent writes serialise."""
    from concurrent.futures import ThreadPoolExecutor

    files = [
        frame_csv(tmp_path / f"f{i}.csv", [{"date": f"2024-01-{d:02d}", "sku": f"S{i}", "units": d} for d in range(1, 8)])
        for i in range(6)
    ]
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda f: ingest(f, scientist), files))
    assert sorted(r.dataset_id for r in results) == list(range(1, 7))
    counts = store_snapshot(db)
    assert counts[0][0] == (42, 6 * 28)
