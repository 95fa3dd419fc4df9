"""Issue 10 item 2: a date range of sales can be deleted (audited, manager and up), and the
derived data (monitoring's live errors, the alerts) follow, through the same after-change hooks
as an ingest. Also the way out for a store poisoned by a '9999-12-31' row before dates were
checked."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pandas as pd
import pytest

from core import ingest as ingest_mod
from core import monitoring, registry
from core.access import Actor
from core.cli import main
from core.errors import PermissionDenied, ValidationError
from core.ingest import ingest
from core.sales_edit import delete_sales
from core.store import sales, session
from core.store.db import raw
from tests.helpers import frame_csv, store_snapshot
from tests.registry_fixtures import fake_version, load_demo

ADMIN = Actor("boss", "admin")


def _count(db, sql: str, params: list | None = None) -> int:
    with session(db) as s:
        return raw(s).execute(sql, params or []).fetchone()[0]


def test_deleting_actuals_keeps_monitoring_consistent(db, tmp_path, manager):
    hist = load_demo(db, tmp_path, ADMIN, n_skus=2, n_stores=1, days=40)
    vid = fake_version(db, 0.1, horizon=7)
    registry.promote(ADMIN, vid, "first", db=db)
    last = pd.to_datetime(hist["ds"]).max().date()
    new_days = [last + timedelta(days=i) for i in range(1, 5)]
    actuals = [{"date": str(d), "sku": sku, "store": store, "units": 9}
               for d in new_days for sku, store in hist[["sku", "store"]].drop_duplicates().itertuples(index=False)]
    ingest(frame_csv(tmp_path / "week.csv", actuals), manager)
    monitoring.active(db)  # a read brings the live errors in step
    assert _count(db, "SELECT count(*) FROM monitor_errors WHERE ds > ?", [last]) == 8

    r = delete_sales(manager, new_days[2], new_days[3], note="double-counted feed", db=db)
    assert (r.sales_rows, r.series) == (4, 2)
    monitoring.active(db)
    assert _count(db, "SELECT count(*) FROM sales WHERE ds > ?", [new_days[1]]) == 0
    assert _count(db, "SELECT count(*) FROM monitor_errors WHERE ds > ?", [last]) == 4
    with session(db) as s:
        audit = sales.deletions(s).iloc[0]
    assert (audit["actor"], audit["note"], audit["sales_rows"]) == ("maya", "double-counted feed", 4)
    assert (audit["date_from"].date(), audit["date_to"].date()) == (new_days[2], new_days[3])


def test_delete_filters_and_refusals_leave_the_store_unchanged(db, tmp_path, manager, viewer):
    load_demo(db, tmp_path, ADMIN, n_skus=2, n_stores=2, days=20)
    before = store_snapshot(db)
    with pytest.raises(PermissionDenied):
        delete_sales(viewer, "2000-01-01", None, note="x", db=db)
    with pytest.raises(ValidationError, match="note"):
        delete_sales(manager, "2000-01-01", None, note=" ", db=db)
    with pytest.raises(ValidationError, match="not a date"):
        delete_sales(manager, "2025-02-30", None, note="x", db=db)
    with pytest.raises(ValidationError, match="No sales"):
        delete_sales(manager, None, None, sku="NO-SUCH-SKU", note="x", db=db)
    assert store_snapshot(db) == before
    with session(db) as s:
        sku, store = raw(s).execute("SELECT sku, store FROM series ORDER BY 1, 2 LIMIT 1").fetchone()
        n = raw(s).execute("SELECT count(*) FROM sales JOIN series USING (series_id) WHERE sku = ? AND store = ?",
                           [sku, store]).fetchone()[0]
    r = delete_sales(manager, None, None, sku=sku, store=store, note="wrong store mapping", db=db)
    assert r.sales_rows == n and r.series == 1
    assert _count(db, "SELECT count(*) FROM sales") == before[0][0][0] - n


def test_cli_removes_a_poisoned_row(db, tmp_path, monkeypatch, capsys):
    """A store that took a '9999-12-31' row before dates were checked (simulated by opening the
    window) is repaired from the command line, and then takes normal uploads again."""
    rows = [{"date": str(date(2025, 3, 1) + timedelta(days=i)), "sku": "A", "store": "S1", "units": 1}
            for i in range(30)]
    monkeypatch.setattr(ingest_mod, "YEARS_AHEAD", 10_000)
    ingest(frame_csv(tmp_path / "a.csv", rows[:20] + [{"date": "9999-12-31", "sku": "A", "store": "S1",
                                                        "units": 1}]), ADMIN)
    monkeypatch.setattr(ingest_mod, "YEARS_AHEAD", 2)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    code = main(["sales", "delete", "--from", "9999-01-01", "--note", "typo", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert json.loads(out.out)["sales_rows"] == 1
    assert out.err.startswith(f"shelfcast: store {db}")
    with session(db) as s:
        assert sales.date_range(s) == (date(2025, 3, 1), date(2025, 3, 20))
    assert ingest(frame_csv(tmp_path / "b.csv", rows[20:]), ADMIN).rows_added == 10

    code = main(["sales", "delete", "--from", "yesterday", "--note", "x"])
    assert code == 2 and "not a date" in capsys.readouterr().err
