"""Stock and policy uploads: accepted with defaults shown, refused with every problem named
(column and lines) in one message and the store unchanged."""

from __future__ import annotations

import pytest

from core.errors import PermissionDenied, ValidationError
from core.inventory import inputs
from core.store import inventory as inv
from core.store import session
from tests.registry_fixtures import load_demo


@pytest.fixture
def store(db, tmp_path, manager):
    load_demo(db, tmp_path, manager, n_skus=2, n_stores=2, days=30)  # BEV-001, SNK-002 at Bristol, Leeds
    return db


def _write(tmp_path, name: str, text: str):
    f = tmp_path / name
    f.write_text(text)
    return f


def _state(db):
    with session(db) as s:
        return inv.counts(s), [d.id for d in inv.list_datasets(s)]


def test_policy_with_defaults_reported(store, tmp_path, manager):
    f = _write(tmp_path, "policy.csv",
               "SKU,Store,Lead Time,Service Level,Pack\nBEV-001,,2,0.9,6\nSNK-002,Leeds,3,,12\n")
    r = inputs.ingest_inventory(store, manager, f, "policy",
                                {"lead_time": "Lead Time", "service_level": "Service Level"})
    assert r.rows == 2 and r.mapping["pack_size"] == "Pack"
    assert r.defaults["review_period"] == {"value": 1, "rows": 2, "all": True}
    assert r.defaults["service_level"] == {"value": 0.95, "rows": 1, "all": False}
    assert "service_level = 0.95 (1 blank rows)" in r.summary()
    with session(store) as s:
        got = inv.series_inputs(s, inputs.DEFAULTS).set_index(["sku", "store"])
    assert got.loc[("BEV-001", "Leeds"), "lead_time"] == 2  # SKU-wide row applies to every store
    assert got.loc[("BEV-001", "Bristol"), "service_level"] == pytest.approx(0.9)
    assert got.loc[("SNK-002", "Leeds"), "pack_size"] == 12
    assert got.loc[("SNK-002", "Leeds"), "service_level"] == pytest.approx(0.95)
    assert got.loc[("SNK-002", "Bristol"), "policy_source"] == "default"


def test_a_newer_upload_wins(store, tmp_path, manager):
    inputs.ingest_inventory(store, manager, _write(tmp_path, "a.csv", "sku,lead_time\nBEV-001,2\n"), "policy")
    inputs.ingest_inventory(store, manager, _write(tmp_path, "b.csv", "sku,store,lead_time\nBEV-001,Leeds,5\n"),
                            "policy")
    inputs.ingest_inventory(store, manager, _write(tmp_path, "c.csv", "sku,lead_time\nBEV-001,4\n"), "policy")
    with session(store) as s:
        got = inv.series_inputs(s, inputs.DEFAULTS).set_index(["sku", "store"])["lead_time"]
    assert got[("BEV-001", "Leeds")] == 5 and got[("BEV-001", "Bristol")] == 4


def test_bad_policy_refused_with_every_problem_and_nothing_changed(store, tmp_path, manager):
    before = _state(store)
    f = _write(tmp_path, "policy.csv",
               "sku,store,lead_time,service_level,pack_size,unit_cost\n"
               "BEV-001,Leeds,-1,0.95,6,2\n"        # line 2: negative lead time
               "BEV-001,Bristol,2,1,6,2\n"          # line 3: service level >= 1
               "ZZZ-999,,2,0.9,6,2\n"               # line 4: unknown SKU
               "SNK-002,,two,0.9,6,abc\n"           # line 5: text in numbers
               "SNK-002,Paris,1,0,6,1\n")           # line 6: unknown store, service level 0
    with pytest.raises(ValidationError) as e:
        inputs.ingest_inventory(store, manager, f, "policy")
    msg = str(e.value)
    assert "nothing was loaded" in msg
    assert "column 'lead_time'" in msg and "line 2: '-1'" in msg
    assert "column 'service_level'" in msg and "line 3: '1'" in msg and "line 6: '0'" in msg
    assert "'sku'" in msg and "line 4: 'ZZZ-999'" in msg
    assert "line 5: 'two'" in msg and "column 'unit_cost'" in msg and "line 5: 'abc'" in msg
    assert "line 6: 'Paris'" in msg
    assert _state(store) == before


