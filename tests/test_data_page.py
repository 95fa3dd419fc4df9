"""The Data page driven by AppTest: empty state, a real upload through file_uploader with the
mapping form, a refused upload that keeps the page, and the per-SKU chart."""

from __future__ import annotations

from core.access import Actor
from core.demo import DemoSpec, generate
from core.store import sales, session
from tests.helpers import open_page, shown, store_snapshot


def test_empty_store_says_what_to_do(db):
    at = open_page("data", Actor("sam", "scientist"))
    assert not at.exception
    assert any("no sales yet" in i.value for i in at.info)
    assert at.button(key="load-demo")


def test_upload_with_mapping_then_chart(db):
    df = generate(DemoSpec(n_skus=3, n_stores=2, days=40)).rename(columns={"units": "Sold", "sku": "Article"})
    at = open_page("data", Actor("sam", "scientist"))
    at.get("file_uploader")[0].set_value(("sales.csv", df.to_csv(index=False).encode(), "text/csv")).run()
    assert not at.exception
    assert at.selectbox(key="map-sku").value == "Article"  # detected
    assert at.selectbox(key="map-qty").value == "(none)"  # 'Sold' is not a known name
    at.selectbox(key="map-qty").set_value("Sold").run()
    assert at.multiselect(key="map-regs").value == ["price", "promo", "temperature"]
    at.button(key="do-ingest").click().run()
    assert not at.exception, at.exception
    assert any("240 rows added" in s.value for s in at.success)
    with session(db) as s:
        assert sales.counts(s)["series"] == 6
    assert [m.value for m in at.metric][:4] == ["240", "6", "3", "2"]
    at.selectbox(key="chart-sku").set_value("SNK-002").run()
    at.selectbox(key="chart-store").set_value("Bristol").run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 1


def test_refused_upload_shows_error_and_keeps_page(db):
    at = open_page("data", Actor("sam", "scientist"))
    bad = b"date,sku,units\n2024-01-01,A,3\n2024-01-02,A,-1\n"
    before = store_snapshot(db)
    at.get("file_uploader")[0].set_value(("bad.csv", bad, "text/csv")).run()
    at.button(key="do-ingest").click().run()
    assert not at.exception
    assert any("negative quantity" in e.value and "line 3" in shown(e.value) for e in at.error)
    assert at.button(key="do-ingest")  # the form is still there to try again
    assert store_snapshot(db) == before


def test_viewer_sees_no_upload(db, tmp_path):
    from core.access import SYSTEM
    from core.ingest import ingest
    from tests.helpers import demo_csv

    ingest(demo_csv(tmp_path / "d.csv", n_skus=2, n_stores=1, days=20), SYSTEM)
    at = open_page("data", Actor("vic", "viewer"))
    assert not at.exception
    assert not at.get("file_uploader")
    assert not at.get("download_button")
    assert [m.value for m in at.metric][1] == "2"
