"""Reads are pure: opening my pages (Data, Train, Compare, Share links, Access) as each role that
sees them writes nothing to the store (issue 11). Overview and Monitor are api-monitor's and
covered by their tests."""

from __future__ import annotations

import pytest

from core import registry, training
from core.access import Actor
from tests.helpers import open_page
from tests.test_access_matrix import snapshot
from tests.train_helpers import make_store

PAGES = {"data": "viewer", "train": "scientist", "compare": "viewer", "share": "scientist",
         "admin": "admin"}


@pytest.mark.slow
def test_page_views_write_nothing(tmp_path, monkeypatch):
    db = make_store(tmp_path, n_skus=2, days=120)
    monkeypatch.setenv("SHELFCAST_DB", str(db))
    sci = Actor("sam", "scientist")
    v1 = training.train(sci, "naive", horizon=7, folds=1, db=db)
    training.train(sci, "naive", horizon=7, folds=2, db=db)
    registry.promote(sci, v1, "first", db=db)
    actors = {role: Actor(f"{role}-1", role) for role in set(PAGES.values())}
    for a in actors.values():  # accounts first: creating them is a write
        open_page("data", a)
    before = snapshot(db)
    for url, role in PAGES.items():
        at = open_page(url, actors[role])
        assert not at.exception, (url, at.exception)
        at.run()
        assert snapshot(db) == before, url
