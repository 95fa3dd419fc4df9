"""A first load (a store without series) is checked inside the store's write transaction and
written once, straight into the store (core.ingest._first_load): it must give the very store the
ordinary path gives, refuse a bad file with the same message and leave nothing behind."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core import ingest as ingest_mod
from core.errors import ValidationError
from core.ingest import ingest
from core.store import session
from tests.helpers import demo_csv, frame_csv, store_snapshot

TABLES = (
    "SELECT series_id, sku, store FROM series ORDER BY ALL",
    "SELECT * FROM sales ORDER BY ALL",  # its regressor slots too
    "SELECT * FROM regressor_values ORDER BY ALL",
    "SELECT * FROM regressor_names ORDER BY ALL",
    "SELECT * FROM series_stats ORDER BY ALL",
    "SELECT * FROM rollup_marks ORDER BY ALL",
    "SELECT id, file_name, sha256, rows_added, rows_updated, series_count, first_date, last_date, freq, columns "
    "FROM datasets ORDER BY id",
    "SELECT key, value FROM settings WHERE key = 'freq'",
)


def _contents(db: Path) -> list:
    with session(db) as s:
        con = s.connection().connection.dbapi_connection
        return [con.execute(q).fetchall() for q in TABLES]


def _ordinary(monkeypatch) -> None:
    """Every ingest takes the ordinary path (private file, then merge)."""
    monkeypatch.setattr(ingest_mod, "_first_load",
                        lambda *a, **k: (None, *_store_state(a[3])))


def _store_state(db):
    from core.store import datasets, sales

    with session(db) as s:
        return datasets.get_setting(s, "freq"), sales.date_range(s)


def _ordinary_into(f: Path, actor, db: Path):
    """`f` loaded into `db` the ordinary way (private file, then merge): what a first load must equal."""
    with pytest.MonkeyPatch.context() as m:
        _ordinary(m)
        return ingest(f, actor, db=db)


def _refused_the_ordinary_way(db: Path, f: Path, actor) -> tuple[object, str]:
    """The store `db` as it was (opened, empty) and the ordinary path's message refusing `f`."""
    with session(db):
        pass
    before = store_snapshot(db)
    with pytest.MonkeyPatch.context() as m:
        _ordinary(m)
        with pytest.raises(ValidationError) as plain:
            ingest(f, actor)
    return before, str(plain.value)


def _no_temps(db: Path) -> None:
    """Nothing of an attempt stays on the store's connection (the app's keeper serves on from it)."""
    with session(db) as s:
        con = s.connection().connection.dbapi_connection
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM duckdb_views() WHERE temporary AND NOT internal").fetchone()[0] == 0


def _no_private_file(monkeypatch) -> None:
    def refuse(out):
        raise AssertionError("a first load must not check the file in a private database")

    monkeypatch.setattr(ingest_mod, "_private", refuse)


def _messy(path: Path) -> Path:
    """Plan rows (units blank, promo set; one series has nothing else), a blank store, yes/no
    promo words and a regressor left blank now and then: every kind of row the merge sorts."""
    rows = []
    for sku in ("B", "A"):
        for d in pd.date_range("2024-01-01", periods=20, freq="D"):
            rows.append({"date": d.date(), "sku": sku, "store": "" if sku == "A" else "S1",
                         "units": (d.day * 3) % 7, "price": None if d.day % 5 == 0 else 2.5 + d.day,
                         "promo": "yes" if d.day % 3 == 0 else "no"})
    for d in pd.date_range("2024-01-21", periods=3, freq="D"):
        rows.append({"date": d.date(), "sku": "B", "store": "S1", "units": None, "price": 3.0, "promo": "yes"})
        rows.append({"date": d.date(), "sku": "PLAN", "store": "S1", "units": None, "price": 1.0, "promo": "no"})
    return frame_csv(path, rows)


@pytest.mark.parametrize("make", ["demo", "messy"])
@pytest.mark.parametrize("cells_mb", [256, 0])  # names from the kept cells / from the file again (a big file)
def test_a_first_load_gives_the_store_the_ordinary_path_gives(tmp_path, scientist, monkeypatch, make, cells_mb):
    f = (demo_csv(tmp_path / "d.csv", n_skus=4, n_stores=3, days=90) if make == "demo"
         else _messy(tmp_path / "m.csv"))
    fast, plain = tmp_path / "fast.duckdb", tmp_path / "plain.duckdb"
    with monkeypatch.context() as m:
        _no_private_file(m)
        m.setattr(ingest_mod, "CELLS_BYTES", cells_mb * 1e6)
        r_fast = ingest(f, scientist, db=fast)
    r_plain = _ordinary_into(f, scientist, plain)
    assert r_fast.to_json() == r_plain.to_json()
    assert _contents(fast) == _contents(plain)
    # and a second upload (the ordinary path, the store has series) agrees on both
    assert ingest(f, scientist, db=fast).to_json() == ingest(f, scientist, db=plain).to_json()
    assert _contents(fast) == _contents(plain)


