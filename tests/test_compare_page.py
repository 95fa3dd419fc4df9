"""The Compare page driven by AppTest, as the app runs it (main.py, navigation, signed-in actor)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core import registry
from core.access import Actor
from tests.auth import page, signed_in_app
from tests.helpers import shown
from tests.registry_fixtures import fake_version, load_demo, registry_snapshot

SAM = Actor("sam", "scientist")


def open_compare(role: str) -> AppTest:
    """The app as a signed-in user with `role`, on the Compare page."""
    at = signed_in_app(role)
    at.switch_page(page("compare.py"))
    return at.run()


@pytest.fixture
def versions(db, tmp_path):
    load_demo(db, tmp_path, SAM, n_skus=4, n_stores=2, days=50)
    a = fake_version(db, 0.10)
    b = fake_version(db, lambda sku: 0.05 if sku.startswith("BEV") else 0.25, level=2.0)
    return a, b


# AppTest does not expose st.dataframe keys: find each table by a column only it has.
MARK = {"cmp-leaderboard": "created_by", "cmp-table": "winner", "cmp-history": "override_reason",
        "cmp-sim-table": "Avg overstock (units)"}


def table(at: AppTest, key: str):
    found = [d.value for d in at.dataframe if MARK[key] in d.value.columns]
    assert len(found) == 1, f"{key}: {len(found)} tables"
    return found[0]


def test_empty_store_says_what_to_do(db):
    at = open_compare("scientist")
    assert not at.exception
    assert any("No model versions yet" in i.value for i in at.info)


def test_leaderboard_compare_and_chart(db, versions):
    a, b = versions
    registry.promote(SAM, a, "baseline")
    at = open_compare("scientist")
    assert not at.exception, at.exception
    board = table(at, "cmp-leaderboard")
    assert sorted(board["version"]) == [a, b]
    assert list(board.loc[board["active"] != "", "version"]) == [a]
    assert board.set_index("version").loc[a, "accuracy"] == pytest.approx(90.0)
    assert at.multiselect(key="cmp-versions").value == [a, b]  # active first, then the challenger
    cmp = table(at, "cmp-table").set_index("sku")
    assert cmp.loc["BEV-001", "winner"] == f"v{b}" and cmp.loc["SNK-002", "winner"] == f"v{a}"
    assert cmp.loc["BEV-001", f"diff_{b}"] == pytest.approx(-5.0)
    wins = {m.label: m.value for m in at.metric}
    assert wins[f"v{a} wins"] == "3 SKUs" and wins[f"v{b} wins"] == "1 SKUs"
    assert len(at.get("plotly_chart")) == 2  # scatter + the SKU chart
    at.radio(key="cmp-level").set_value("SKU × store").run()
    assert not at.exception
    assert len(table(at, "cmp-table")) == 8
    at.selectbox(key="cmp-store").set_value("Bristol").run()
    assert not at.exception and len(at.get("plotly_chart")) == 2


def test_promote_with_note(db, versions):
    """A real seasonal-naive training run, promoted from the page."""
    from core import training

    a = training.train(SAM, "naive", horizon=14, folds=2)
    at = open_compare("scientist")
    at.selectbox(key="promote-version").set_value(a).run()
    at.button(key="promote-go").click().run()
    assert any("note is required" in shown(e.value) for e in at.error)
    assert registry.active_version(db) is None
    at.text_area(key="promote-note").input("best pooled WAPE").run()
    at.button(key="promote-go").click().run()
    assert not at.exception
    assert any(f"Version {a} is now active" in s.value for s in at.success)
    assert registry.active_version(db) == a
    h = table(at, "cmp-history")
    assert list(h["note"]) == ["best pooled WAPE"] and list(h["actor"]) == ["test-scientist"]


def test_gate_refuses_without_override_then_override_works(db, versions):
    a, b = versions
    registry.promote(SAM, a, "baseline")
    before = registry_snapshot(db)
    at = open_compare("scientist")
    at.selectbox(key="promote-version").set_value(b).run()
    assert any("Accuracy gate" in w.value and "worse than active version" in w.value for w in at.warning)
    at.text_area(key="promote-note").input("try the BEV specialist").run()
    at.button(key="promote-go").click().run()
    assert any("Promotion refused" in shown(e.value) for e in at.error)
    assert registry_snapshot(db) == before
    at.checkbox(key="promote-override").check().run()
    at.text_input(key="promote-reason").input("BEV is 60% of December revenue").run()
    at.button(key="promote-go").click().run()
    assert not at.exception
    assert registry.active_version(db) == b
    h = registry.history(db)
    assert bool(h.loc[0, "override"]) and h.loc[0, "override_reason"] == "BEV is 60% of December revenue"


def test_rollback_from_the_page(db, versions):
    a, b = versions
    registry.promote(SAM, a, "1")
    registry.promote(SAM, b, "2", override_reason="x")
    at = open_compare("scientist")
    assert at.button(key="rollback-go").label == f"Roll back to v{a}"
    at.text_area(key="rollback-note").input("B over-forecasts crisps").run()
    at.button(key="rollback-go").click().run()
    assert not at.exception
    assert any(f"version {a} is active again" in s.value for s in at.success)
    assert registry.active_version(db) == a
    assert set(registry.active_forecasts(db)["version"]) == {a}
    assert table(at, "cmp-history")["action"].iloc[0] == "rollback"


def test_archive_from_the_page(db, versions):
    a, b = versions
    registry.promote(SAM, a, "1")
    at = open_compare("scientist")
    acc = registry.leaderboard(db).set_index("version").loc[b, "accuracy"]
    # the active one is not offered; the label carries the version's own backtest accuracy
    assert at.selectbox(key="archive-version").options == [f"v{b} · sklearn, accuracy {100 * acc:.1f}%"]
    at.button(key="archive-go").click().run()
    assert not at.exception
    assert sorted(table(at, "cmp-leaderboard")["version"]) == [a]
    at.toggle(key="cmp-archived").set_value(True).run()
    assert sorted(table(at, "cmp-leaderboard")["version"]) == [a, b]


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_viewer_and_manager_see_no_promote_controls(db, versions, role):
    a, _ = versions
    registry.promote(SAM, a, "baseline")
    at = open_compare(role)
    assert not at.exception
    assert table(at, "cmp-leaderboard") is not None
    for key in ("promote-go", "rollback-go", "archive-go"):
        with pytest.raises(KeyError):
            at.button(key=key)
    downloads = [b for b in at.get("download_button")]
    assert bool(downloads) == (role == "manager")  # viewers may not download


def test_policy_simulation_side_by_side(db, versions):
    """Each picked version against its seasonal-naive reference and the active version, with
    the headline sentence, the numbers being core.inventory.simulate's."""
    from core.inventory import simulate

    a, b = versions
    registry.promote(SAM, a, "baseline")
    at = open_compare("viewer")
    assert not at.exception, at.exception
    assert at.multiselect(key="cmp-sim").value == [a, b]
    sim_b = simulate.simulate(SAM, b, db)
    assert sim_b.headline and any(shown(s.value) == sim_b.headline for s in at.success)
    t = table(at, "cmp-sim-table").set_index("Policy")
    assert list(t.index) == [f"version {a}", f"seasonal naive (v{a}'s backtest)", f"version {b}",
                             f"seasonal naive (v{b}'s backtest)"]  # the active version once
    ref = sim_b.table.set_index("policy")
    for label, row in ((f"version {b}", f"version {b}"), (f"seasonal naive (v{b}'s backtest)", "seasonal naive"),
                       (f"version {a}", f"active version {a}")):
        assert t.loc[label, "Avg overstock (units)"] == pytest.approx(round(ref.loc[row, "avg_overstock"]))
        assert t.loc[label, "Availability %"] == pytest.approx(round(100 * ref.loc[row, "availability"], 2))
    at.multiselect(key="cmp-sim").set_value([b]).run()
    assert not at.exception
    assert list(table(at, "cmp-sim-table")["Policy"]) == [f"version {b}", f"seasonal naive (v{b}'s backtest)",
                                                         f"active version {a}"]


