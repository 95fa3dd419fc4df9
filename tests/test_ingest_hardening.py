"""Issue 10, items 2, 7, 10, 11: outlier dates, Excel expansion, user text in messages, row lists
and mixed frequencies. Each is refused with the lines named and the store left as it was."""

from __future__ import annotations

import time
import zipfile
from datetime import date, timedelta

import pandas as pd
import pytest

from core import ingest as ingest_mod
from core.errors import ValidationError
from core.ingest import Mapping, ingest
from tests.helpers import frame_csv, store_snapshot


def days(n: int, sku: str = "A", store: str = "S1", start: date = date(2025, 1, 1), step: int = 1) -> list[dict]:
    return [{"date": str(start + timedelta(days=step * i)), "sku": sku, "store": store, "units": i % 7}
            for i in range(n)]


@pytest.fixture
def loaded(db, tmp_path, manager):
    ingest(frame_csv(tmp_path / "good.csv", days(20)), manager)
    return store_snapshot(db)


def refused(path, actor, mapping=None) -> str:
    with pytest.raises(ValidationError) as e:
        ingest(path, actor, mapping)
    return str(e.value)


# --- item 2: date sanity -------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["9999-12-31", "2204-07-18", "0000-01-01", "1900-03-01"])
def test_outlier_dates_are_refused_with_their_lines(bad, loaded, db, tmp_path, manager):
    rows = days(60, start=date(2025, 2, 1))
    rows.insert(30, {"date": bad, "sku": "B", "store": "S1", "units": 3})
    msg = refused(frame_csv(tmp_path / "f.csv", rows), manager)
    assert "line 32" in msg and bad in msg and "outside" in msg, msg
    assert store_snapshot(db) == loaded


def test_date_window_is_configurable_and_follows_the_stores_range(db, tmp_path, manager, monkeypatch):
    old = [{"date": "1990-01-01", "sku": "A", "store": "S1", "units": 1},
           {"date": "1990-01-02", "sku": "A", "store": "S1", "units": 2}]
    assert "outside" in refused(frame_csv(tmp_path / "old.csv", old), manager)
    monkeypatch.setattr(ingest_mod, "YEARS_BACK", 50)
    assert ingest(frame_csv(tmp_path / "old.csv", old), manager).rows_added == 2
    # The window now reaches back from the store's own first date.
    monkeypatch.setattr(ingest_mod, "YEARS_BACK", 1)
    older = [{"date": "1989-06-01", "sku": "A", "store": "S1", "units": 1}]
    assert ingest(frame_csv(tmp_path / "older.csv", older), manager).rows_added == 1


# --- item 10: user text is never a template; lists are capped; one pass -----------------------

def test_file_and_column_names_are_not_formatted(loaded, db, tmp_path, manager):
    rows = days(5)
    rows[2]["units"] = "lots"
    df = pd.DataFrame(rows).rename(columns={"units": "units{n.__class__}"})
    path = tmp_path / "fn{0}.csv"
    df.to_csv(path, index=False)
    msg = refused(path, manager, Mapping(qty="units{n.__class__}"))
    assert msg.startswith("fn{0}.csv:") and "'units{n.__class__}'" in msg and "line 4" in msg, msg
    assert "<class" not in msg
    assert store_snapshot(db) == loaded


def test_every_problem_is_named_in_one_message(loaded, db, tmp_path, manager):
    rows = days(10)
    rows[1]["date"] = "2025-13-40"
    rows[4]["units"] = -3
    rows[6]["sku"] = None
    msg = refused(frame_csv(tmp_path / "f.csv", rows), manager)
    assert "line 3" in msg and "negative quantity" in msg and "line 6" in msg and "no SKU" in msg, msg


def test_duplicate_lines_are_capped(loaded, db, tmp_path, manager):
    rows = [{"date": "2025-01-01", "sku": "A", "store": "S1", "units": 1}] * 5000
    msg = refused(frame_csv(tmp_path / "dups.csv", rows), manager)
    assert "lines 2, 3, 4" in msg and "and 4,980 more" in msg and len(msg) < 1000, msg


def test_date_format_text_never_reaches_sql(loaded, db, tmp_path, manager):
    rows = [{"date": d.strftime("%d/%m/%Y"), "sku": "A", "store": "S1", "units": 1}
            for d in pd.date_range("2025-03-01", periods=10).date]
    path = frame_csv(tmp_path / "f.csv", rows)
    msg = refused(path, manager, Mapping(date_format="%d/%m/%Y') AS DATE), (SELECT 1"))
    assert "not a date pattern" in msg
    assert store_snapshot(db) == loaded
    assert ingest(path, manager, Mapping(date_format="%d/%m/%Y")).rows_added == 10


def test_missing_file_is_a_clear_refusal(db, tmp_path, manager):
    with pytest.raises(ValidationError, match="no such file"):
        ingest(tmp_path / "missing.csv", manager)


