"""Issue 13: above the listing cap, the Monitor page and `shelfcast monitor` must agree. The
page's alert counts are COUNT reads, its list holds the first N by units at stake (not the
newest, not the worst %), it says so, and filters apply before the cut. The cap is a parameter
(Monitoring.list_cap), so a small store with a few alerts stands in for 1,790 of them."""

from __future__ import annotations

import json

import pytest

from core import monitoring
from core.access import Actor
from core.cli import main
from core.monitoring import Monitoring
from tests.helpers import open_page

MAYA = Actor("maya", "manager")


@pytest.fixture
def store(monitored):
    """The monitored store plus a per SKU x store rule strict enough to fire almost everywhere:
    alerts on many SKUs, with different units at stake."""
    sam = Actor("sam", "scientist")
    monitoring.save_rule(sam, monitored, name="Strict", kind="accuracy", threshold=0.999, level="series",
                         params={"min_units": 0.0})
    monitoring.evaluate(sam, monitored)
    return monitored


def _live(store) -> list[dict]:
    return monitoring.alerts(store, ["open", "acknowledged"], limit=None)


def _stake(store) -> dict[str, float]:
    acc = Monitoring(store).accuracy(4, "week", "sku")
    return dict(zip(acc["sku"], acc["lost_units"] + acc["over_units"], strict=True))


def test_the_list_is_cut_by_units_at_stake_and_the_counts_stay_true(store):
    live = _live(store)
    assert len({a["sku"] for a in live}) >= 3, "the fixture must alert on several SKUs"
    cap = len(live) - 2
    got = Monitoring(store).live_alerts(4, "week", limit=cap)
    assert len(got.rows) == cap and got.capped
    assert got.total == len(live) and got.open == sum(a["status"] == "open" for a in live)
    stake = _stake(store)
    ranks = [stake.get(a["sku"], -1.0) for a in got.rows]
    assert ranks == sorted(ranks, reverse=True)  # most units at stake first
    left_out = [a for a in live if a["id"] not in {r["id"] for r in got.rows}]
    assert max(stake.get(a["sku"], -1.0) for a in left_out) <= min(ranks)
    assert got.per_sku == {s: sum(a["sku"] == s for a in live) for s in {a["sku"] for a in live}}
    # a filter applies before the cut: the last SKU's alerts are all there when filtered to it
    last = left_out[-1]["sku"]
    only = Monitoring(store).live_alerts(4, "week", monitoring.Filters(skus=[last]), limit=cap)
    assert {a["id"] for a in only.rows} == {a["id"] for a in live if a["sku"] == last}
    assert only.total == len(only.rows) and not only.capped
    # the plain listing stays newest first, filtered in the store
    newest = monitoring.alerts(store, ["open", "acknowledged"], limit=2)
    assert [a["id"] for a in newest] == sorted((a["id"] for a in live), reverse=True)[:2]


def test_page_and_cli_agree_above_the_cap(store, monkeypatch, capsys):
    live = _live(store)
    cap = max(1, len(live) // 3)
    monkeypatch.setattr(Monitoring, "list_cap", cap)
    at = open_page("monitor", MAYA)
    assert not at.exception, at.exception
    n_open = sum(a["status"] == "open" for a in live)
    shown = {m.label: m.value for m in at.metric}
    assert str(shown["Open alerts"]) == str(n_open)  # was the length of the capped list
    assert at.tabs[3].label == "Alerts"
    caption = next(c.value for c in at.caption if "live alert" in c.value)
    assert f"{len(live):,} live alert(s)" in caption and f"hold the first {cap:,}" in caption
    alerts_frame = next(d.value for d in at.dataframe if "ack_note" in d.value.columns)
    assert len(alerts_frame) == cap
    assert main(["--db", str(store), "--user", MAYA.name, "monitor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["open_alerts"] == n_open
    assert len(report["alerts"]) == len(live)
    assert main(["--db", str(store), "--user", MAYA.name, "alerts", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(live)  # the CLI lists every one


def test_a_link_reaches_an_alert_past_the_cap(store, monkeypatch):
    live = _live(store)
    monkeypatch.setattr(Monitoring, "list_cap", 1)
    far = min(live, key=lambda a: _stake(store).get(a["sku"], -1.0))
    at = open_page("monitor", MAYA)
    assert far["id"] not in {a["id"] for a in Monitoring(store).live_alerts(4, "week").rows}
    at.query_params["alert"] = str(far["id"])
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="mon-alert-pick").value == far["id"]
    assert at.selectbox(key="mon-sku").value == far["sku"]