def test_mark_and_unmark_a_challenger(db, versions):
    """Issue 16: a scientist marks a ready version as a challenger on Compare; it is then scored
    on live sales (core.challengers) and can be unmarked. Viewers get no controls."""
    from core.api import Shelfcast

    a, b = versions
    registry.promote(SAM, a, "a first", db=db)
    at = open_compare("scientist")
    assert not at.exception, at.exception
    at.selectbox(key="chal-add").set_value(b)
    at.button(key="chal-add-go").click().run()
    assert not at.exception, at.exception
    assert [c["version_id"] for c in Shelfcast(db).retraining.challengers()] == [b]
    at.button(key="chal-rem-go").click().run()
    assert Shelfcast(db).retraining.challengers() == []
    viewer = open_compare("viewer")
    assert not viewer.exception and not [s for s in viewer.selectbox if s.key == "chal-add"]


def test_policy_simulation_runs_only_when_switched_on(db, versions, monkeypatch):
    """At 100,000 series the replay took Compare's first view to 26 s: it runs by itself only
    for a small fleet, and switched off it is not computed at all."""
    from core.inventory import simulate

    a, b = versions
    registry.promote(SAM, a, "baseline")
    at = open_compare("viewer")
    assert at.toggle(key="cmp-sim-on").value  # a small fleet: on by itself
    assert table(at, "cmp-sim-table") is not None
    asked, run = [], simulate.simulate
    monkeypatch.setattr(simulate, "simulate", lambda *a, **k: asked.append(1) or run(*a, **k))
    at.toggle(key="cmp-sim-on").set_value(False).run()
    assert not at.exception
    assert not [d for d in at.dataframe if MARK["cmp-sim-table"] in d.value.columns]
    assert any("replays the backtest" in c.value for c in at.caption)
    assert asked == []  # the simulation was not asked for