def test_bad_stock_refused(store, tmp_path, manager):
    before = _state(store)
    f = _write(tmp_path, "stock.csv",
               "date,sku,store,on_hand\n2026-11-01,BEV-001,Leeds,-3\n2026-11-01,BEV-001,Leeds,4\n"
               "not a date,SNK-002,Leeds,1\n2026-11-01,SNK-002,Bristol,lots\n2026-11-01,NOPE,Leeds,1\n")
    with pytest.raises(ValidationError) as e:
        inputs.ingest_inventory(store, manager, f, "stock")
    msg = str(e.value)
    for part in ("negative stock in column 'on_hand' (line 2: '-3')", "line 4: 'not a date'",
                 "column 'on_hand' (on_hand) needs a number (line 5: 'lots')", "line 6: 'NOPE'",
                 "lines 2, 3"):
        assert part in msg, part
    assert _state(store) == before


def test_stock_without_date_is_dated_by_the_last_sales(store, tmp_path, manager):
    f = _write(tmp_path, "stock.csv", "item,location,soh\nBEV-001,Leeds,7\nSNK-002,Bristol,0\n")
    r = inputs.ingest_inventory(store, manager, f, "stock")
    assert r.mapping == {"sku": "item", "store": "location", "on_hand": "soh"}
    assert r.defaults["date"]["all"]
    with session(store) as s:
        got = inv.series_inputs(s, inputs.DEFAULTS).set_index(["sku", "store"])
    assert got.loc[("BEV-001", "Leeds"), "on_hand"] == 7
    assert str(got.loc[("BEV-001", "Leeds"), "as_of"].date()) == r.defaults["date"]["value"]


def test_latest_snapshot_is_used(store, tmp_path, manager):
    inputs.ingest_inventory(store, manager, _write(tmp_path, "a.csv", "date,sku,store,on_hand\n"
                                                   "2026-10-30,BEV-001,Leeds,9\n2026-10-31,BEV-001,Leeds,5\n"), "stock")
    inputs.ingest_inventory(store, manager, _write(tmp_path, "b.csv", "date,sku,store,on_hand\n"
                                                   "2026-10-29,BEV-001,Leeds,1\n"), "stock")
    with session(store) as s:
        got = inv.series_inputs(s, inputs.DEFAULTS).set_index(["sku", "store"])
    assert got.loc[("BEV-001", "Leeds"), "on_hand"] == 5


def test_viewer_cannot_upload(store, tmp_path, viewer):
    f = _write(tmp_path, "a.csv", "sku,lead_time\nBEV-001,2\n")
    with pytest.raises(PermissionDenied):
        inputs.ingest_inventory(store, viewer, f, "policy")


def test_unknown_mapping_column_and_kind(store, tmp_path, manager):
    f = _write(tmp_path, "a.csv", "sku,lead_time\nBEV-001,2\n")
    with pytest.raises(ValidationError, match="'Lead' chosen for lead_time is not in the file"):
        inputs.ingest_inventory(store, manager, f, "policy", {"lead_time": "Lead"})
    with pytest.raises(ValidationError, match="kind must be"):
        inputs.ingest_inventory(store, manager, f, "sales")


def test_demo_inventory_goes_through_the_upload_path(store, manager):
    from core.inventory import demo

    stock, policy = demo.load_demo_inventory(manager, store)[::-1]
    assert (stock.kind, stock.rows, policy.kind, policy.rows) == ("stock", 4, "policy", 2)
    assert "review_period" not in policy.defaults and "unit_cost" not in policy.defaults
    with session(store) as s:
        got = inv.series_inputs(s, inputs.DEFAULTS)
    assert got["on_hand"].notna().all() and (got["policy_source"] == "sku").all()
    assert (got["unit_cost"] < got["price"]).all()


