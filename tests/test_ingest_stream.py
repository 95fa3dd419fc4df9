"""A first load of a CSV past SHELFCAST_INGEST_FIRST_LOAD_MB is read straight into the store
(core.ingest_stream): it must give the very store the ordinary path gives, and any file that is
not plain (a row to refuse, plan rows, a duplicate, a cell the typed reader refuses) must end as
the ordinary path ends it: the same message, the same store, nothing left behind."""

from __future__ import annotations

import pandas as pd
import pytest

from core import ingest as ingest_mod
from core import ingest_stream
from core.errors import ValidationError
from core.ingest import ingest
from core.store import session
from tests.helpers import demo_csv, frame_csv, store_snapshot
from tests.test_ingest_first_load import (
    _contents,
    _messy,
    _no_temps,
    _ordinary_into,
    _refused_the_ordinary_way,
)


@pytest.fixture
def streamed(monkeypatch):
    """Every CSV first load is 'big' (streamed); records whether the streamed path loaded it
    and whether the private file of the ordinary path was opened."""
    seen = {"streamed": 0, "private": 0}
    monkeypatch.setattr(ingest_mod, "FIRST_LOAD_BYTES", 0)
    first_load, private = ingest_stream._first_load, ingest_mod._private

    def counting_first_load(*a, **k):
        out = first_load(*a, **k)
        seen["streamed"] += out is not None
        return out

    monkeypatch.setattr(ingest_stream, "_first_load", counting_first_load)
    monkeypatch.setattr(ingest_mod, "_private", lambda out: seen.__setitem__("private", seen["private"] + 1) or private(out))
    return seen


def _spelled(path):
    """Two spellings of one series (' A' and 'A'), a blank store, regressors: a plain file."""
    rows = [{"date": d.date(), "sku": " A" if d.day % 2 else "A", "store": "" if d.day < 5 else "", "units": d.day % 4,
             "price": 1.5 + d.day, "promo": d.day % 2} for d in pd.date_range("2024-03-01", periods=30, freq="D")]
    rows += [{"date": d.date(), "sku": "B", "store": "S2", "units": 3, "price": 2.0, "promo": 0}
             for d in pd.date_range("2024-03-01", periods=30, freq="D")]
    return frame_csv(path, rows)


@pytest.mark.parametrize("make", ["demo", "spelled", "weekly"])
def test_a_streamed_first_load_gives_the_store_the_ordinary_path_gives(tmp_path, scientist, monkeypatch, streamed, make):
    if make == "demo":
        f = demo_csv(tmp_path / "d.csv", n_skus=4, n_stores=3, days=90)
    elif make == "spelled":
        f = _spelled(tmp_path / "s.csv")
    else:
        f = frame_csv(tmp_path / "w.csv", [{"date": d.date(), "sku": f"S{k}", "store": "X", "units": k + d.day % 3}
                                            for k in range(3) for d in pd.date_range("2024-01-07", periods=20, freq="W-SUN")])
    fast, plain = tmp_path / "fast.duckdb", tmp_path / "plain.duckdb"
    r_fast = ingest(f, scientist, db=fast)
    assert streamed == {"streamed": 1, "private": 0}
    r_plain = _ordinary_into(f, scientist, plain)
    assert r_fast.to_json() == r_plain.to_json()
    assert r_fast.known == r_plain.known
    assert _contents(fast) == _contents(plain)
    _no_temps(fast)
    # and a second upload (the ordinary path: the store has series) agrees on both
    assert ingest(f, scientist, db=fast).to_json() == ingest(f, scientist, db=plain).to_json()
    assert _contents(fast) == _contents(plain)


def test_plan_rows_go_the_ordinary_way_and_give_its_store(tmp_path, scientist, monkeypatch, streamed):
    f = _messy(tmp_path / "m.csv")
    fast, plain = tmp_path / "fast.duckdb", tmp_path / "plain.duckdb"
    r_fast = ingest(f, scientist, db=fast)
    assert streamed == {"streamed": 0, "private": 1}
    r_plain = _ordinary_into(f, scientist, plain)
    assert r_fast.to_json() == r_plain.to_json()
    assert _contents(fast) == _contents(plain)
    _no_temps(fast)


