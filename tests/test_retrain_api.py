"""core.api's retraining area: its mutations refuse a share link (and a viewer) before touching
anything; its reads write nothing."""

from __future__ import annotations

import inspect

import pytest

from core import registry, training
from core.access import Actor
from core.api import Shelfcast
from core.errors import PermissionDenied
from tests.test_access_matrix import snapshot
from tests.train_helpers import make_store

LINK = Actor("share link 9", "viewer", via_link=True)
SCI = Actor("sam", "scientist")


def test_retraining_area(tmp_path):
    db = make_store(tmp_path, n_skus=2, days=60)
    first = training.train(SCI, "naive", horizon=7, folds=1, db=db)
    registry.promote(SCI, first, "go", db=db)
    second = training.train(SCI, "naive", horizon=7, folds=1, db=db)
    api = Shelfcast(db)
    found = {n: fn for n, fn in inspect.getmembers(api.retraining, inspect.ismethod)
             if not n.startswith("_") and "actor" in inspect.signature(fn).parameters}
    assert set(found) == {"set_policy", "apply", "add_challenger", "remove_challenger"}
    before = snapshot(db)
    for name, fn in found.items():
        for who in (LINK, Actor("vic", "viewer")):
            args = {p: None for p in inspect.signature(fn).parameters if p not in ("actor", "values")}
            with pytest.raises(PermissionDenied):
                fn(who, **args)
            assert snapshot(db) == before, name

    api.retraining.set_policy(SCI, new_periods=3, model="naive", folds=1)
    api.retraining.add_challenger(SCI, second)
    before = snapshot(db)
    assert api.retraining.policy().new_periods == 3
    d = api.retraining.decide()
    assert d.reasons == [] and d.new_periods == 0
    assert [c["version_id"] for c in api.retraining.challengers()] == [second]
    rep = api.retraining.challenger_report()
    assert rep.champion == first and rep.duels == [] and "No actuals" in rep.message
    assert api.retraining.runs() == []
    assert snapshot(db) == before
