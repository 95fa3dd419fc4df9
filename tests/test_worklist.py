"""Monitor's exception worklist on a real store with shifted actuals: one row per SKU with its
alerts grouped, ranked by units at stake (or by accuracy on request), a Pareto severity from
those units, a suggested action in words, and the table on the Monitor page."""

from __future__ import annotations

import pytest

from core import monitoring
from core.access import Actor
from core.monitoring.report import worklist
from tests.helpers import open_page
from tests.monitor_helpers import MONITORED_SPEC

SPEC = MONITORED_SPEC
SCI = Actor("sam", "scientist")


@pytest.fixture
def store(monitored):
    return monitored


def test_alerts_grouped_per_sku_ranked_by_units(store):
    live = monitoring.alerts(store, ["open", "acknowledged"])
    acc = monitoring.Monitoring(store).accuracy(4, "week", "sku")
    wl = worklist(live, acc)
    assert len(wl) == len({(a["sku"], a["store"]) for a in live}) < len(live)  # grouped
    assert sorted(i for ids in wl["alert_ids"] for i in ids) == sorted(a["id"] for a in live)
    assert list(wl["units_at_stake"]) == sorted(wl["units_at_stake"], reverse=True)
    top = acc.set_index("sku").loc[wl["sku"].iloc[0]]
    assert wl["units_at_stake"].iloc[0] == round(top["lost_units"]) + round(top["over_units"])
    assert wl["severity"].iloc[0] == "high" and wl["severity"].iloc[-1] in {"medium", "low"}
    assert set(wl["sku"].head(len(SPEC.shifted_skus))) == set(SPEC.shifted_skus)
    shifted = wl[wl["sku"] == SPEC.shifted_skus[0]].iloc[0]
    assert "below forecast" in shifted["action"] and "retrain" in shifted["action"].lower()
    by_pct = worklist(live, acc, rank="pct")
    assert list(by_pct["accuracy"].dropna()) == sorted(by_pct["accuracy"].dropna())
    assert worklist([], acc).empty


def test_worklist_on_the_monitor_page(store):
    at = open_page("monitor", Actor("maya", "manager"))
    assert not at.exception, at.exception
    wl = next(d.value for d in at.dataframe if "action" in d.value.columns)
    assert {"severity", "units_at_stake", "alerts"} <= set(wl.columns)
    assert wl["sku"].iloc[0] in SPEC.shifted_skus
    at.radio(key="mon-wl-rank").set_value("Accuracy (%)").run()
    assert not at.exception, at.exception
