"""No page shows an exception, on any kind of store the suite builds: empty, sales only, and in
service with alerts after a units-only upload that follows price/promo/temperature data (the
crash of issue 14), with worklist rows assigned and snoozed. And the same SKU's live accuracy
reads the same on Overview, Monitor and `shelfcast monitor`."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta

import pytest

from app.nav import PAGES
from app.widgets import fmt_acc
from core import monitoring, worklist
from core.access import Actor
from core.api import Shelfcast
from core.demo import DemoSpec, generate, split_recent
from tests.helpers import open_page
from tests.monitor_helpers import ingest_frame, make_active_version

SPEC = DemoSpec(n_skus=8, n_stores=2, days=420, seed=7)
SCI = Actor("sam", "scientist")
ADMIN = Actor("ada", "admin")


def _in_service(path):
    hist, recent = split_recent(generate(SPEC), SPEC.shift_days)
    make_active_version(path, hist, SPEC.shift_days, SCI, plan=recent)
    cut = recent["date"].max() - timedelta(days=7)
    ingest_frame(path, recent[recent["date"] <= cut], SCI)
    units_only = recent[recent["date"] > cut][["date", "sku", "store", "units"]]
    ingest_frame(path, units_only, SCI, "units_only.parquet")  # no price/promo/temperature columns
    live = monitoring.alerts(path, ["open"])
    a, b = live[0], live[-1]
    worklist.assign(SCI, a["sku"], a["store"], "ana", path)
    worklist.snooze(SCI, b["sku"], b["store"], date.today() + timedelta(days=5), path)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("every-store")
    sales_only = root / "sales_only.duckdb"
    ingest_frame(sales_only, generate(DemoSpec(n_skus=3, n_stores=1, days=120)), SCI)
    in_service = root / "in_service.duckdb"
    _in_service(in_service)
    return {"empty": None, "sales only": sales_only, "in service": in_service}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["empty", "sales only", "in service"])
def test_no_page_shows_an_exception(stores, db, kind):
    if stores[kind] is not None:
        shutil.copy(stores[kind], db)
    for file, title, _perm in PAGES:
        at = open_page(file.removesuffix(".py"), ADMIN)
        assert not at.exception, (kind, title, [e.value for e in at.exception])
        assert not any("Traceback" in e.value for e in at.error), (kind, title)


def test_same_accuracy_on_overview_monitor_train_and_cli(stores, db, capsys):
    from core.cli import main

    shutil.copy(stores["in service"], db)
    grain, window = monitoring.default_grain("D")
    acc = monitoring.Monitoring(db).accuracy(window, grain, "sku")
    below = acc[acc["below_threshold"]]
    sku = below.loc[(below["lost_units"] + below["over_units"]).idxmax(), "sku"]  # Overview's first issue
    want = fmt_acc(float(acc.set_index("sku").loc[sku, "accuracy"]))

    ov = open_page("overview", ADMIN)
    line = next(m.value for m in ov.markdown if sku in m.value and " — accuracy " in m.value)
    assert f"accuracy {want};" in line

    mon = open_page("monitor", ADMIN)
    mon.selectbox(key="mon-sku").set_value(sku).run()
    assert any(f"accuracy {want} over the last" in c.value for c in mon.caption)
    t = next(d.value for d in mon.dataframe if "accuracy_shown" in d.value.columns).set_index("sku")
    assert fmt_acc(t.loc[sku, "accuracy_shown"]) == want

    tr = open_page("train", ADMIN)
    active = next(v.id for v in Shelfcast(db).versions.ready() if v.active)
    tr.selectbox(key="res-version").set_value(active).run()
    assert not tr.exception, tr.exception
    live = next(d.value for d in tr.dataframe if list(d.value.columns) == ["sku", "accuracy", "error_units", "units"])
    live = live.set_index("sku")
    assert fmt_acc(live.loc[sku, "accuracy"]) == want
    shown = acc.set_index("sku")["accuracy"].map(fmt_acc)  # every SKU, not only a floored one
    assert live["accuracy"].map(fmt_acc).to_dict() == shown.to_dict()

    assert main(["--db", str(db), "--user", ADMIN.name, "monitor", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    cli = next(r for r in rep["accuracy"] if r["sku"] == sku)
    assert fmt_acc(cli["accuracy"]) == want
