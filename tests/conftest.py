"""Every test gets its own real DuckDB file; thread caps keep 2-core fits from oversubscribing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")
# The demo a user starts ends last Sunday (core.demo.recent_end); the suite pins the generator's
# reference end so its figures and dates do not move with the calendar. Servers inherit it.
os.environ.setdefault("SHELFCAST_DEMO_END", "2026-11-01")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "store.duckdb"
    monkeypatch.setenv("SHELFCAST_DB", str(path))
    return path


@pytest.fixture
def scientist():
    from core.access import Actor

    return Actor("sam", "scientist")


@pytest.fixture
def manager():
    from core.access import Actor

    return Actor("maya", "manager")


@pytest.fixture
def viewer():
    from core.access import Actor

    return Actor("vic", "viewer")


@pytest.fixture(scope="session")
def monitored_file(tmp_path_factory) -> Path:
    """The monitoring pages' and worklist tests' store in service, built once per run."""
    from core.access import Actor
    from tests.monitor_helpers import build_monitored

    return build_monitored(tmp_path_factory.mktemp("monitored") / "built.duckdb", Actor("sam", "scientist"))


@pytest.fixture
def monitored(monitored_file, db) -> Path:
    """A private copy of the store in service, at the test's `db` path."""
    import shutil

    shutil.copy(monitored_file, db)
    return db