# --- item 11: mixed frequencies -------------------------------------------------------------

def test_daily_and_weekly_series_in_one_file_are_refused(loaded, db, tmp_path, manager):
    rows = days(60, sku="DAILY") + days(9, sku="WEEKLY", step=7) + days(4, sku="MONTHLY", step=0)
    for i, r in enumerate(rows[-4:]):
        r["date"] = f"2025-0{i + 1}-01"
    rows += days(5, sku="SLOW", step=3)  # a slow mover: sales now and then, still daily
    msg = refused(frame_csv(tmp_path / "mixed.csv", rows), manager)
    assert "mixes frequencies" in msg and "1 series are daily, but 2 series are not" in msg, msg
    assert "'WEEKLY' at 'S1' (weekly)" in msg and "'MONTHLY' at 'S1' (monthly)" in msg
    assert "DAILY" not in msg and "SLOW" not in msg, msg
    assert store_snapshot(db) == loaded
    # The same daily file without the odd ones is fine.
    assert ingest(frame_csv(tmp_path / "ok.csv", days(60, sku="DAILY") + days(5, sku="SLOW", step=3)),
                  manager).freq == "D"


# --- item 7: bounded Excel ------------------------------------------------------------------

def _bomb(path, rows: int) -> None:
    """A valid workbook whose sheet is `rows` identical rows of ten cells: it deflates ~1000x."""
    pd.DataFrame(days(2)).to_excel(path, index=False)
    src = zipfile.ZipFile(path)
    parts = {n: src.read(n) for n in src.namelist()}
    src.close()
    head = b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    header = b'<row><c t="inlineStr"><is><t>date</t></is></c><c t="inlineStr"><is><t>sku</t></is></c><c t="inlineStr"><is><t>units</t></is></c></row>'
    row = b'<row><c t="inlineStr"><is><t>2025-01-01</t></is></c><c t="inlineStr"><is><t>A</t></is></c><c><v>1</v></c></row>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for n, data in parts.items():
            if n == "xl/worksheets/sheet1.xml":
                with z.open(n, "w") as f:
                    f.write(head + header)
                    for _ in range(rows // 1000):
                        f.write(row * 1000)
                    f.write(b"</sheetData></worksheet>")
            else:
                z.writestr(n, data)


def test_excel_bomb_is_refused_quickly_before_parsing(loaded, db, tmp_path, manager):
    path = tmp_path / "bomb.xlsx"
    _bomb(path, 300_000)  # ~40 MB of XML in well under 1 MB
    assert path.stat().st_size < 1_000_000
    t0 = time.monotonic()
    msg = refused(path, manager)
    assert time.monotonic() - t0 < 2
    assert "expands to" in msg and "times its size" in msg and "CSV" in msg, msg
    assert store_snapshot(db) == loaded


def test_excel_row_and_cell_limits_apply_while_streaming(loaded, db, tmp_path, manager, monkeypatch):
    from core import xlsx

    path = tmp_path / "big.xlsx"
    _bomb(path, 300_000)
    monkeypatch.setattr(xlsx, "MAX_RATIO", 1e9)
    monkeypatch.setattr(xlsx, "MAX_CELLS", 30_000)
    t0 = time.monotonic()
    msg = refused(path, manager)
    assert time.monotonic() - t0 < 5  # stopped after ~10,000 of 300,000 rows
    assert "more than 10,000 rows of 3 columns" in msg, msg
    assert store_snapshot(db) == loaded


def test_excel_lines_match_sheet_rows(db, tmp_path, manager):
    df = pd.DataFrame(days(6))
    df["units"] = df["units"].astype(object)
    df.loc[3, "units"] = "lots"
    df.to_excel(tmp_path / "x.xlsx", index=False)
    msg = refused(tmp_path / "x.xlsx", manager)
    assert "line 5: 'lots'" in msg, msg


def test_bad_rows_and_duplicates_in_one_message(loaded, db, tmp_path, manager):
    rows = days(6) + [{"date": "0000-01-01", "sku": "A", "store": "S1", "units": 1}] * 2
    rows[2]["units"] = -1
    msg = refused(frame_csv(tmp_path / "f.csv", rows), manager)
    assert "negative quantity" in msg and "outside" in msg and "more than once" in msg, msg
    assert "lines 8, 9" in msg
    assert store_snapshot(db) == loaded


def test_weekly_file_with_a_monthly_series_names_it(db, tmp_path, manager):
    weekly = days(12, sku="W1", start=date(2025, 1, 6), step=7) + days(12, sku="W2", start=date(2025, 1, 6), step=7)
    monthly = [{"date": f"2025-{m:02d}-01", "sku": "M", "store": "S1", "units": 5} for m in range(1, 7)]
    msg = refused(frame_csv(tmp_path / "wm.csv", weekly + monthly), manager)
    assert "2 series are weekly, but 1 series are not: 'M' at 'S1' (monthly)" in msg, msg
