"""Issue 13: the command line loads files of any size and a folder or glob of CSV/Parquet parts
as one dataset; the fast path (no raw text kept) agrees with the careful one that explains."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from core import config
from core.errors import ValidationError
from core.ingest import _refuse_mixed_freq, _refuse_mixed_freq_fast, _series_keys, ingest
from core.store import sales, session
from core.store.db import raw
from tests.helpers import demo_csv, frame_csv, run_cli, store_snapshot


def _split(src, folder, n: int, fmt: str = "csv") -> list:
    """The rows of `src` in n parts (by row blocks, so a series may span parts)."""
    df = pd.read_csv(src)
    folder.mkdir()
    out = []
    for i, start in enumerate(range(0, len(df), -(-len(df) // n))):
        part = df.iloc[start:start + -(-len(df) // n)]
        path = folder / f"part-{i}.{fmt}"
        part.to_parquet(path, index=False) if fmt == "parquet" else part.to_csv(path, index=False)
        out.append(path)
    return out


@pytest.fixture
def loaded(db, tmp_path, scientist):
    """A store that already holds data, so 'unchanged' means something."""
    ingest(demo_csv(tmp_path / "good.csv", n_skus=1, n_stores=1, days=20), scientist)
    return store_snapshot(db)


def _contents(db) -> tuple:
    with session(db) as s:
        return sales.counts(s), sales.data_hash(s)


def test_folder_and_glob_of_parts_load_like_the_whole_file(tmp_path, scientist):
    whole = demo_csv(tmp_path / "whole.csv", n_skus=4, n_stores=3, days=90)
    ingest(whole, scientist, db=tmp_path / "a.duckdb")
    _split(whole, tmp_path / "csv_parts", 3)
    r = ingest(tmp_path / "csv_parts", scientist, db=tmp_path / "b.duckdb")
    assert (r.rows_added, r.series, r.file_name) == (4 * 3 * 90, 12, "csv_parts")
    _split(whole, tmp_path / "pq_parts", 4, "parquet")
    ingest(str(tmp_path / "pq_parts" / "*.parquet"), scientist, db=tmp_path / "c.duckdb")
    assert _contents(tmp_path / "a.duckdb") == _contents(tmp_path / "b.duckdb") == _contents(tmp_path / "c.duckdb")


def test_cli_glob_of_parquet_parts(tmp_path, db):
    whole = demo_csv(tmp_path / "whole.csv", n_skus=2, n_stores=2, days=30)
    _split(whole, tmp_path / "parts", 2, "parquet")
    r = run_cli("ingest", str(tmp_path / "parts" / "*.parquet"), "--json", db=db)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["rows_added"] == 2 * 2 * 30


def test_a_problem_in_one_part_names_the_part_and_line(loaded, db, tmp_path, scientist):
    whole = demo_csv(tmp_path / "whole.csv", n_skus=2, n_stores=2, days=30)
    parts = _split(whole, tmp_path / "parts", 2)
    df = pd.read_csv(parts[1])
    df["units"] = df["units"].astype(object)
    df.loc[3, "units"] = "lots"
    df.to_csv(parts[1], index=False)
    with pytest.raises(ValidationError) as e:
        ingest(tmp_path / "parts", scientist)
    msg = str(e.value)
    assert "part-1.csv: 1 row(s) have a quantity" in msg and "line 5: 'lots'" in msg, msg
    assert "part-0.csv" not in msg
    assert store_snapshot(db) == loaded


def test_a_duplicate_across_parts_is_refused(loaded, db, tmp_path, scientist):
    rows = [{"date": f"2024-03-{d:02d}", "sku": "A", "store": "S1", "units": d} for d in range(1, 11)]
    (tmp_path / "parts").mkdir()
    frame_csv(tmp_path / "parts" / "a.csv", rows)
    frame_csv(tmp_path / "parts" / "b.csv", rows[-1:])
    with pytest.raises(ValidationError) as e:
        ingest(tmp_path / "parts", scientist)
    assert "appear in more than one part: SKU 'A' at store 'S1' on 2024-03-10" in str(e.value)
    assert store_snapshot(db) == loaded


@pytest.mark.parametrize("given, says", [
    ("nothing/*.csv", "no file matches"),
    ("mixed", "mix file types"),
    ("empty", "holds no .csv or .parquet files"),
])
def test_bad_part_sets_are_refused(tmp_path, scientist, db, given, says):
    (tmp_path / "mixed").mkdir()
    frame_csv(tmp_path / "mixed" / "a.csv", [{"date": "2024-01-01", "sku": "A", "units": 1}])
    pd.DataFrame({"date": ["2024-01-02"], "sku": ["A"], "units": [1]}).to_parquet(tmp_path / "mixed" / "b.parquet")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match=says):
        ingest(tmp_path / given, scientist)


def test_upload_limit_binds_the_browser_not_the_cli(tmp_path, db, scientist, monkeypatch):
    f = demo_csv(tmp_path / "d.csv", n_skus=2, n_stores=1, days=30)
    monkeypatch.setattr(config, "MAX_UPLOAD_MB", 0.0001)
    with pytest.raises(ValidationError, match="limit of a browser upload.*shelfcast ingest"):
        ingest(f, scientist)
    r = run_cli("ingest", str(f), db=db, env_extra={"SHELFCAST_MAX_UPLOAD_MB": "0.0001"})
    assert r.returncode == 0 and "60 rows added" in r.stdout, r.stderr
    assert "browser" in run_cli("ingest", "--help", db=db).stdout


def test_hash_collisions_are_hashed_again(db, tmp_path, scientist, monkeypatch):
    """Two series that share a 64-bit hash must stay two series: the file is keyed again with
    another hash (forced here: the first hash gives every series one key)."""
    from core import ingest as ingest_mod

    real = ingest_mod._key_sql
    monkeypatch.setattr(ingest_mod, "_key_sql", lambda salt, cleaned=True: "7::UBIGINT" if salt == 0 else real(salt, cleaned))
    frame_csv(tmp_path / "f.csv", [{"date": f"2024-01-0{d}", "sku": sku, "store": "S1", "units": n}
                                   for sku, n in (("A", 1), ("B", 2)) for d in range(1, 4)]
              + [{"date": "2024-01-01", "sku": "C", "store": "S2", "units": 5}])
    r = ingest(tmp_path / "f.csv", scientist)
    assert (r.series, r.rows_added) == (3, 7)
    with session(db) as s:
        got = raw(s).execute("""SELECT sku, store, count(*), sum(y) FROM sales JOIN series USING (series_id)
                                GROUP BY ALL ORDER BY 1""").fetchall()
    assert got == [("A", "S1", 3, 3.0), ("B", "S1", 3, 6.0), ("C", "S2", 1, 5.0)]


def _checked(con, rows: list[tuple]) -> None:
    """Tables `clean` (h, ds, y, plan) and `names` (h, sku, store) from (h, sku, store, ds, plan) rows."""
    con.execute("CREATE TABLE all_rows (h UBIGINT, sku VARCHAR, store VARCHAR, ds DATE, plan BOOLEAN)")
    con.executemany("INSERT INTO all_rows VALUES (?, ?, ?, ?::DATE, ?)", rows)
    con.execute("CREATE TABLE clean AS SELECT h, ds, 1.0 AS y, plan FROM all_rows")
    con.execute("CREATE TABLE names AS SELECT DISTINCT h, sku, store FROM all_rows")


@pytest.mark.parametrize("bits", [10**9, 0])  # the day bitmap, and the distinct count past its budget
def test_duplicates_found_per_series_and_date(bits, monkeypatch):
    from core import ingest as ingest_mod

    monkeypatch.setattr(ingest_mod, "DUP_BITS", bits)
    con = duckdb.connect()
    _checked(con, [(1, "A", "S", "2024-01-01", False), (1, "A", "S", "2024-03-01", False),
                   (2, "B", "S", "2024-01-01", False), (2, "B", "S", "2024-01-01", True)])
    assert _series_keys(con)
    assert con.execute("SELECT sku FROM keys WHERE dup").fetchall() == [("B",)]
    con.execute("DELETE FROM clean WHERE plan")
    assert not _series_keys(con)


def test_a_file_that_changes_between_its_reads_is_refused():
    """The checked rows and the series' names come from two reads of the file: a series in one
    and not the other means the file changed meanwhile."""
    con = duckdb.connect()
    _checked(con, [(1, "A", "S", "2024-01-01", False), (2, "B", "S", "2024-01-01", False)])
    con.execute("DELETE FROM names WHERE h = 2")
    with pytest.raises(ValidationError, match="changed while it was being read"):
        _series_keys(con)


def _kinds(rows: list[tuple[str, str]]) -> tuple[bool, bool]:
    """(fast refuses, exact refuses) for (sku, date) rows."""
    out = []
    for check in (_refuse_mixed_freq_fast, _refuse_mixed_freq):
        con = duckdb.connect()
        _checked(con, [(hash(s) % 2**63, s, "S", d, False) for s, d in rows])
        _series_keys(con)
        try:
            check(con, "f.csv")
            out.append(False)
        except ValidationError:
            out.append(True)
    return tuple(out)


@pytest.mark.parametrize("series, mixed", [
    ({"D": (1, 40)}, False),                                 # daily only
    ({"W": (7, 10), "SLOW": (3, 5)}, False),                 # weekly and a sparse mover (any class)
    ({"W": (7, 10), "D": (1, 30)}, True),                    # weekly and daily
    ({"W": (7, 10), "M": ("month", 5)}, True),               # weekly and monthly
    ({"M": ("month", 6), "SLOW": (5, 4)}, False),            # monthly and a sparse mover
    ({"M": ("month", 6), "D": (1, 20)}, True),               # monthly and daily
    ({"W2": (14, 8), "EVERY2": (2, 9)}, False),              # fortnightly, every 2nd day
])
def test_fast_frequency_check_agrees_with_the_exact_one(series, mixed):
    rows = []
    for sku, (step, n) in series.items():
        for i in range(n):
            d = pd.Timestamp("2024-01-01") + (pd.DateOffset(months=i) if step == "month" else pd.Timedelta(days=step * i))
            rows.append((sku, str(d.date())))
    assert _kinds(rows) == (mixed, mixed)


def test_the_prepared_file_is_detached_after_the_merge(db, tmp_path, scientist, monkeypatch):
    """The server's sessions share one DuckDB instance: the file a merge attaches must not stay
    attached to it, after a commit or after a rollback."""
    from core.store import session

    f = demo_csv(tmp_path / "d.csv", n_skus=2, n_stores=1, days=30)
    with session(db) as s:
        held = s.connection().connection.dbapi_connection  # keeps the instance alive meanwhile

        def attached() -> list:
            return [r[0] for r in held.execute("SELECT database_name FROM duckdb_databases()").fetchall()
                    if r[0].startswith("prepared")]

        ingest(f, scientist)
        assert attached() == []
        monkeypatch.setattr(sales, "_merge_overlap", lambda *a: (_ for _ in ()).throw(RuntimeError("disk full")))
        with pytest.raises(RuntimeError):
            ingest(f, scientist)
        assert attached() == []


def _long_file(path, late: dict) -> list[dict]:
    """3,000 daily rows of one series with typed-looking values; `late` sets cells past the
    2,000-row sample the typed reader is chosen on."""
    rows = [{"date": str((pd.Timestamp("2018-01-01") + pd.Timedelta(days=i)).date()), "sku": "A",
             "store": "S1", "units": str(i % 7), "promo": "0"} for i in range(3000)]
    for (i, col), value in late.items():
        rows[i][col] = value
    frame_csv(path, rows)
    return rows


def test_a_late_cell_the_typed_reader_refuses_is_read_as_text(db, tmp_path, scientist):
    """The typed read is chosen on a sample; a cell after it that only the text path reads
    ('1,234', a yes/no promo, a blank quantity on a plan row) must load exactly as before."""
    from core.store.db import raw

    _long_file(tmp_path / "f.csv", {(2500, "units"): "1,234", (2600, "promo"): "yes",
                                     (2999, "units"): "  "})
    r = ingest(tmp_path / "f.csv", scientist)
    assert r.rows_added == 2999  # the last row is a plan row (promo, no units)
    with session(db) as s:
        con = raw(s)
        assert con.execute("SELECT y FROM sales WHERE ds = DATE '2018-01-01' + 2500").fetchone() == (1234.0,)
        assert con.execute("SELECT value FROM regressors WHERE ds = DATE '2018-01-01' + 2600").fetchone() == (1.0,)


def test_a_late_bad_cell_is_named_with_its_line(loaded, db, tmp_path, scientist):
    _long_file(tmp_path / "f.csv", {(2500, "units"): "lots", (2700, "date"): "2018-13-45"})
    with pytest.raises(ValidationError) as e:
        ingest(tmp_path / "f.csv", scientist)
    assert "line 2502: 'lots'" in str(e.value) and "line 2702: '2018-13-45'" in str(e.value), str(e.value)
    assert store_snapshot(db) == loaded


def test_a_plain_csv_takes_the_typed_read(db, tmp_path, scientist, monkeypatch):
    """Numbers and ISO dates are parsed by DuckDB's CSV reader (the text path `_read` is not
    taken), and the values are the ones the text path gives."""
    import core.ingest

    rows = _long_file(tmp_path / "f.csv", {})
    monkeypatch.setattr(core.ingest, "_read", lambda *a: pytest.fail("the text path ran"))
    assert ingest(tmp_path / "f.csv", scientist).rows_added == len(rows)
    with session(db) as s:
        assert sales.counts(s)["rows"] == 3000 and sales.date_range(s)[1] == pd.Timestamp("2026-03-19").date()


def test_the_dataset_records_the_sha256_of_the_file_and_of_the_parts_in_name_order(db, tmp_path, scientist):
    """The digest is computed beside the checks, in a thread: it must still be the file's."""
    import hashlib

    f = demo_csv(tmp_path / "d.csv", n_skus=2, n_stores=2, days=30)
    first = ingest(f, scientist).dataset_id
    folder = tmp_path / "parts"
    files = _split(f, folder, 3)
    second = ingest(folder, scientist).dataset_id
    with session(db) as s:
        got = dict(raw(s).execute("SELECT id, sha256 FROM datasets").fetchall())
    assert got[first] == hashlib.sha256(f.read_bytes()).hexdigest()
    assert got[second] == hashlib.sha256(b"".join(p.read_bytes() for p in sorted(files))).hexdigest()


