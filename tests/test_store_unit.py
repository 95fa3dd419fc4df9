"""One connection per page run (core.store.db.unit): the reads of a run share one open of the
file, writes inside still commit at once and roll back alone, and the file is free for another
process as soon as the run ends."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from core.ingest import ingest
from core.store import db as store_db
from core.store import session, unit
from core.store.db import raw
from tests.helpers import demo_csv, frame_csv, run_cli


def _count_connects(path) -> list[int]:
    opened = [0]
    event.listen(store_db._engine(path), "connect", lambda *_a: opened.__setitem__(0, opened[0] + 1))
    return opened


def test_reads_in_a_unit_open_the_file_once(db, tmp_path, scientist):
    from core.api import Shelfcast

    ingest(demo_csv(tmp_path / "a.csv", n_skus=3, n_stores=2, days=20), scientist)
    opened = _count_connects(db)
    api = Shelfcast(db)
    api.data.counts, api.data.skus(), api.data.stores(), api.monitoring.catalog()
    without = opened[0]
    with session(db, write=True) as s:  # a write: the shared read cache must compute again
        raw(s).execute("CREATE TABLE bump (x INTEGER)")
    opened[0] = 0
    with api.unit():
        api.data.counts, api.data.skus(), api.data.stores(), api.monitoring.catalog()
    assert without >= 4
    assert opened[0] == 1


def test_writes_in_a_unit_commit_and_fail_alone(db):
    with unit(db):
        with session(db, write=True) as s:
            raw(s).execute("CREATE TABLE t (x INTEGER)")
            raw(s).execute("INSERT INTO t VALUES (1)")
        with pytest.raises(RuntimeError):
            with session(db, write=True) as s:
                raw(s).execute("INSERT INTO t VALUES (2)")
                raise RuntimeError("half-done")
        with session(db) as s:
            assert raw(s).execute("SELECT list(x) FROM t").fetchone()[0] == [1]
            with session(db) as inner:  # a session inside a session keeps its own transaction
                assert raw(inner).execute("SELECT count(*) FROM t").fetchone()[0] == 1
    # committed for good: seen by a fresh connection after the unit
    with session(db) as s:
        assert raw(s).execute("SELECT list(x) FROM t").fetchone()[0] == [1]


@pytest.mark.parametrize("during", [False, True])
def test_the_cli_waits_during_a_unit_and_gets_the_file_after(db, tmp_path, scientist, during):
    """A page run holds the file like any holder (the CLI waits, bounded); once the run ends the
    file is free again."""
    ingest(demo_csv(tmp_path / "a.csv", n_skus=2, n_stores=1, days=10), scientist)
    new = frame_csv(tmp_path / "feed.csv", [{"date": "2026-11-02", "sku": "BEV-001", "store": "Leeds", "units": 5}])

    def cli():
        return run_cli("ingest", str(new), "--json", db=db, env_extra={"SHELFCAST_LOCK_TIMEOUT": "1"})

    with unit(db):
        with session(db) as s:
            raw(s).execute("SELECT count(*) FROM sales").fetchone()
        p = cli() if during else None
    p = p or cli()
    if during:
        assert p.returncode == 2 and "in use by another Shelfcast process" in p.stderr
    else:
        assert p.returncode == 0, p.stderr
        assert '"rows_added": 1' in p.stdout
