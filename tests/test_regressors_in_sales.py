"""Regressors live in their sales rows (slots v{k}/d{k} of `sales`), and only dates without a sale
(plans) in `regressor_values`: the `regressors` view, the training reads and the lineage
fingerprint give what they gave when every regressor row was in `regressor_values`, a store of
that layout migrates on open, and plans, sales over plans and plans over sales keep each value's
dataset."""

from __future__ import annotations

from core.ingest import ingest
from core.store import sales, session, training_reads
from core.store.db import forget, raw
from tests.helpers import frame_csv

LONG = "SELECT series_id, CAST(ds AS VARCHAR), name, value, dataset_id FROM regressors ORDER BY 1, 2, 3"


def _day(d: int) -> str:
    return f"2024-01-{d:02d}"


def _load(tmp_path, scientist) -> None:
    """Two series. File 1: sales days 1-6 with price and promo, plans (no units) on days 7-9.
    File 2: sales days 5-8 with promo only (day 5 blank: the old promo stays), so day 7-8's
    plans become sales. File 3: plans over the sales of days 2-3 (promo only) and one past the end."""
    rows = [{"date": _day(d), "sku": sku, "store": "S", "units": d, "price": 2.0 + d, "promo": d % 2}
            for sku in ("A", "B") for d in range(1, 7)]
    rows += [{"date": _day(d), "sku": sku, "store": "S", "units": None, "price": 1.5, "promo": 1}
             for sku in ("A", "B") for d in (7, 8, 9)]
    ingest(frame_csv(tmp_path / "a.csv", rows), scientist)
    second = [{"date": _day(d), "sku": "A", "store": "S", "units": 10 * d, "promo": None if d == 5 else 0}
              for d in range(5, 9)]
    ingest(frame_csv(tmp_path / "b.csv", second), scientist)
    third = [{"date": _day(d), "sku": "A", "store": "S", "units": None, "promo": 7} for d in (2, 3)]
    third.append({"date": _day(12), "sku": "B", "store": "S", "units": None, "promo": 3})
    ingest(frame_csv(tmp_path / "c.csv", third), scientist)


def _reads(db) -> tuple:
    """Everything a reader outside the store's sales module gets from the regressors."""
    with session(db) as s:
        con = raw(s)
        dates = [r[0] for r in con.execute("SELECT DISTINCT ds FROM sales ORDER BY 1").fetchall()]
        arrays = training_reads.sales_arrays(s)
        return (con.execute(LONG).fetchall(), sales.data_hash(s),
                con.execute("SELECT series_id, ds, y, dataset_id FROM sales ORDER BY ALL").fetchall(),
                arrays.values.tolist(), training_reads.regressor_coverage(s, dates),
                _plain(sales.regressors_wide(s, ["price", "promo"])),
                _plain(training_reads.regressors_wide(s, ["promo", "price"])), _plain(sales.load_regressors(s)))


def _plain(df) -> list:
    """A frame's rows with None for a missing value (NaN != NaN)."""
    return df.astype(object).where(df.notna(), None).values.tolist()