def test_a_refused_first_load_names_every_problem_and_leaves_the_store_as_it_was(db, tmp_path, scientist,
                                                                                  monkeypatch):
    rows = [{"date": f"2024-01-{d:02d}", "sku": "A", "store": "S", "units": d} for d in range(1, 11)]
    rows[3]["units"] = "lots"
    rows.append(dict(rows[5]))  # a duplicate (SKU, store, date)
    f = frame_csv(tmp_path / "bad.csv", rows)
    before, plain = _refused_the_ordinary_way(db, f, scientist)
    with monkeypatch.context() as m:
        _no_private_file(m)
        with pytest.raises(ValidationError) as fast:
            ingest(f, scientist)
    assert str(fast.value) == plain
    assert "line 5" in str(fast.value) and "more than once" in str(fast.value)
    assert store_snapshot(db) == before
    _no_temps(db)  # nothing of the attempt stays on the store's connection either
    good = frame_csv(tmp_path / "good.csv", [{"date": f"2024-01-{d:02d}", "sku": "A", "store": "S", "units": d}
                                              for d in range(1, 11)])
    assert ingest(good, scientist).rows_added == 10


def test_a_cell_the_typed_reader_refuses_is_read_as_text_in_a_first_load(db, tmp_path, scientist, monkeypatch):
    """Past the sample, a quantity with a thousands separator fails the typed read: the first
    load reads the file as text instead (the failed read spoils nothing: the checks run outside
    the store's transaction), and the file loads."""
    _no_private_file(monkeypatch)
    n = ingest_mod.SAMPLE + 500
    days = pd.date_range("2020-01-01", periods=n, freq="D")
    units = [str(i % 9) for i in range(n)]
    units[-1] = "1,234"
    f = frame_csv(tmp_path / "t.csv", pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "sku": "A", "units": units}))
    r = ingest(f, scientist)
    assert (r.rows_added, r.series) == (n, 1)
    with session(db) as s:
        con = s.connection().connection.dbapi_connection
        assert con.execute("SELECT y FROM sales ORDER BY ds DESC LIMIT 1").fetchone()[0] == 1234.0
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()[0] == 0


def test_the_hooks_after_a_first_load_take_what_its_transaction_saw(db, tmp_path, scientist, monkeypatch):
    """The sales rollup came current in the merge and there is no active version: the rollup
    refresh and the monitoring check do not open the store again. A re-upload (rows replaced)
    still refreshes the rollup."""
    from core import rollups

    calls = []
    monkeypatch.setattr(rollups, "refresh", lambda db=None: calls.append(db) or "rebuild")
    f = demo_csv(tmp_path / "d.csv", n_skus=2, n_stores=2, days=30)
    r = ingest(f, scientist)
    assert r.known == {"rollups_current": True, "active_version": None} and "known" not in r.to_json()
    assert calls == []

    def no_session(*a, **k):
        raise AssertionError("the monitoring hook opened the store")

    with monkeypatch.context() as m:
        m.setattr(ingest_mod, "session", no_session)
        ingest_mod._monitor(r, scientist, db)
    r2 = ingest(f, scientist)
    assert r2.known["rollups_current"] is False and len(calls) == 1


def test_the_forecast_view_is_left_alone_until_a_version_serves(db, tmp_path, scientist, monkeypatch):
    """No version is active after an upload: the Forecast view's actuals (made by the first
    promotion) are not refreshed, so the upload does not open the store for them."""
    from core import forecast_view, plan_rollups

    calls = []
    monkeypatch.setattr(forecast_view, "refresh", lambda db=None: calls.append(db) or True)
    r = ingest(demo_csv(tmp_path / "d.csv", n_skus=2, n_stores=2, days=30), scientist)
    assert calls == [] and plan_rollups.after_ingest(r, scientist, db) is False
    r.known["active_version"] = 1
    assert plan_rollups.after_ingest(r, scientist, db) is True and len(calls) == 1


def test_a_first_load_too_big_to_check_in_memory_is_not_checked_in_a_private_file(db, tmp_path, scientist, monkeypatch):
    """Past SHELFCAST_INGEST_FIRST_LOAD_MB the checked rows would spill uncompressed: a CSV is read
    straight into the store instead (core.ingest_stream; tests/test_ingest_stream.py)."""
    _no_private_file(monkeypatch)
    monkeypatch.setattr(ingest_mod, "FIRST_LOAD_BYTES", 0)
    f = demo_csv(tmp_path / "d.csv", n_skus=2, n_stores=2, days=30)
    r = ingest(f, scientist)
    assert (r.rows_added, r.series) == (120, 4)