def test_a_series_spelled_two_ways_is_one_series(db, tmp_path, scientist):
    """The checked rows are keyed by the SKU and store cells as written; a file that writes one
    series with and without spaces is keyed again by the cleaned names (one series, and a date
    it holds under both spellings is a duplicate)."""
    rows = [{"date": "2024-01-01", "sku": "A", "store": "S1", "units": 1},
            {"date": "2024-01-02", "sku": " A ", "store": "S1", "units": 2},
            {"date": "2024-01-03", "sku": "A", "store": " S1", "units": 3},
            {"date": "2024-01-01", "sku": "B", "store": "", "units": 4},
            {"date": "2024-01-02", "sku": "B", "store": "all", "units": 5}]
    frame_csv(tmp_path / "f.csv", rows)
    r = ingest(tmp_path / "f.csv", scientist)
    assert (r.series, r.rows_added) == (2, 5)
    with session(db) as s:
        got = raw(s).execute("""SELECT sku, store, count(*), sum(y) FROM sales JOIN series USING (series_id)
                                GROUP BY ALL ORDER BY 1""").fetchall()
    assert got == [("A", "S1", 3, 6.0), ("B", "all", 2, 9.0)]
    frame_csv(tmp_path / "g.csv", rows + [{"date": "2024-01-01", "sku": "A ", "store": "S1", "units": 9}])
    with pytest.raises(ValidationError, match="appear more than once"):
        ingest(tmp_path / "g.csv", scientist)
