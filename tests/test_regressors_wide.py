"""Regressors stored wide (a value and a dataset id per slot) behave as the long table did: the
`regressors` view shows the same rows, a re-ingest replaces values name by name, and a store in
the long layout migrates on open."""

from __future__ import annotations

from core.ingest import ingest
from core.store import sales, session
from core.store.db import forget, raw
from tests.helpers import frame_csv

LONG = "SELECT series_id, CAST(ds AS VARCHAR), name, value, dataset_id FROM regressors ORDER BY 1, 2, 3"


def _rows(days: range, **values: object) -> list[dict]:
    return [{"date": f"2024-01-{d:02d}", "sku": "A", "store": "S", "units": d, **values} for d in days]


def _load_two_files(tmp_path, scientist) -> None:
    """Price and promo on days 1-5 (and a plan for days 6-7 without units), then a file with
    only promo for days 4-9: its blank cell on day 4 keeps the old promo, and price stays."""
    plan = [{"date": f"2024-01-{d:02d}", "sku": "A", "store": "S", "units": None, "price": 1.5, "promo": 1}
            for d in (6, 7)]
    ingest(frame_csv(tmp_path / "a.csv", _rows(range(1, 6), price=2.0, promo=0) + plan), scientist)
    second = _rows(range(4, 10), promo=1)
    second[0]["promo"] = None
    ingest(frame_csv(tmp_path / "b.csv", second), scientist)


def test_reingest_replaces_values_name_by_name(db, tmp_path, scientist):
    _load_two_files(tmp_path, scientist)
    with session(db) as s:
        got = raw(s).execute(LONG).fetchall()
    price = [(1, f"2024-01-{d:02d}", "price", p, 1) for d, p in [(1, 2.0), (2, 2.0), (3, 2.0), (4, 2.0), (5, 2.0),
                                                                (6, 1.5), (7, 1.5)]]
    promo = ([(1, f"2024-01-{d:02d}", "promo", 0.0, 1) for d in (1, 2, 3, 4)]
             + [(1, f"2024-01-{d:02d}", "promo", 1.0, 2) for d in range(5, 10)])
    assert got == sorted(price + promo)


def test_a_long_store_migrates_on_open(db, tmp_path, scientist):
    _load_two_files(tmp_path, scientist)
    with session(db) as s:
        before, fingerprint = raw(s).execute(LONG).fetchall(), sales.data_hash(s)
        con = raw(s)  # back to the layout before: one long table, an older schema mark
        con.execute("CREATE TABLE long_regs AS SELECT * FROM regressors")
        con.execute("DROP VIEW regressors")
        con.execute("DROP TABLE regressor_values")
        con.execute("DROP TABLE regressor_names")
        for col in ("v0", "d0", "v1", "d1"):  # that layout's sales rows had no slots
            con.execute(f"ALTER TABLE sales DROP COLUMN {col}")
        con.execute("ALTER TABLE long_regs RENAME TO regressors")
        con.execute("UPDATE settings SET value = 'old' WHERE key = 'schema_code'")
    forget(db)
    with session(db) as s:
        con = raw(s)
        kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'regressors'").fetchall()
        assert kind == [("VIEW",)]
        assert con.execute(LONG).fetchall() == before and sales.data_hash(s) == fingerprint
        # every one of the 9 days has a sale: its values live in its sales row
        assert con.execute("SELECT count(*) FROM sales WHERE coalesce(v0, d0, v1, d1) IS NOT NULL").fetchone() == (9,)
        assert con.execute("SELECT count(*) FROM regressor_values").fetchone() == (0,)
    # and the migrated store takes new files: a new name gets a slot, old values stay
    ingest(frame_csv(tmp_path / "c.csv", _rows(range(9, 11), temperature=20)), scientist)
    with session(db) as s:
        got = raw(s).execute(LONG).fetchall()
        assert [r for r in got if r[2] == "temperature"] == [(1, "2024-01-09", "temperature", 20.0, 3),
                                                            (1, "2024-01-10", "temperature", 20.0, 3)]
        assert [r for r in got if r[2] != "temperature"] == before


def test_deleting_sales_counts_and_removes_every_value(db, tmp_path, scientist):
    from core.sales_edit import delete_sales

    _load_two_files(tmp_path, scientist)
    r = delete_sales(scientist, "2024-01-04", "2024-01-06", note="recount")
    assert (r.sales_rows, r.regressor_rows) == (3, 6)  # days 4-6 sold (the second file); price and promo
    with session(db) as s:
        days = raw(s).execute("SELECT DISTINCT CAST(ds AS VARCHAR) FROM regressors ORDER BY 1").fetchall()
        assert [d for (d,) in days] == ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-07", "2024-01-08",
                                        "2024-01-09"]
        assert raw(s).execute("SELECT count(DISTINCT (series_id, ds)) FROM regressors").fetchone() == (6,)


def test_the_wide_read_equals_the_read_through_the_view(db, tmp_path, scientist):
    from core.store import training_reads

    _load_two_files(tmp_path, scientist)
    with session(db) as s:
        for names in (["price", "promo"], ["promo"], ["promo", "price"], ["price", "nothing"], ["nothing"], []):
            wide, through_view = sales.regressors_wide(s, names), training_reads.regressors_wide(s, names)
            assert list(wide.columns) == list(through_view.columns)
            assert wide.astype(object).where(wide.notna(), None).values.tolist() == \
                through_view.astype(object).where(through_view.notna(), None).values.tolist(), names
