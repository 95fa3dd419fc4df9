"""Monitor's per-view reads shared by every session of a server (issue #13): the worklist rows,
the needs-attention and alert tables are computed once per store state from plain arguments,
give what the page used to compute from the alert list and accuracy table itself, and are
recomputed after a write (here: a snooze and an acknowledge)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

import core.worklist as core_worklist
from core import monitoring, worklist
from core.access import Actor
from core.api import Shelfcast
from core.monitoring import Filters

MAYA = Actor("maya", "manager")


@pytest.fixture
def store(monitored):
    return monitored


def _live(db, flt=None):
    return monitoring.Monitoring(db).live_alerts(4, "week", flt).rows


def test_worklist_rows_from_plain_arguments_match_and_are_shared(store, monkeypatch):
    api = Shelfcast(store)
    mon = monitoring.Monitoring(store)
    want, _ = worklist.rows(_live(store), mon.accuracy(4, "week", "sku"), db=store)
    calls = []
    real = core_worklist.rows
    monkeypatch.setattr(core_worklist, "rows", lambda *a, **k: calls.append(1) or real(*a, **k))

    shown, asleep = api.planning.worklist_rows(4, "week", Filters(), "units")
    pd.testing.assert_frame_equal(shown, want)
    again, _ = api.planning.worklist_rows(4, "week", Filters(), "units")
    pd.testing.assert_frame_equal(again, want)
    assert len(calls) == 1  # the second view (any session) is served from the shared read cache
    again.loc[0, "assignee"] = "changed by one session"  # ... as its own copy
    assert api.planning.worklist_rows(4, "week", Filters(), "units")[0].loc[0, "assignee"] == ""

    top = shown.iloc[0]
    worklist.snooze(MAYA, top["sku"], top["store"], date.today() + timedelta(days=3), store)
    shown, asleep = api.planning.worklist_rows(4, "week", Filters(), "units")
    assert len(calls) == 2 and (top["sku"], top["store"]) in set(zip(asleep["sku"], asleep["store"], strict=True))

    by_pct, _ = api.planning.worklist_rows(4, "week", Filters(), "pct")
    want_pct, _ = real(_live(store), mon.accuracy(4, "week", "sku"), "pct", store)
    pd.testing.assert_frame_equal(by_pct, want_pct)


def test_a_linked_alert_past_the_list_joins_the_worklist(store):
    mon = monitoring.Monitoring(store)
    live = _live(store)
    sku = live[0]["sku"]
    flt = Filters(skus=[x["sku"] for x in live if x["sku"] != sku][:1])  # a filter without the linked SKU
    assert all(a["sku"] != sku for a in mon.live_alerts(4, "week", flt).rows)
    shown, _ = Shelfcast(store).planning.worklist_rows(4, "week", flt, "units", live[0]["id"])
    assert sku in set(shown["sku"])
    assert live[0]["id"] in list(mon.alert_table(4, "week", flt, live[0]["id"]).column("id").to_pylist())


@pytest.mark.parametrize("per_store", [False, True])
@pytest.mark.parametrize("by_pct", [False, True])
def test_attention_table_is_the_pages_table(store, per_store, by_pct):
    mon = monitoring.Monitoring(store)
    base = mon.accuracy(4, "week", "series" if per_store else "sku")
    per_sku = mon.live_alerts(4, "week").per_sku
    base = base.assign(stake=base["lost_units"] + base["over_units"]).sort_values(
        "accuracy" if by_pct else "stake", ascending=by_pct, na_position="last", ignore_index=True)
    want = base.assign(alerts=base["sku"].map(per_sku).fillna(0).astype(int))
    want["store"] = want["store"].replace({"*": "all stores"})
    want["accuracy_shown"] = np.clip(want["accuracy"].to_numpy(dtype=float), 0, None)
    got = mon.attention(4, "week", per_store, by_pct).to_pandas()
    pd.testing.assert_frame_equal(got, want[monitoring.ATTENTION_COLUMNS], check_dtype=False)
    assert got["alerts"].sum() > 0 and (got["accuracy_shown"] >= 0).all()


def test_alert_table_and_counts_follow_an_acknowledge(store):
    mon = monitoring.Monitoring(store)
    before = mon.alert_table(4, "week").to_pandas()
    live = _live(store)
    assert list(before["id"]) == [a["id"] for a in live]
    assert list(before["opened_at"]) == [a["opened_at"][:16].replace("T", " ") for a in live]
    first = next(a for a in live if a["status"] == "open")
    n_open = mon.live_alerts(4, "week").open
    mon.acknowledge(MAYA, first["id"], "watching")
    after = mon.alert_table(4, "week").to_pandas().set_index("id")
    assert after.loc[first["id"], "status"] == "acknowledged" and after.loc[first["id"], "ack_note"] == "watching"
    assert mon.live_alerts(4, "week").open == n_open - 1


def test_history_table_is_the_history(store):
    mon = monitoring.Monitoring(store)
    got = mon.history_table().to_pandas()
    want = pd.DataFrame(mon.history())
    assert len(want) and list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