@pytest.mark.parametrize("problem", ["word", "duplicate", "negative", "no_sku", "year"])
def test_a_refused_big_first_load_says_what_the_ordinary_path_says(db, tmp_path, scientist, monkeypatch, streamed, problem):
    rows = [{"date": f"2024-01-{d:02d}", "sku": "A", "store": "S", "units": d} for d in range(1, 29)]
    if problem == "word":
        rows[20]["units"] = "lots"  # past nothing: the typed read refuses it
    elif problem == "duplicate":
        rows.append(dict(rows[5]))
    elif problem == "negative":
        rows[7]["units"] = -2
    elif problem == "no_sku":
        rows[9]["sku"] = "  "
    else:
        rows[11]["date"] = "2204-01-12"
    f = frame_csv(tmp_path / "bad.csv", rows)
    before, plain = _refused_the_ordinary_way(db, f, scientist)
    with pytest.raises(ValidationError) as fast:
        ingest(f, scientist)
    assert str(fast.value) == plain and "line" in str(fast.value)
    assert streamed["streamed"] == 0
    assert store_snapshot(db) == before
    _no_temps(db)


def test_a_file_changed_between_its_two_reads_is_refused_and_nothing_is_loaded(db, tmp_path, scientist, monkeypatch,
                                                                               streamed):
    """The names come from one read and the rows from another: a row the first did not count
    (the file grew in between) refuses the upload; the store is as it was."""
    f = frame_csv(tmp_path / "g.csv", [{"date": f"2024-01-{d:02d}", "sku": "A", "store": "S", "units": d}
                                      for d in range(1, 21)])
    with session(db):
        pass
    before = store_snapshot(db)
    series = ingest_stream._series

    def then_grow(*a, **k):
        out = series(*a, **k)
        with open(f, "a") as fh:
            fh.write("2024-01-21,A,S,5\n")
        return out

    monkeypatch.setattr(ingest_stream, "_series", then_grow)
    with pytest.raises(ValidationError, match="changed while it was being read"):
        ingest(f, scientist)
    assert store_snapshot(db) == before
    _no_temps(db)


@pytest.mark.slow
def test_kill_9_during_a_streamed_first_load_leaves_the_store_empty_or_whole(db, tmp_path):
    """`kill -9` of `shelfcast ingest` at random points of a streamed first load: the store opens
    afterwards, either as it was (no series, no sales, no dataset) or with the whole file."""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    f = demo_csv(tmp_path / "d.csv", n_skus=60, n_stores=10, days=400)
    env = dict(os.environ, SHELFCAST_DB=str(db), SHELFCAST_INGEST_FIRST_LOAD_MB="0")
    exe = [str(Path(sys.executable).parent / "shelfcast"), "ingest", str(f)]
    with session(db):
        pass
    before = store_snapshot(db)
    t0 = time.monotonic()
    probe = tmp_path / "probe.duckdb"
    assert subprocess.run(exe, env=dict(env, SHELFCAST_DB=str(probe)), capture_output=True).returncode == 0
    full = time.monotonic() - t0
    after = store_snapshot(probe)
    rng, outcomes = random.Random(7), []
    for _ in range(4):
        p = subprocess.Popen(exe, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.0) * full)
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
        p.wait()
        now = store_snapshot(db)
        assert now in (before, after)
        outcomes.append(now == after)
        if now == after:
            from core.store import db as store_db

            for q in (db, db.with_name(db.name + ".wal")):
                q.unlink(missing_ok=True)
            store_db.forget(db)
            with session(db):
                pass
    assert False in outcomes  # at least one kill landed mid-load


@pytest.mark.parametrize("big", [False, True])  # backs out to the in-memory checks / to the ordinary path
def test_a_load_that_backs_out_after_its_insert_leaves_the_ids_the_ordinary_path_gives(tmp_path, scientist,
                                                                                        monkeypatch, big):
    """Plan rows past the sample (units blank, numeric price) fail the streamed insert, after its
    series and dataset took their ids: a sequence's draws outlive a rollback, so the ids are
    only drawn once a load stands, and the path taken then numbers them as the ordinary one."""
    rows = [{"date": d.date(), "sku": sku, "store": "S", "units": d.day % 5, "price": 2.0}
            for sku in ("A", "B") for d in pd.date_range("2024-01-01", periods=ingest_mod.SAMPLE, freq="D")]
    rows += [{"date": d.date(), "sku": "B", "store": "S", "units": None, "price": 1.5}
             for d in pd.date_range("2029-06-24", periods=3, freq="D")]
    f = frame_csv(tmp_path / "p.csv", rows)
    monkeypatch.setattr(ingest_mod, "YEARS_AHEAD", 30)
    fast, plain = tmp_path / "fast.duckdb", tmp_path / "plain.duckdb"
    if big:
        monkeypatch.setattr(ingest_mod, "FIRST_LOAD_BYTES", 0)
    r_fast = ingest(f, scientist, db=fast)
    r_plain = _ordinary_into(f, scientist, plain)
    assert r_fast.to_json() == r_plain.to_json() and r_fast.dataset_id == 1
    assert _contents(fast) == _contents(plain)
    _no_temps(fast)
