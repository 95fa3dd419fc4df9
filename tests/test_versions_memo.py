"""The Train page's explanation reads are shared reads: a global model's metadata file (4.6 MB
at 100,000 series) is read and checked once per state of the store, not on every view."""

from __future__ import annotations

from core import artifacts, registry, sharing, training
from core.access import Actor
from core.api import Shelfcast
from tests.train_helpers import make_store

SCI = Actor("sam", "scientist")
ADMIN = Actor("ada", "admin")


def test_feature_importance_read_once_per_store_state(tmp_path, monkeypatch):
    db = make_store(tmp_path, n_skus=3, days=120)
    vid = training.train(SCI, "sklearn", horizon=7, folds=1,
                         options={"max_iter": 10, "estimator": "ridge"}, db=db)
    reads = []
    real = artifacts.read
    monkeypatch.setattr(artifacts, "read", lambda d, row: reads.append(row.path) or real(d, row))
    api = Shelfcast(db)
    first = api.versions.feature_importance(vid)
    again = api.versions.feature_importance(vid)
    assert len(reads) == 1 and not first.empty
    assert again.equals(first)
    sharing.create(ADMIN, "a link", 1, db)  # an account-side write (auth=True) leaves it cached
    assert api.versions.feature_importance(vid).equals(first)
    assert len(reads) == 1
    registry.archive(ADMIN, vid, db, note="a write")  # the store changed: read (and check) it again
    assert api.versions.feature_importance(vid).equals(first)
    assert len(reads) == 2
