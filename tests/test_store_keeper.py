"""The server keeps the store open for a moment after its last page run that touched it
(SHELFCAST_STORE_LINGER, set by `shelfcast serve`): the next run's connection opens against the
database already open instead of opening the file. Another process still gets the file once the
server has been idle that long, and the read cache takes the keeper's closing checkpoint for what
it is, not for another process's write."""

from __future__ import annotations

import subprocess
import sys
import time

from core.api import Shelfcast
from core.ingest import ingest
from core.store import db as db_mod
from core.store import session
from tests.helpers import demo_csv, frame_csv, run_cli

TRY_OPEN = ("import duckdb, sys\n"
            "try:\n    duckdb.connect(sys.argv[1]).close()\nexcept duckdb.IOException:\n    sys.exit(3)\n")


def foreign_open(db) -> int:
    """0 if another process could open the store now, 3 if this one holds it."""
    return subprocess.run([sys.executable, "-c", TRY_OPEN, str(db)], timeout=60).returncode


def test_the_store_stays_open_for_the_linger_then_another_process_gets_it(db, tmp_path, scientist, monkeypatch):
    ingest(demo_csv(tmp_path / "a.csv", n_skus=2, n_stores=1, days=10), scientist)
    monkeypatch.setenv("SHELFCAST_STORE_LINGER", "1.5")
    api = Shelfcast(db)
    freq = api.data.freq
    db_mod._shared.clear()
    with session(db) as s:  # a page run's read: the keeper opens beside it
        s.connection()
    assert db.resolve() in db_mod._keeper.conns
    assert foreign_open(db) == 3  # held between runs ...
    t = time.monotonic()
    while db.resolve() in db_mod._keeper.conns and time.monotonic() - t < 10:
        time.sleep(0.1)
    assert db.resolve() not in db_mod._keeper.conns and time.monotonic() - t >= 1.0
    assert foreign_open(db) == 0  # ... and let go after the linger
    h = db_mod._shared.hits
    assert api.data.freq == freq  # computed after the clear ...
    assert api.data.freq == freq and db_mod._shared.hits == h + 1  # ... then served from the cache


def test_a_cli_ingest_while_the_server_lingers_waits_and_is_seen(db, tmp_path, scientist, monkeypatch):
    ingest(demo_csv(tmp_path / "a.csv", n_skus=2, n_stores=1, days=10), scientist)
    monkeypatch.setenv("SHELFCAST_STORE_LINGER", "1")
    api = Shelfcast(db)
    rows = api.data.counts.rows
    with session(db) as s:
        s.connection()
    assert db.resolve() in db_mod._keeper.conns
    new = frame_csv(tmp_path / "feed.csv", [{"date": "2026-11-02", "sku": "NEW-001", "store": "Leeds", "units": 5}])
    p = run_cli("ingest", str(new), "--json", db=db)  # waits for the keeper to let go, then loads
    assert p.returncode == 0, p.stderr
    assert api.data.counts.rows == rows + 1
    assert "NEW-001" in api.data.skus()


def test_no_linger_keeps_nothing_open(db, tmp_path, scientist, monkeypatch):
    monkeypatch.delenv("SHELFCAST_STORE_LINGER", raising=False)
    ingest(demo_csv(tmp_path / "a.csv", n_skus=2, n_stores=1, days=10), scientist)
    with session(db) as s:
        s.connection()
    assert db.resolve() not in db_mod._keeper.conns
    assert foreign_open(db) == 0


def test_a_server_that_never_rests_still_lets_another_process_in(db, tmp_path, scientist, monkeypatch):
    """A training run's progress and pages polling it keep a server busy for minutes: the keeper
    must not hold the file for all of it (a CLI command, or a test reading the store, waited in
    vain for a run that was making progress)."""
    import threading

    ingest(demo_csv(tmp_path / "a.csv", n_skus=2, n_stores=1, days=10), scientist)
    monkeypatch.setenv("SHELFCAST_STORE_LINGER", "30")
    stop = threading.Event()

    def busy() -> None:  # a connection opened and closed every 50 ms, never idle for the linger
        while not stop.is_set():
            with session(db) as s:
                s.connection()
            time.sleep(0.05)

    t = threading.Thread(target=busy, daemon=True)
    t.start()
    try:
        time.sleep(0.3)
        assert db.resolve() in db_mod._keeper.conns
        started, got = time.monotonic(), False
        while not got and time.monotonic() - started < 15:
            got = foreign_open(db) == 0
        assert got, "another process never got the file while this one stayed busy"
    finally:
        stop.set()
        t.join()
