"""The worklist as work: assignee, snooze-until and acknowledge per row (stored, audited, checked
against the role), snoozed rows leaving the list until their date, and the Monitor page where
selecting a row opens that SKU's chart and its actions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core import monitoring, worklist
from core.access import Actor
from core.errors import PermissionDenied, ValidationError
from tests.helpers import open_page
from tests.monitor_helpers import MONITORED_SPEC

SPEC = MONITORED_SPEC
SCI = Actor("sam", "scientist")
MAYA = Actor("maya", "manager")


@pytest.fixture
def store(monitored):
    return monitored


def _rows(db, today=None):
    live = monitoring.alerts(db, ["open", "acknowledged"])
    return worklist.rows(live, monitoring.Monitoring(db).accuracy(4, "week", "sku"), db=db, today=today)


def test_assign_snooze_acknowledge_are_stored_and_audited(store):
    shown, asleep = _rows(store)
    top = shown.iloc[0]
    assert asleep.empty and set(shown["assignee"]) == {""}

    worklist.assign(MAYA, top["sku"], top["store"], "  ana \u202e ", store)
    shown, _ = _rows(store)
    assert shown.set_index("sku").loc[top["sku"], "assignee"] == "ana"  # trimmed, bidi stripped

    today = date.today()
    worklist.snooze(MAYA, top["sku"], top["store"], today + timedelta(days=7), store)
    shown, asleep = _rows(store)
    assert top["sku"] not in set(shown["sku"]) and list(asleep["sku"]) == [top["sku"]]
    back, asleep = _rows(store, today=today + timedelta(days=7))  # on its date it is back
    assert top["sku"] in set(back["sku"]) and asleep.empty

    second = shown.iloc[0]
    n_open = sum(1 for a in monitoring.alerts(store, ["open"])
                 if (a["sku"], a["store"]) == (second["sku"], second["store"]))
    assert n_open >= 1
    done = worklist.acknowledge(MAYA, second["sku"], second["store"], "order cut by 30%", store)
    assert len(done) == n_open and {a["status"] for a in done} == {"acknowledged"}
    shown, _ = _rows(store)
    assert shown.set_index("sku").loc[second["sku"], "status"] == "acknowledged"
    acked = [e for e in monitoring.history(store) if e["action"] == "acknowledged"]
    assert len(acked) == n_open and {e["actor"] for e in acked} == {"maya"}

    hist = worklist.history(store)
    assert list(hist["action"]) == ["acknowledged", "snoozed", "assigned"]
    assert set(hist["actor"]) == {"maya"} and hist["note"].iloc[0] == "order cut by 30%"


def test_refusals_leave_the_store_unchanged(store):
    sku, st_ = _rows(store)[0].iloc[0][["sku", "store"]]
    with pytest.raises(PermissionDenied):
        worklist.assign(Actor("vic", "viewer"), sku, st_, "vic", store)
    with pytest.raises(ValidationError, match="Snooze until"):
        worklist.snooze(MAYA, sku, st_, date.today(), store)
    with pytest.raises(ValidationError, match="Snooze until"):
        worklist.snooze(MAYA, sku, st_, date.today() + timedelta(days=400), store)
    with pytest.raises(ValidationError, match="note"):
        worklist.acknowledge(MAYA, sku, st_, "  ", store)
    assert worklist.history(store).empty and worklist.states(store).empty


def test_selecting_a_row_opens_its_chart_and_actions(store):
    at = open_page("monitor", MAYA)
    assert not at.exception, at.exception
    wl = next(d for d in at.dataframe if "action" in d.value.columns)
    assert "assignee" in wl.value.columns
    charts_before = len(at.get("plotly_chart"))
    second = wl.value["sku"].iloc[1]
    at.session_state["mon-worklist"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.session_state["_mon_wl_pick"] = (second, wl.value["store"].iloc[1])  # what the on_select callback sets
    at.run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == charts_before + 1  # the row's own chart
    assert any(second in m.value for m in at.markdown)
    at.text_input(key="mon-wl-who").set_value("ana")
    next(b for b in at.button if b.label == "Assign").click().run()
    assert not at.exception, at.exception
    assert worklist.states(store).set_index("sku").loc[second, "assignee"] == "ana"