def test_each_value_keeps_its_dataset(db, tmp_path, scientist):
    _load(tmp_path, scientist)
    with session(db) as s:
        got = {(r[0], r[1], r[2]): (r[3], r[4]) for r in raw(s).execute(LONG).fetchall()}
        a = raw(s).execute("SELECT series_id FROM series WHERE sku = 'A'").fetchone()[0]
        b = raw(s).execute("SELECT series_id FROM series WHERE sku = 'B'").fetchone()[0]
        units = dict(raw(s).execute("SELECT CAST(ds AS VARCHAR), (y, dataset_id) FROM sales WHERE series_id = ?",
                                    [a]).fetchall())
        in_plans = raw(s).execute("SELECT series_id, CAST(ds AS VARCHAR) FROM regressor_values ORDER BY ALL").fetchall()
    assert got[(a, _day(2), "promo")] == (7.0, 3) and got[(a, _day(2), "price")] == (4.0, 1)
    assert units[_day(2)] == (2.0, 1)  # the plan left the sale alone
    assert got[(a, _day(5), "promo")] == (1.0, 1) and got[(a, _day(5), "price")] == (7.0, 1)  # a blank cell
    assert got[(a, _day(6), "promo")] == (0.0, 2) and got[(a, _day(6), "price")] == (8.0, 1)
    assert got[(a, _day(7), "promo")] == (0.0, 2) and got[(a, _day(7), "price")] == (1.5, 1)  # a plan, then a sale
    assert got[(a, _day(9), "price")] == (1.5, 1) and got[(b, _day(12), "promo")] == (3.0, 3)
    # a date with a sale holds its values in the sales row; only plans are rows of their own
    assert in_plans == [(a, _day(9)), (b, _day(7)), (b, _day(8)), (b, _day(9)), (b, _day(12))]


def test_a_store_of_the_layout_before_migrates_on_open(db, tmp_path, scientist):
    """Today's reads, then the store put back (by SQL) as the layout before kept it: every
    regressor row in `regressor_values` with a dataset id per slot, `sales` without slots and an
    older schema mark. Opened again it migrates and every read gives the same rows."""
    _load(tmp_path, scientist)
    before = _reads(db)
    with session(db) as s:
        con = raw(s)
        slots = [r[0] for r in con.execute("SELECT slot FROM regressor_names ORDER BY slot").fetchall()]
        there = " OR ".join(f"v{k} IS NOT NULL OR d{k} IS NOT NULL" for k in slots)
        cols = ", ".join(f"v{k}, CASE WHEN v{k} IS NOT NULL OR d{k} IS NOT NULL THEN coalesce(d{k}, dataset_id) END AS d{k}"
                         for k in slots)
        con.execute(f"INSERT INTO regressor_values BY NAME SELECT series_id, ds, {cols} FROM sales WHERE {there}")
        for k in slots:
            con.execute(f"ALTER TABLE sales DROP COLUMN v{k}")
            con.execute(f"ALTER TABLE sales DROP COLUMN d{k}")
        con.execute("UPDATE settings SET value = 'old' WHERE key = 'schema_code'")
        assert con.execute("SELECT count(*) FROM regressor_values").fetchone() == (19,)
    forget(db)
    assert _reads(db) == before
    with session(db) as s:
        assert raw(s).execute("SELECT count(*) FROM regressor_values").fetchone() == (5,)  # the plans
    # and it takes new files: a new name gets a slot in both tables, the old values stay
    ingest(frame_csv(tmp_path / "d.csv", [{"date": _day(13), "sku": "A", "store": "S", "units": 1, "temp": 20}]),
           scientist)
    after = _reads(db)
    assert [r for r in after[0] if r[2] != "temp"] == before[0]
    assert [r[1:] for r in after[0] if r[2] == "temp"] == [(_day(13), "temp", 20.0, 4)]


def test_deleting_a_range_takes_sales_and_plans(db, tmp_path, scientist):
    from core.sales_edit import delete_sales

    _load(tmp_path, scientist)
    r = delete_sales(scientist, _day(6), _day(9), note="recount")
    # sales: A 6,7,8 and B 6; regressors: A 6-8 (2 each), A 9 price+promo, B 6 (2), B 7-9 plans (2 each)
    assert (r.sales_rows, r.regressor_rows) == (4, 2 * 3 + 2 + 2 + 2 * 3)
    with session(db) as s:
        left = raw(s).execute("SELECT DISTINCT CAST(ds AS VARCHAR) FROM regressors ORDER BY 1").fetchall()
        plans = raw(s).execute("SELECT CAST(ds AS VARCHAR) FROM regressor_values").fetchall()
    assert [d for (d,) in left] == [_day(d) for d in (1, 2, 3, 4, 5, 12)]
    assert plans == [(_day(12),)]
