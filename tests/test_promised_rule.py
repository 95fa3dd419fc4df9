"""The accuracy rule relative to the version's own backtest: picked instead of the absolute 88%,
it alerts only where a SKU does worse than the version promised (by more than the margin)."""

from __future__ import annotations

import pytest

from core import monitoring
from core.access import Actor
from core.errors import PermissionDenied
from core.monitoring import promised
from tests.monitor_helpers import MONITORED_SPEC

SPEC = MONITORED_SPEC
SCI = Actor("sam", "scientist")


@pytest.fixture
def store(monitored):
    return monitored


def _accuracy_alerts(db) -> set[str]:
    return {a["sku"] for a in monitoring.alerts(db, ["open"]) if a["kind"] in promised.ACCURACY_KINDS}


def test_relative_rule_alerts_only_below_the_promise(store):
    rule = promised.accuracy_rule(store)
    assert rule.kind == "accuracy"
    acc = monitoring.Monitoring(store).accuracy(rule.window, rule.grain, "sku")
    big = acc[acc["units"] >= 100]
    absolute = set(big.loc[big["accuracy"] < rule.threshold, "sku"])
    relative = set(big.loc[big["accuracy"] < big["backtest_accuracy"] - promised.DEFAULT_MARGIN, "sku"])
    assert _accuracy_alerts(store) == absolute and relative != absolute  # the choice matters here

    with pytest.raises(PermissionDenied):
        promised.set_accuracy_rule(Actor("maya", "manager"), True, store)
    assert promised.accuracy_rule(store).kind == "accuracy"

    promised.set_accuracy_rule(SCI, True, store)
    now = promised.accuracy_rule(store)
    assert now.id == rule.id and now.kind == "promised_accuracy" and now.threshold == promised.DEFAULT_MARGIN
    assert _accuracy_alerts(store) == relative  # re-evaluated at once
    msg = next(a["message"] for a in monitoring.alerts(store, ["open"]) if a["kind"] == "promised_accuracy")
    assert "points below the" in msg and "promised" in msg
    assert promised.set_accuracy_rule(SCI, True, store) is None  # already so: nothing written

    promised.set_accuracy_rule(SCI, False, store)
    assert promised.accuracy_rule(store).kind == "accuracy" and _accuracy_alerts(store) == absolute


def test_picked_on_compare_when_promoting(db, tmp_path):
    from core import registry, training
    from tests.registry_fixtures import load_demo
    from tests.test_compare_page import open_compare

    load_demo(db, tmp_path, SCI, n_skus=4, n_stores=2, days=50)
    a = training.train(SCI, "naive", horizon=14, folds=2, db=db)
    at = open_compare("scientist")
    at.selectbox(key="promote-version").set_value(a).run()
    at.radio(key="promote-rule").set_value("8 points below its own backtest").run()
    at.text_area(key="promote-note").input("relative alerts from now on").run()
    at.button(key="promote-go").click().run()
    assert not at.exception, at.exception
    assert registry.active_version(db) == a
    assert promised.accuracy_rule(db).kind == "promised_accuracy"
