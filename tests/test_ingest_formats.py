"""Real-world-shaped files: daily, weekly (any week end), monthly (start or end), CSV with other
delimiters, Parquet and Excel, with detected or explicit column mapping; and the CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.demo import DemoSpec, generate
from core.ingest import Mapping, ingest
from core.store import datasets, sales, session
from tests.helpers import frame_csv, run_cli


def test_walmart_style_weekly_with_day_first_dates(db, tmp_path, scientist):
    """Kaggle Walmart shape: Store, Dept, Date (dd-mm-yyyy, Fridays), Weekly_Sales, IsHoliday."""
    dates = pd.date_range("2010-02-05", periods=20, freq="W-FRI")
    rows = [
        {"Store": st, "Dept": dept, "Date": d.strftime("%d-%m-%Y"), "Weekly_Sales": 1000 + i * 3.5,
         "IsHoliday": "TRUE" if d.month == 11 else "FALSE"}
        for st in (1, 2) for dept in (1, 7) for i, d in enumerate(dates)
    ]
    r = ingest(frame_csv(tmp_path / "walmart.csv", rows), scientist)
    assert r.freq == "W-FRI"
    assert r.mapping["sku"] == "Dept" and r.mapping["store"] == "Store" and r.mapping["qty"] == "Weekly_Sales"
    assert r.mapping["regressors"] == ["IsHoliday"]
    assert (r.rows_added, r.series) == (80, 4)
    assert str(r.first_date) == "2010-02-05"


@pytest.mark.parametrize("freq,expect", [("W-SUN", "W-SUN"), ("W-WED", "W-WED")])
def test_weeks_ending_any_weekday(db, tmp_path, scientist, freq, expect):
    dates = pd.date_range("2024-01-01", periods=10, freq=freq)
    rows = [{"week": d.date(), "item": "X", "qty": 2} for d in dates]
    assert ingest(frame_csv(tmp_path / "w.csv", rows), scientist).freq == expect


@pytest.mark.parametrize("kind,freq", [("MS", "MS"), ("ME", "ME")])
def test_monthly_start_or_end(db, tmp_path, scientist, kind, freq):
    dates = pd.date_range("2022-01-01", periods=24, freq=kind)
    rows = [{"Month": d.date(), "product": p, "turnover": 10.5 * (i + 1)} for p in "AB" for i, d in enumerate(dates)]
    r = ingest(frame_csv(tmp_path / "m.csv", rows), scientist)
    assert (r.freq, r.series, r.rows_added) == (freq, 2, 48)
    assert r.mapping["store"] is None


def test_month_names_and_semicolon_delimiter(db, tmp_path, scientist):
    rows = [{"Month": f"{m} 2023", "product": "A", "sales": i} for i, m in enumerate(["Jan", "Feb", "Mar", "Apr"])]
    r = ingest(frame_csv(tmp_path / "m.csv", rows, sep=";"), scientist)
    assert r.freq == "MS" and str(r.first_date) == "2023-01-01"


def test_parquet_and_excel_and_tab(db, tmp_path, scientist):
    df = generate(DemoSpec(n_skus=2, n_stores=2, days=30))
    df.to_parquet(tmp_path / "d.parquet", index=False)
    r = ingest(tmp_path / "d.parquet", scientist)
    assert (r.rows_added, r.freq) == (120, "D")
    df.iloc[:40].to_excel(tmp_path / "d.xlsx", index=False)
    r2 = ingest(tmp_path / "d.xlsx", scientist)
    assert (r2.rows_added, r2.rows_updated) == (0, 40)
    df.iloc[:10].to_csv(tmp_path / "d.tsv", sep="\t", index=False)
    assert ingest(tmp_path / "d.tsv", scientist).rows_updated == 10


def test_explicit_mapping_and_single_store_default(db, tmp_path, scientist):
    rows = [{"when": f"2024-03-{d:02d}", "code": "Z9", "sold": d, "t": 20.5} for d in range(1, 11)]
    r = ingest(frame_csv(tmp_path / "x.csv", rows), scientist,
               Mapping(date="when", sku="code", qty="sold", regressors=["t"]))
    assert r.mapping["store"] is None and r.series == 1
    with session(db) as s:
        assert sales.stores(s) == ["all"]
        assert list(sales.load_regressors(s).columns) == ["series_id", "ds", "t"]
        assert datasets.get_setting(s, "freq") == "D"


def test_daily_feed_of_one_date_takes_store_frequency(db, tmp_path, scientist):
    dates = pd.date_range("2024-01-07", periods=6, freq="W-SUN")
    ingest(frame_csv(tmp_path / "h.csv", [{"date": d.date(), "sku": "A", "units": 1} for d in dates]), scientist)
    r = ingest(frame_csv(tmp_path / "f.csv", [{"date": "2024-02-18", "sku": "A", "units": 7}]), scientist)
    assert (r.freq, r.rows_added) == ("W-SUN", 1)


def test_cli_ingest_json_and_refusal(db, tmp_path):
    df = generate(DemoSpec(n_skus=2, n_stores=1, days=20))
    df.rename(columns={"units": "Quantity", "sku": "Article"}).to_csv(tmp_path / "a.csv", index=False)
    p = run_cli("ingest", str(tmp_path / "a.csv"), "--sku", "Article", "--qty", "Quantity", "--json", db=db)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["rows_added"] == 40 and out["series"] == 2 and out["freq"] == "D"
    assert out["first_date"] == str(df.date.min().date()) and out["dataset_id"] == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("date,sku,units\n2024-01-01,A,x\n")
    p = run_cli("ingest", str(bad), db=db)
    assert p.returncode == 2 and "not a number" in p.stderr and "line 2" in p.stderr
    assert p.stdout == ""


def test_plan_rows_without_units_feed_regressors_only(db, tmp_path, scientist):
    """A promo/price plan: future dates with regressor values and no units are kept as known
    future regressor values, not as zero sales."""
    hist = [{"date": f"2024-01-{d:02d}", "sku": "A", "units": d, "price": 2.0, "promo": "no"} for d in range(1, 11)]
    plan = [{"date": f"2024-01-{d:02d}", "sku": "A", "units": None, "price": 1.5, "promo": "yes"} for d in range(11, 15)]
    r = ingest(frame_csv(tmp_path / "p.csv", hist + plan), scientist)
    assert (r.rows_added, str(r.last_date)) == (10, "2024-01-14")
    with session(db) as s:
        assert sales.counts(s)["rows"] == 10 and str(sales.counts(s)["last_date"]) == "2024-01-10"
        regs = sales.load_regressors(s)
    assert len(regs) == 14 and regs["promo"].tolist()[-4:] == [1.0] * 4
