"""The Replenishment page driven by AppTest, as the app runs it (main.py, navigation, signed-in
actor), on a real store: demo sales, a promoted version, uploaded stock and policies."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app import nav
from core import registry
from core.errors import ValidationError
from core.inventory import inputs, overrides, proposals
from tests.auth import page, signed_in_app
from tests.helpers import stocked_store
from tests.registry_fixtures import fake_version, load_demo

REPL = ("replenishment.py", "Replenishment", "view")


@pytest.fixture(autouse=True)
def routed(monkeypatch):
    """The page in the navigation (app/nav.py lists it once merged; until then, here)."""
    if REPL not in nav.PAGES:
        monkeypatch.setattr(nav, "PAGES", [*nav.PAGES, REPL])


@pytest.fixture
def store(db, tmp_path, scientist, manager):
    """2 SKUs × 2 stores, a promoted version, stock that needs orders and a policy (packs of 6
    for BEV-001; cost and price for both)."""
    stocked_store(db, tmp_path, scientist, manager, ["BEV-001,,2,6,0,1.5,3", "SNK-002,,1,1,0,2,4"])
    return db


def open_page(role: str) -> AppTest:
    at = signed_in_app(role)
    at.switch_page(page("replenishment.py"))
    return at.run()


def proposal_table(at: AppTest) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if "short_lead_time" in d.value.columns]
    assert len(found) == 1
    return found[0]


def sim_table(at: AppTest) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if "Avg overstock (units)" in d.value.columns]
    assert len(found) == 1
    return found[0]


def labels(at: AppTest, kind: str) -> list[str]:
    return [w.label for w in at.get(kind)]


def test_no_active_version_says_what_to_do(db, tmp_path, scientist):
    load_demo(db, tmp_path, scientist, n_skus=1, n_stores=1, days=20)
    at = open_page("viewer")
    assert not at.exception
    assert any("promote it on Compare" in i.value for i in at.info)


def test_manager_sees_ranked_proposals_filters_chart_and_simulation(store, manager):
    at = open_page("manager")
    assert not at.exception, at.exception
    expected = proposals.proposals(manager, store)
    t = proposal_table(at)
    assert len(t) == 4
    # ranked by units to order, whole units
    assert list(t["order_qty"]) == sorted(t["order_qty"], reverse=True)
    assert (t["order_qty"] == t["order_qty"].round(0)).all()
    top = expected.sort_values("order_qty", ascending=False).iloc[0]
    assert (t["sku"].iloc[0], t["store"].iloc[0]) == (top["sku"], top["store"])
    assert t["order_qty"].iloc[0] == round(top["order_qty"])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Orders due now"] == str(int((expected["order_qty"] > 0).sum()))

    at.checkbox(key="repl-order-now").check().run()
    assert (proposal_table(at)["order_qty"] > 0).all()
    assert len(proposal_table(at)) == int((expected["order_qty"] > 0).sum()) < 4
    at.checkbox(key="repl-order-now").uncheck().run()
    at.multiselect(key="repl-store").set_value(["Leeds"]).run()
    assert set(proposal_table(at)["store"]) == {"Leeds"}
    at.multiselect(key="repl-cat").set_value(["SNK"]).run()
    assert list(proposal_table(at)["sku"]) == ["SNK-002"]
    at.multiselect(key="repl-cat").set_value([]).run()
    at.multiselect(key="repl-store").set_value([]).run()
    at.checkbox(key="repl-risk").check().run()
    assert len(proposal_table(at)) == int(expected["at_risk"].sum())
    at.checkbox(key="repl-risk").uncheck().run()
    at.radio(key="repl-rank").set_value("Value").run()
    t = proposal_table(at)
    assert list(t["order_value"].fillna(0)) == sorted(t["order_value"].fillna(0), reverse=True)

    assert len(at.get("plotly_chart")) == 1
    sim = sim_table(at)
    assert list(sim["Policy"])[:2] == [f"version {int(expected['version'].iloc[0])}", "seasonal naive"]
    assert any("overstock" in s.value for s in at.success)
    # managers download orders
    assert set(labels(at, "download_button")) == {"Download orders CSV", "Download orders Parquet"}
    assert not at.exception


def test_manager_override_changes_the_order_and_can_be_ended(store, manager):
    at = open_page("manager")
    key = ("BEV-001", "Bristol")
    before = proposals.proposals(manager, store).set_index(["sku", "store"]).loc[key, "order_qty"]
    at.selectbox(key="ov-sku").set_value("BEV-001").run()
    at.selectbox(key="ov-store").set_value("Bristol").run()
    at.radio(key="ov-mode").set_value("± % of the forecast").run()
    at.number_input(key="ov-value").set_value(200.0).run()
    at.selectbox(key="ov-reason").set_value("promotion").run()
    at.text_input(key="ov-note").input("[end cap](http://x)").run()
    at.button(key="ov-save").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    ov = overrides.list_overrides(store)
    assert len(ov) == 1 and ov["store"].iloc[0] == "Bristol" and ov["note"].iloc[0] == "[end cap](http://x)"
    assert any("Override 1 saved" in s.value for s in at.success)
    t = proposal_table(at).set_index(["sku", "store"])
    assert t.loc[key, "order_qty"] > before and t.loc[key, "overridden"] == "yes"

    at.selectbox(key="ov-end-id").set_value(1).run()
    at.button(key="ov-end").click().run()
    assert not at.exception
    assert overrides.list_overrides(store).empty
    assert proposal_table(at).set_index(["sku", "store"]).loc[key, "order_qty"] == before


def test_override_refusal_is_a_friendly_message(store):
    at = open_page("manager")
    at.radio(key="ov-mode").set_value("± % of the forecast").run()
    at.number_input(key="ov-value").set_value(-150.0).run()
    at.button(key="ov-save").click().run()
    assert not at.exception
    assert any("Override refused" in e.value and "100%" in e.value for e in at.error)
    assert overrides.list_overrides(store).empty


def test_viewer_sees_proposals_but_no_override_form_upload_or_download(store):
    at = open_page("viewer")
    assert not at.exception, at.exception
    assert len(proposal_table(at)) == 4
    assert len(sim_table(at)) >= 2
    assert not at.get("download_button")
    assert [b.key for b in at.button] == ["sign-out"] and not at.get("file_uploader")
    keys = {w.key for w in at.selectbox} | {w.key for w in at.text_input}
    assert "ov-sku" not in keys and "ov-note" not in keys
    assert any("Managers set and end overrides" in c.value for c in at.caption)


def test_admin_sees_everything(store):
    at = open_page("admin")
    assert not at.exception, at.exception
    assert len(proposal_table(at)) == 4 and at.get("download_button")
    assert at.button(key="ov-save") is not None


def test_user_text_is_shown_as_plain_text(db, tmp_path, scientist, manager):
    """A SKU whose name is Markdown shows as those characters in the override flash."""
    f = tmp_path / "s.csv"
    rows = [f"2026-10-{d:02d},[x](http://evil),Leeds,{5 + d % 3}" for d in range(1, 29)]
    f.write_text("date,sku,store,units\n" + "\n".join(rows) + "\n")
    from core.ingest import ingest

    ingest(f, scientist, db=db)
    registry.promote(scientist, fake_version(db, 0.1), "go", db=db)
    (tmp_path / "st.csv").write_text("date,sku,store,on_hand\n2026-10-28,[x](http://evil),Leeds,2\n")
    inputs.ingest_inventory(db, manager, tmp_path / "st.csv", "stock")
    at = open_page("manager")
    assert not at.exception, at.exception
    at.number_input(key="ov-value").set_value(10.0).run()
    at.button(key="ov-save").click().run()
    msg = next(s.value for s in at.success if "saved" in s.value)
    assert "\\[x\\]\\(http" in msg  # escaped: renders as the characters, not a link


def test_upload_form_mapping_starts_from_recognised_columns(tmp_path):
    """What the upload form's column mapping shows (AppTest cannot drive a file uploader; the
    Chromium journey loads a file through it)."""
    f = tmp_path / "pol.csv"
    f.write_text("Item,LT,Case Pack,whatever\nBEV-001,2,6,x\n")
    cols, guess, preview = inputs.inspect_inventory(f, "policy")
    assert cols == ["Item", "LT", "Case Pack", "whatever"]
    assert guess == {"sku": "Item", "lead_time": "LT"}  # 'Case Pack' is not an alias: mapped by hand
    assert len(preview) == 1
    with pytest.raises(ValidationError, match="kind must be one of"):
        inputs.inspect_inventory(f, "sales")


def test_kept_proposals_follow_every_write_also_from_another_process(store, tmp_path, manager):
    """The fleet's proposals are kept between reruns, keyed by the store's state read on every
    call: a stock upload by `shelfcast ingest --kind stock` in another process, an override set
    and ended, are all in the next read; one series' read agrees with the fleet's."""
    from tests.helpers import run_cli

    def row(sku: str, store_: str) -> pd.Series:
        p = proposals.read(store)
        return p[(p["sku"] == sku) & (p["store"] == store_)].iloc[0]

    assert row("SNK-002", "Bristol")["on_hand"] == 1000
    (tmp_path / "stock2.csv").write_text("date,sku,store,on_hand\n2026-11-02,SNK-002,Bristol,0\n")
    r = run_cli("ingest", "--kind", "stock", str(tmp_path / "stock2.csv"), db=store)
    assert r.returncode == 0, r.stderr + r.stdout
    now = row("SNK-002", "Bristol")
    assert now["on_hand"] == 0 and now["order_qty"] > 0
    one = proposals.read(store, sku="SNK-002", store="Bristol").iloc[0]
    assert one["order_qty"] == now["order_qty"] and one["safety_stock"] == pytest.approx(now["safety_stock"])

    start = pd.Timestamp(now["forecast_from"]).date()
    o = overrides.set_override(manager, "SNK-002", start, start + pd.Timedelta(days=30), "units", 500, "promotion",
                               store="Bristol", db=store)
    boosted = row("SNK-002", "Bristol")
    assert boosted["overridden"] and boosted["order_qty"] > now["order_qty"]
    overrides.end_override(manager, o.id, db=store)
    back = row("SNK-002", "Bristol")
    assert not back["overridden"] and back["order_qty"] == now["order_qty"]