def test_cli_ingest_kind_arguments(store, tmp_path, capsys):
    """What `shelfcast ingest --kind policy` runs once core/cli/ingest.py calls inventory_args."""
    import argparse
    import json

    from core.cli import inventory_args

    p = argparse.ArgumentParser()
    p.add_argument("file")
    for flag in ("--db", "--user", "--date", "--sku", "--store"):
        p.add_argument(flag)
    p.add_argument("--json", action="store_true")
    inventory_args.add_arguments(p)
    f = _write(tmp_path, "p.csv", "Item,LT\nBEV-001,3\n")
    args = p.parse_args([str(f), "--db", str(store), "--kind", "policy", "--sku", "Item", "--map", "lead_time=LT",
                         "--json"])
    assert inventory_args.run(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mapping"] == {"sku": "Item", "lead_time": "LT"} and out["rows"] == 1
    bad = p.parse_args([str(f), "--db", str(store), "--kind", "policy", "--map", "lead=LT"])
    with pytest.raises(ValidationError, match="ROLE=COLUMN"):
        inventory_args.run(bad)


def test_excel_policy_and_parquet_stock(store, tmp_path, manager):
    import pandas as pd

    pd.DataFrame({"sku": ["BEV-001", "SNK-002"], "lead_time": [3, 4], "service_level": [0.9, 0.99],
                  "price": [2.5, None]}).to_excel(tmp_path / "policy.xlsx", index=False)
    r = inputs.ingest_inventory(store, manager, tmp_path / "policy.xlsx", "policy")
    assert r.rows == 2 and r.defaults["price"] == {"value": None, "rows": 1, "all": False}
    pd.DataFrame({"date": pd.to_datetime(["2026-11-01"] * 2), "sku": ["BEV-001", "SNK-002"],
                  "store": ["Leeds", "Bristol"], "on_hand": [4.0, 9.0]}).to_parquet(tmp_path / "stock.parquet")
    inputs.ingest_inventory(store, manager, tmp_path / "stock.parquet", "stock")
    with session(store) as s:
        got = inv.series_inputs(s, inputs.DEFAULTS).set_index(["sku", "store"])
    assert got.loc[("SNK-002", "Bristol"), "on_hand"] == 9 and got.loc[("SNK-002", "Leeds"), "lead_time"] == 4
    assert got.loc[("BEV-001", "Leeds"), "price"] == 2.5 and pd.isna(got.loc[("SNK-002", "Leeds"), "price"])


def test_upload_limit_binds_the_browser_not_the_cli(store, tmp_path, manager, monkeypatch):
    """`shelfcast ingest --kind stock|policy` reads files of any size; the page's upload (the
    core call without `any_size`) keeps the browser's SHELFCAST_MAX_UPLOAD_MB limit."""
    from core import config
    from tests.helpers import run_cli

    f = _write(tmp_path, "stock.csv", "date,sku,store,on_hand\n"
               + "".join(f"2024-01-{d:02d},BEV-001,Bristol,{d}\n" for d in range(1, 29)))
    monkeypatch.setattr(config, "MAX_UPLOAD_MB", 0.0001)  # 100 bytes: the file is bigger
    before = _state(store)
    with pytest.raises(ValidationError, match="limit of a browser upload"):
        inputs.ingest_inventory(store, manager, f, "stock")
    assert _state(store) == before
    policy = _write(tmp_path, "p.csv", "sku,store,lead_time,review_period,service_level,pack_size,min_order\n"
                    "BEV-001,Bristol,3,1,0.95,6,0\nSNK-002,Leeds,4,2,0.97,12,24\n")
    for kind, file in (("stock", f), ("policy", policy)):
        assert file.stat().st_size > 100
        r = run_cli("ingest", "--kind", kind, str(file), "--json", db=store,
                    env_extra={"SHELFCAST_MAX_UPLOAD_MB": "0.0001"})
        assert r.returncode == 0, r.stderr + r.stdout
    with session(store) as s:
        assert inv.counts(s)["stock"] == 28 and inv.counts(s)["policies"] == 2
