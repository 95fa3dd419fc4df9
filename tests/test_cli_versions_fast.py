"""`shelfcast versions --json` reads through plain DuckDB (core.store.db.lean + core.store.listing):
no SQLAlchemy, SQLModel or pandas in the process, and exactly what the full path lists."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from core import forecasts, registry, training
from core.access import Actor
from core.ingest import ingest
from core.store import db as db_mod
from core.store import session
from tests.helpers import demo_csv, run_cli

ADMIN = Actor("boss", "admin")
HEAVY = ("pandas", "sqlalchemy", "sqlmodel", "numpy")


def listed(db: Path) -> list[dict]:
    p = run_cli("versions", "--json", db=db)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def modules_loaded(db: Path) -> list[str]:
    code = ("import sys; from core.cli import main; main(['versions', '--json']); "
            "print(sorted({m.split('.')[0] for m in sys.modules}), file=sys.stderr)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env={**__import__("os").environ, "SHELFCAST_DB": str(db)})
    assert p.returncode == 0, p.stderr
    return [m for m in HEAVY if f"'{m}'" in p.stderr.strip().splitlines()[-1]]


def test_versions_lists_what_the_full_path_lists_without_heavy_imports(db, tmp_path, scientist):
    ingest(demo_csv(tmp_path / "a.csv", n_skus=2, n_stores=1, days=60), scientist)
    v1 = training.train(scientist, "naive", horizon=7, folds=1, db=db)
    training.train(scientist, "naive", horizon=7, folds=1, db=db)
    registry.promote(ADMIN, v1, "first", db=db)
    full = json.loads(json.dumps(forecasts.list_versions(db), default=str))
    assert listed(db) == full  # the store's schema mark is this code's: the lean path
    assert [r["active"] for r in full] == [False, True]
    assert modules_loaded(db) == []


def test_a_store_from_other_store_code_takes_the_full_path(db, tmp_path, scientist):
    ingest(demo_csv(tmp_path / "a.csv", n_skus=2, n_stores=1, days=60), scientist)
    training.train(scientist, "naive", horizon=7, folds=1, db=db)
    with session(db, write=True) as s:
        db_mod.raw(s).execute("UPDATE settings SET value = 'other' WHERE key = 'schema_code'")
    with db_mod.lean(db) as con:
        assert con is None
    full = json.loads(json.dumps(forecasts.list_versions(db), default=str))
    assert listed(db) == full
    with db_mod.lean(db) as con:  # the full path brought the mark up to date
        assert con is not None


def test_a_version_left_running_is_marked_interrupted(db, tmp_path, scientist):
    """The lean listing sees a run left 'running' by a dead process and takes the full path."""
    import socket

    from core.store import train_jobs
    from core.store import versions as vstore

    ingest(demo_csv(tmp_path / "a.csv", n_skus=2, n_stores=1, days=60), scientist)
    training.train(scientist, "naive", horizon=7, folds=1, db=db)
    listed(db)
    with session(db, write=True) as s:
        v = vstore.add_version(s, vstore.Version(kind="naive", horizon=7, folds=1, freq="D", created_by="sam"))
        train_jobs.add(s, v.id, 2**22 + 12345, socket.gethostname())  # no such pid
        vid = v.id
    with db_mod.lean(db) as con:
        assert con is not None  # the lean path is the one under test
    rows = listed(db)
    assert rows[0]["id"] == vid
    assert rows[0]["status"] == "interrupted"


def test_no_store_yet(tmp_path):
    db = tmp_path / "none.duckdb"
    assert listed(db) == []
