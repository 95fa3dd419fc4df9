"""Every bad input is refused with a message that names what to fix, and the store is unchanged."""

from __future__ import annotations

import pandas as pd
import pytest

from core import config
from core.errors import PermissionDenied, ValidationError
from core.ingest import Mapping, ingest
from tests.helpers import frame_csv, store_snapshot

GOOD = [
    {"date": "2024-01-01", "sku": "A", "store": "S1", "units": 3},
    {"date": "2024-01-02", "sku": "A", "store": "S1", "units": 4},
    {"date": "2024-01-03", "sku": "A", "store": "S1", "units": 5},
]


@pytest.fixture
def loaded(db, tmp_path, scientist):
    """A store that already holds data, so 'unchanged' means something."""
    ingest(frame_csv(tmp_path / "good.csv", GOOD), scientist)
    return store_snapshot(db)


def refused(path, actor, *fragments, mapping=None):
    with pytest.raises(ValidationError) as e:
        ingest(path, actor, mapping)
    for frag in fragments:
        assert frag in str(e.value), str(e.value)
    return str(e.value)


def rows_with(**change):
    out = [dict(r) for r in GOOD]
    for i, kv in change.items():
        out[int(i[1:])].update(kv)
    return out


CASES = {
    "missing_qty": (lambda p: frame_csv(p, [{k: v for k, v in r.items() if k != "units"} for r in GOOD]),
                    ["quantity", "columns are: date, sku, store"]),
    "missing_date": (lambda p: frame_csv(p, [{k: v for k, v in r.items() if k != "date"} for r in GOOD]),
                     ["no column found for the date"]),
    "bad_date": (lambda p: frame_csv(p, rows_with(r1={"date": "2024-13-45"})),
                 ["'date'", "line 3", "2024-13-45"]),
    "text_qty": (lambda p: frame_csv(p, rows_with(r2={"units": "lots"})),
                 ["not a number", "line 4", "'lots'"]),
    "negative_qty": (lambda p: frame_csv(p, rows_with(r0={"units": -2})),
                     ["negative quantity", "line 2"]),
    "blank_qty": (lambda p: frame_csv(p, rows_with(r1={"units": None})), ["no quantity", "line 3"]),
    "duplicate_rows": (lambda p: frame_csv(p, GOOD + [GOOD[1]]),
                       ["more than once", "'A'", "'S1'", "2024-01-02", "lines 3, 5"]),
    "blank_sku": (lambda p: frame_csv(p, rows_with(r2={"sku": None})), ["no SKU", "line 4: (blank)"]),
    "bad_regressor": (lambda p: frame_csv(p, [dict(r, price="cheap") for r in GOOD]),
                      ["regressor column 'price'", "'cheap'"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_and_store_unchanged(case, loaded, db, tmp_path, scientist):
    make, fragments = CASES[case]
    refused(make(tmp_path / f"{case}.csv"), scientist, *fragments)
    assert store_snapshot(db) == loaded


def test_empty_file(loaded, db, tmp_path, scientist):
    p = tmp_path / "empty.csv"
    p.write_text("")
    refused(p, scientist, "empty")
    p.write_text("date,sku,units\n")
    refused(p, scientist, "no data rows")
    assert store_snapshot(db) == loaded


def test_wrong_file_type(loaded, db, tmp_path, scientist):
    p = tmp_path / "report.pdf"
    p.write_bytes(b"%PDF-1.4 not sales")
    refused(p, scientist, "'.pdf' are not accepted", "CSV")
    p = tmp_path / "fake.parquet"
    p.write_text("this is not parquet")
    refused(p, scientist, "could not be read as PARQUET")
    assert store_snapshot(db) == loaded


def test_file_over_size_limit(loaded, db, tmp_path, scientist, monkeypatch):
    monkeypatch.setattr(config, "MAX_UPLOAD_MB", 0.0001)
    refused(frame_csv(tmp_path / "big.csv", GOOD * 10), scientist, "over the", "MB limit")
    assert store_snapshot(db) == loaded


def test_unknown_mapped_column(loaded, db, tmp_path, scientist):
    refused(frame_csv(tmp_path / "m.csv", GOOD), scientist, "'Qty' chosen for qty is not in the file",
            mapping=Mapping(qty="Qty"))
    assert store_snapshot(db) == loaded


def test_frequency_mismatch_with_store(loaded, db, tmp_path, scientist):
    weekly = [{"date": d, "sku": "A", "store": "S1", "units": 1} for d in ("2024-02-04", "2024-02-11")]
    refused(frame_csv(tmp_path / "w.csv", weekly), scientist, "weekly", "daily")
    assert store_snapshot(db) == loaded


def test_viewer_may_not_upload(loaded, db, tmp_path, viewer):
    with pytest.raises(PermissionDenied):
        ingest(frame_csv(tmp_path / "v.csv", GOOD), viewer)
    assert store_snapshot(db) == loaded


def test_failure_inside_the_merge_rolls_back(loaded, db, tmp_path, scientist, monkeypatch):
    """A crash after some rows were written inside the transaction leaves nothing behind."""
    from core.store import sales

    real = sales._insert_new  # every series of the file is new: the first write of the merge

    def boom(*args):
        real(*args)
        raise RuntimeError("disk full")

    monkeypatch.setattr(sales, "_insert_new", boom)
    new = [dict(r, sku="B") for r in GOOD]
    with pytest.raises(RuntimeError):
        ingest(frame_csv(tmp_path / "b.csv", new), scientist)
    assert store_snapshot(db) == loaded


def test_names_round_trip_unchanged(db, tmp_path, scientist):
    from core.store import sales, session

    names = ["<script>alert(1)</script>", '=HYPERLINK("x")', "O'Brien", "Café Ünïcødé 東京", "a;b\"c"]
    rows = [{"date": "2024-01-01", "sku": n, "store": n, "units": i} for i, n in enumerate(names)]
    ingest(frame_csv(tmp_path / "n.csv", rows), scientist)
    with session(db) as s:
        assert sorted(sales.skus(s)) == sorted(names)
        assert sorted(sales.stores(s)) == sorted(names)
        got = sales.series_summary(s)
    assert set(zip(got.sku, got.store, strict=True)) == {(n, n) for n in names}
    assert isinstance(got, pd.DataFrame)


def test_regressor_named_like_a_model_column_is_refused(loaded, db, tmp_path, scientist):
    refused(frame_csv(tmp_path / "t.csv", [dict(r, trend=1) for r in GOOD]), scientist, "'trend'",
            "Rename them", mapping=Mapping(regressors=["trend"]))
    assert store_snapshot(db) == loaded
