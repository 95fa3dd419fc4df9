"""The Overview (and an executive's share link to it) shows the headline inventory effect of the
live forecast and nothing more of inventory (no orders, no SKU, no override), and viewing it
writes nothing."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from core import registry, sharing
from core.access import Actor
from core.inventory import simulate
from tests.auth import link_app, make_user
from tests.helpers import ensure_account, open_page
from tests.monitor_helpers import content_hash
from tests.registry_fixtures import fake_version, load_demo


@pytest.fixture
def live(db, tmp_path, scientist, manager):
    load_demo(db, tmp_path, scientist, n_skus=3, n_stores=2, days=60)
    vid = fake_version(db, 0.1)  # its naive reference errs by 90%: a lot more overstock
    registry.promote(scientist, vid, "go live", db=db)
    return db, vid


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [f"{m.label}={m.value} {m.delta}" for m in at.metric] + [h.value for h in at.subheader]
    return "\n".join(str(p) for p in parts)


def test_effect_matches_the_simulation(live, viewer, manager, tmp_path):
    db, vid = live
    eff = simulate.effect(viewer, db)
    sim = simulate.simulate(viewer, None, db).table.set_index("policy")
    mine, naive = sim.loc[f"version {vid}"], sim.loc["seasonal naive"]
    assert eff.version == vid
    assert eff.overstock_change == pytest.approx(
        (mine["avg_overstock"] - naive["avg_overstock"]) / naive["avg_overstock"])
    assert eff.overstock_change < 0  # the 10% forecast beats the 90% one
    assert eff.availability == pytest.approx(mine["availability"])
    assert eff.naive_availability == pytest.approx(naive["availability"])
    assert f"cut overstock by {abs(eff.overstock_change):.0%}" in eff.sentence
    # kept per active version and inventory upload: a new policy file is seen at once
    from core.inventory import inputs

    (tmp_path / "policy.csv").write_text("sku,lead_time,review_period\nBEV-001,4,3\nSNK-002,3,2\n")
    inputs.ingest_inventory(db, manager, tmp_path / "policy.csv", "policy")
    again = simulate.effect(viewer, db)
    sim = simulate.simulate(viewer, None, db).table.set_index("policy")
    assert again != eff
    assert again.availability == pytest.approx(sim.loc[f"version {vid}", "availability"])


def test_no_effect_without_an_active_version(db, tmp_path, scientist, viewer):
    load_demo(db, tmp_path, scientist, n_skus=2, n_stores=1, days=40)
    fake_version(db, 0.1)
    assert simulate.effect(viewer, db) is None


def test_share_link_shows_the_effect_only_and_writes_nothing(live, manager):
    db, _ = live
    from core.inventory import overrides

    overrides.set_override(manager, "BEV-001", "2026-01-01", "2030-01-01", "pct", 20, "event",
                           "secret-note", db=db)
    eff = simulate.effect(Actor("vic", "viewer"), db)
    make_user("sam-link", "scientist")
    link = sharing.create(Actor("sam-link", "scientist"), "board", "7d", db)
    token = parse_qs(urlparse(link.url).query)["share"][0]
    ensure_account(Actor("vic", "viewer"))
    before = content_hash(db, skip=("share_links",))

    at = link_app(token)
    assert not at.exception, at.exception
    shown = _texts(at)
    assert "Inventory effect" in shown
    assert f"**{100 * eff.overstock_change:+.0f}%** overstock against seasonal naive" in shown
    assert f"**{100 * eff.availability:.1f}%** on-shelf availability" in shown
    assert eff.sentence in shown
    for secret in ("BEV-001", "SNK-002", "secret-note", "order_qty", "reorder", "Order now", "on hand",
                   "Replenishment"):
        assert secret not in shown, secret
    assert not at.dataframe and not at.get("download_button")
    assert content_hash(db, skip=("share_links",)) == before

    at = open_page("overview", Actor("vic", "viewer"))  # the same block for a signed-in viewer
    assert not at.exception, at.exception
    assert eff.sentence in _texts(at)
    assert content_hash(db, skip=("share_links",)) == before
