"""The process-wide cache of pure reads (core.store.db.memo / shared_read): twenty sessions
opening the same pages compute each read once per state of the store, and never see a state
older than the store's: a write by this process (any thread) or by another process (the CLI,
or DuckDB itself) is seen by the very next read. Each caller gets its own copy."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading

import duckdb

from core.access import Actor
from core.api import Shelfcast
from core.ingest import ingest
from core.store import db as db_mod
from core.store import session, unit
from tests.helpers import demo_csv, frame_csv, run_cli

ADMIN = Actor("boss", "admin")


def hits() -> int:
    return db_mod._shared.hits


def test_a_repeated_read_is_served_from_the_cache_as_a_copy(db, tmp_path, scientist):
    ingest(demo_csv(tmp_path / "a.csv", n_skus=3, n_stores=2, days=10), scientist)
    api = Shelfcast(db)
    first = api.data.series_summary()
    h = hits()
    second = api.data.series_summary()
    assert hits() == h + 1  # the second read did not touch the store
    assert second.equals(first) and second is not first
    second.iloc[:, 0] = "x"  # one session scribbling on its frame ...
    second["extra"] = 1
    assert api.data.series_summary().equals(first)  # ... changes nothing for the next one
    skus = api.data.skus()
    skus.append("MINE")
    assert "MINE" not in api.data.skus()


def test_a_write_in_this_process_is_seen_by_the_next_read(db, tmp_path, scientist):
    ingest(demo_csv(tmp_path / "a.csv", n_skus=2, n_stores=1, days=10), scientist)
    api = Shelfcast(db)
    with unit(db):  # as a page run: the unit's connection stays open across the write
        rows = api.data.counts.rows
        assert api.data.counts.rows == rows
        ingest(frame_csv(tmp_path / "b.csv", [{"date": "2026-11-02", "sku": "BEV-001", "store": "Leeds",
                                                "units": 5}]), scientist)
        assert api.data.counts.rows == rows + 1
    assert api.data.counts.rows == rows + 1
    assert api.users.current("ann") is None
    api.users.create_first_admin("boss", "boss-password-1")
    api.users.add(ADMIN, "ann", "viewer", "ann-password-1")
    assert api.users.current("ann") == Actor("ann", "viewer")
    api.users.set_role(ADMIN, "ann", "manager")
    assert api.users.current("ann") == Actor("ann", "manager")
    api.users.set_disabled(ADMIN, "ann", True)
    assert api.users.current("ann") is None


def test_a_write_by_another_process_is_seen_by_the_next_read(db, tmp_path, scientist):
    ingest(demo_csv(tmp_path / "a.csv", n_skus=2, n_stores=1, days=10), scientist)
    api = Shelfcast(db)
    rows = api.data.counts.rows
    skus = api.data.skus()
    assert api.data.counts.rows == rows and api.users.current("cli-made") is None
    assert not api.users.exist() and not api.users.exist()
    new = frame_csv(tmp_path / "feed.csv", [{"date": "2026-11-02", "sku": "NEW-001", "store": "Leeds", "units": 5}])
    p = run_cli("ingest", str(new), "--json", db=db)
    assert p.returncode == 0, p.stderr
    assert api.data.counts.rows == rows + 1
    assert api.data.skus() == sorted([*skus, "NEW-001"])
    p = run_cli("user", "add", "cli-made", "--role", "admin", db=db, input="cli-password-1\n")
    assert p.returncode == 0, p.stderr
    assert api.users.exist()
    assert api.users.current("cli-made") == Actor("cli-made", "admin")


def test_quick_raw_writes_by_another_process_are_each_seen(db, tmp_path, scientist):
    """Writes a few milliseconds apart (a file's mtime may tick coarsely): the size, the WAL and
    the change time still tell each one."""
    ingest(demo_csv(tmp_path / "a.csv", n_skus=2, n_stores=1, days=10), scientist)
    api = Shelfcast(db)
    api.users.create_first_admin("boss", "boss-password-1")
    h = api.users.current("boss")
    code = ("import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
            "c.execute(\"UPDATE users SET role = ? WHERE name = 'boss'\", [sys.argv[2]]); c.close()")
    for role in ("viewer", "manager", "scientist", "admin", "viewer"):
        subprocess.run([sys.executable, "-c", code, str(db), role], check=True)
        h = api.users.current("boss")
        assert h == Actor("boss", role)


def test_nothing_is_served_or_kept_while_a_write_runs(db, tmp_path, scientist):
    ingest(demo_csv(tmp_path / "a.csv", n_skus=2, n_stores=1, days=10), scientist)
    api = Shelfcast(db)
    api.users.create_first_admin("boss", "boss-password-1")
    assert api.users.current("boss") == Actor("boss", "admin")
    inside, go = threading.Event(), threading.Event()

    def writer() -> None:  # a raw write: sales go through rollups, an account's role does not
        with session(db, write=True) as s:
            db_mod.raw(s).execute("UPDATE users SET role = 'viewer' WHERE name = 'boss'")
            inside.set()
            go.wait(30)

    t = threading.Thread(target=writer)
    t.start()
    assert inside.wait(30)
    h = hits()
    assert api.users.current("boss") == Actor("boss", "admin")  # not committed: computed, not cached
    assert hits() == h
    go.set()
    t.join()
    assert api.users.current("boss") == Actor("boss", "viewer")  # committed: the next read sees it


def test_concurrent_asks_for_one_missing_read_compute_it_once(db, tmp_path):
    calls = []
    barrier = threading.Barrier(8)

    def slow() -> int:
        calls.append(1)
        threading.Event().wait(0.3)
        return 42

    duckdb.connect(str(db)).close()
    out = []

    def ask() -> None:
        barrier.wait()
        out.append(db_mod.memo(db, ("test-once",), slow))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [42] * 8 and len(calls) == 1


def test_a_read_with_a_frame_argument_is_not_cached(db):
    """A DataFrame's repr is abbreviated, so two frames could share one key: such calls skip."""
    import pandas as pd

    class Area:
        def __init__(self) -> None:
            self.db = db
            self.n = 0

        @db_mod.shared_read
        def read(self, df: pd.DataFrame) -> int:
            self.n += 1
            return len(df)

    duckdb.connect(str(db)).close()
    a = Area()
    assert a.read(pd.DataFrame({"x": range(100)})) == 100
    assert a.read(pd.DataFrame({"x": range(100)})) == 100
    assert a.n == 2


def test_a_per_day_read_is_keyed_by_the_date_and_its_settings(db, monkeypatch):
    import datetime as dt

    class Area:
        def __init__(self) -> None:
            self.db = db
            self.n = 0

        @db_mod.shared_read(per_day=True, env=("SHELFCAST_TEST_SETTING",))
        def read(self) -> tuple:
            self.n += 1
            return (self.n,)

    duckdb.connect(str(db)).close()
    a = Area()
    assert a.read() == a.read() == (1,)
    monkeypatch.setenv("SHELFCAST_TEST_SETTING", "2")
    assert a.read() == (2,)

    class Tomorrow(dt.date):
        @classmethod
        def today(cls):
            return dt.date.today() + dt.timedelta(days=1)

    monkeypatch.setattr(db_mod, "date", Tomorrow)
    assert a.read() == (3,)


def test_a_revoked_or_expired_share_link_stops_at_once(db, monkeypatch):
    from datetime import timedelta

    from core import sharing, users

    users.create_first_admin("boss", "boss-password-1", db)
    link = sharing.create(ADMIN, "exec", "1d", db)
    token = link.url.split("share=", 1)[1].split("&", 1)[0]
    assert sharing.resolve(token, db).via_link
    h = hits()
    assert sharing.resolve(token, db).via_link
    assert hits() > h  # the link's row came from the cache
    real_now = sharing.now
    monkeypatch.setattr(sharing, "now", lambda: real_now() + timedelta(days=2))
    assert sharing.resolve(token, db) is None  # expiry is checked against the clock, not cached
    monkeypatch.setattr(sharing, "now", real_now)
    assert sharing.resolve(token, db).via_link
    sharing.revoke(ADMIN, link.info.id, db)
    assert sharing.resolve(token, db) is None


def test_a_signed_out_or_disabled_session_cookie_stops_at_once(db):
    from core import browser_sessions, users

    users.create_first_admin("boss", "boss-password-1", db)
    users.add_user(ADMIN, "ann", "viewer", "ann-password-1", db)
    _, t1 = browser_sessions.sign_in("ann", "ann-password-1", db)
    _, t2 = browser_sessions.sign_in("ann", "ann-password-1", db)
    assert browser_sessions.resolve(t1, db) == Actor("ann", "viewer")
    assert browser_sessions.resolve(t1, db) == Actor("ann", "viewer")
    assert browser_sessions.sign_out(t1, db)
    assert browser_sessions.resolve(t1, db) is None
    assert browser_sessions.resolve(t2, db) == Actor("ann", "viewer")
    users.set_disabled(ADMIN, "ann", True, db)
    assert browser_sessions.resolve(t2, db) is None


def test_a_sign_in_keeps_every_other_read_cached(db, tmp_path, scientist):
    """A sign-in writes (the failed-attempt counter, the browser session's row), and used to make
    every session recompute every page's reads: with twenty people signing in, Monitor ran cold
    twenty times over. Those writes touch no table the other reads use; the account reads still
    see them at once."""
    from core import browser_sessions, sharing, users

    ingest(demo_csv(tmp_path / "a.csv", n_skus=2, n_stores=1, days=10), scientist)
    api = Shelfcast(db)
    api.users.create_first_admin("boss", "boss-password-1")
    users.add_user(ADMIN, "ann", "viewer", "ann-password-1", db)
    summary = api.data.series_summary()
    for in_unit in (False, True):  # outside a page run, and inside one (its connection stays open)
        with unit(db) if in_unit else contextlib.nullcontext():
            _, token = browser_sessions.sign_in("ann", "ann-password-1", db)
            link = sharing.create(ADMIN, "exec", "1d", db)
            h = hits()
            assert api.data.series_summary().equals(summary)
            assert hits() == h + 1  # served from the cache: the sign-in did not invalidate it
            assert browser_sessions.resolve(token, db) == Actor("ann", "viewer")  # ... the auth reads see it
            assert sharing.resolve(link.url.split("share=", 1)[1], db).via_link
        h = hits()
        assert api.data.series_summary().equals(summary)  # also after the page run closed the file
        assert hits() == h + 1
    users.set_role(ADMIN, "ann", "manager", db)
    assert api.users.current("ann") == Actor("ann", "manager")


def test_another_process_writing_after_a_sign_in_is_still_seen(db, tmp_path, scientist):
    """The cache accounts for a sign-in's change of the file (and the checkpoint closing the file
    makes of it) and for nothing else: a write by another process right after is seen."""
    from core import browser_sessions, users

    ingest(demo_csv(tmp_path / "a.csv", n_skus=2, n_stores=1, days=10), scientist)
    api = Shelfcast(db)
    users.create_first_admin("boss", "boss-password-1", db)
    assert api.data.freq == "D"
    code = ("import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
            "c.execute(\"UPDATE settings SET value = ? WHERE key = 'freq'\", [sys.argv[2]]); c.close()")
    for freq in ("W-MON", "MS", "D"):
        browser_sessions.sign_in("boss", "boss-password-1", db)
        with unit(db):
            browser_sessions.sign_in("boss", "boss-password-1", db)
            assert api.data.freq != freq
        subprocess.run([sys.executable, "-c", code, str(db), freq], check=True)
        assert api.data.freq == freq
    assert api.users.current("cli-made") is None
    p = run_cli("--user", "boss", "user", "add", "cli-made", "--role", "viewer", db=db, input="cli-password-1\n")
    assert p.returncode == 0, p.stderr
    assert api.users.current("cli-made") == Actor("cli-made", "viewer")


def test_sign_ins_while_other_threads_read_recompute_nothing(db, tmp_path, scientist):
    """Twenty sessions read while others sign in: a read that looks at the file while a sign-in
    commits (or a page run's close checkpoints it) must not take the half-made change for another
    process's write."""
    from core import browser_sessions, users

    ingest(demo_csv(tmp_path / "a.csv", n_skus=2, n_stores=1, days=10), scientist)
    users.create_first_admin("boss", "boss-password-1", db)

    class Area:
        def __init__(self) -> None:
            self.db = db
            self.n = 0

        @db_mod.shared_read
        def read(self) -> str | None:
            self.n += 1
            from core import data

            return data.freq(db)

    a = Area()
    assert a.read() == "D" and a.n == 1
    stop = threading.Event()
    wrong: list = []

    def reader() -> None:
        while not stop.is_set():
            if a.read() != "D":
                wrong.append(1)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for t in readers:
        t.start()
    try:
        for i in range(6):
            with unit(db) if i % 2 else contextlib.nullcontext():
                browser_sessions.sign_in("boss", "boss-password-1", db)
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert not wrong and a.n == 1


def test_arrow_tables_are_shared_as_they_are_and_counted_by_their_bytes():
    """An Arrow table cannot be changed in place, so the cache hands it out without a copy, and
    its buffers count towards the cache's bound (sys.getsizeof sees only the wrapper)."""
    import pyarrow as pa

    from core.store import db as dbm

    t = pa.table({"a": list(range(10_000))})
    assert dbm._fresh(t) is t
    assert dbm._size(t) >= 80_000


def test_a_best_of_versions_per_series_table_is_cached_too(db, monkeypatch):
    """The Train page's per-series table was keyed by the whole VersionInfo, and a best-of
    version's metrics nest too deep to be a cache key: every warm Train view recomputed it
    (0.35 s at 100,000 series). It is keyed by the version's id and model."""
    import dataclasses

    import pandas as pd

    from core import forecasts

    made = []
    monkeypatch.setattr(forecasts, "series_table", lambda vid, model, db=None: made.append(vid) or pd.DataFrame({"sku": ["A"]}))
    deep = {"measured": {"method": "out-of-selection", "by": {"fold": {"3": {"wape": 0.5}}}}}
    v = forecasts.VersionInfo(**{f.name: None for f in dataclasses.fields(forecasts.VersionInfo)})
    v = dataclasses.replace(v, id=7, model="best", metrics=deep)
    assert not db_mod._plain((v,))  # what made the old key skip the cache
    api = Shelfcast(db)
    api.versions.series_table(v)
    api.versions.series_table(v)
    assert made == [7]
