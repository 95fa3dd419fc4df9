"""Faults: `kill -9` of a CLI ingest at random points leaves the store exactly as before or
exactly as after (never between, never doubled), and it opens cleanly afterwards."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.access import SYSTEM
from core.demo import DemoSpec, generate
from core.ingest import ingest
from tests.helpers import store_snapshot

pytestmark = pytest.mark.slow


def _shelfcast(*args: str, db: Path) -> subprocess.Popen:
    env = dict(os.environ, SHELFCAST_DB=str(db))
    exe = Path(sys.executable).parent / "shelfcast"
    return subprocess.Popen([str(exe), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_kill_9_during_cli_ingest_is_all_or_nothing(db, tmp_path):
    frame = generate(DemoSpec(n_skus=12, n_stores=3, days=300))
    first, second = frame[frame.date < "2026-09-01"], frame.copy()
    second["units"] = second["units"] + 1  # overlapping dates: an upsert, plus new dates
    a, b = tmp_path / "first.parquet", tmp_path / "second.csv"
    first.to_parquet(a, index=False)
    second.to_csv(b, index=False)
    ingest(a, SYSTEM)
    before = store_snapshot(db)

    # How long a full run takes here, to spread the kills over it.
    t0 = time.monotonic()
    probe_db = tmp_path / "probe.duckdb"
    ingest(a, SYSTEM, db=probe_db)
    p = _shelfcast("ingest", str(b), db=probe_db)
    assert p.wait(300) == 0
    full = time.monotonic() - t0
    after = store_snapshot(probe_db)
    assert after != before

    rng = random.Random(42)
    outcomes = []
    for _ in range(5):
        p = _shelfcast("ingest", str(b), db=db)
        time.sleep(rng.uniform(0.05, 1.0) * full)
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
        p.wait()
        now = store_snapshot(db)  # the store opens (WAL replayed or discarded) ...
        assert now in (before, after), now  # ... and is whole: before or after, never between
        outcomes.append("after" if now == after else "before")
        if now == after:  # start the next round from the old state again
            db.unlink()
            wal = db.with_name(db.name + ".wal")
            if wal.exists():
                wal.unlink()
            from core.store import db as store_db

            store_db.forget(db)
            ingest(a, SYSTEM)
            assert store_snapshot(db) == before
    assert "before" in outcomes  # at least one kill landed mid-ingest


def test_kill_9_during_cli_training_never_leaves_a_ready_looking_version(db, tmp_path):
    """Killed at random points, a run is either fully there (ready, with every forecast, metric
    and artefact) or not ready at all; the next start marks orphans interrupted."""
    from core import training
    from core.store import session
    from core.store import versions as vs

    frame = generate(DemoSpec(n_skus=6, n_stores=2, days=240))
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    ingest(tmp_path / "d.parquet", SYSTEM)
    t0 = time.monotonic()
    assert _shelfcast("train", "--model", "sklearn", "--horizon", "14", "--folds", "2", db=db).wait(300) == 0
    full = time.monotonic() - t0
    rng = random.Random(7)
    for _ in range(5):
        p = _shelfcast("train", "--model", "sklearn", "--horizon", "14", "--folds", "2", db=db)
        time.sleep(rng.uniform(0.1, 1.0) * full)
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
        p.wait()
    training.mark_interrupted(db)
    with session(db) as s:
        versions = vs.list_versions(s)
        for v in versions:
            fc = vs.forecasts(s, v.id)
            ms = vs.series_metrics(s, v.id)
            if v.status == "ready":
                assert len(fc) == 12 * 14 and not ms.empty and vs.artifacts(s, v.id)
            else:
                assert v.status == "interrupted" and fc.empty and ms.empty and not vs.artifacts(s, v.id)
    statuses = [v.status for v in versions]
    assert statuses.count("interrupted") >= 1  # at least one kill landed mid-run
    assert "running" not in statuses
