"""Rule kinds declare each param once, as a form field: its typed params, defaults and checks
come from it, and every kind registers itself."""

from __future__ import annotations

from dataclasses import asdict, fields

import pytest

from core import monitoring
from core.errors import ValidationError
from core.monitoring.rules import RULE_KINDS


def test_every_kind_is_registered_in_order():
    assert list(RULE_KINDS) == ["accuracy", "data_drift", "concept_drift", "promised_accuracy", "feed_freshness",
                                "series_stopped", "upload_volume", "regressor_plans"]
    assert monitoring.KIND_LABELS["series_stopped"] == "Series stopped selling"


@pytest.mark.parametrize("kind", list(RULE_KINDS))
def test_params_are_typed_from_the_form_fields(kind):
    spec = RULE_KINDS[kind]
    p = spec.params({"not_a_field": 1})
    assert asdict(p) == {f.name: f.default for f in spec.fields}
    assert [(f.name, f.type) for f in fields(p)] == [(f.name, type(f.default)) for f in spec.fields]
    with pytest.raises(AttributeError):  # frozen
        p.x = 1
    assert spec.threshold_label == spec.threshold_field.label
    assert spec.default_threshold == spec.threshold_field.default


def test_params_are_checked_with_the_field_label():
    stopped = RULE_KINDS["series_stopped"]
    assert stopped.params({"reference": "14", "min_share": 0.5}) == stopped.Params(14, 0.5)
    with pytest.raises(ValidationError, match="Reference periods must be a whole number between 2 and 730"):
        stopped.params({"reference": 1})
    with pytest.raises(ValidationError, match="whole number"):
        stopped.params({"reference": 10.5})
    with pytest.raises(ValidationError, match="Regular = sold .* must be a number"):
        stopped.params({"min_share": "lots"})
    with pytest.raises(ValidationError, match="Data drift test must be one of auto"):
        RULE_KINDS["data_drift"].params({"method": "nope"})
    assert RULE_KINDS["data_drift"].params({"regressors": 1}).regressors is True


def test_save_rule_refuses_bad_params_and_stores_typed_ones(db, scientist):
    with pytest.raises(ValidationError, match="Minimum bias"):
        monitoring.save_rule(scientist, db, name="x", kind="concept_drift", threshold=0.1,
                             params={"bias_min": 9})
    assert monitoring.rules(db) == []  # refused before anything was written
    r = monitoring.save_rule(scientist, db, name="plans", kind="regressor_plans", threshold=0,
                             params={"lookback_days": 14})
    again = next(x for x in monitoring.rules(db) if x.id == r.id)
    assert again.params_dict() == {"horizon_days": 0, "lookback_days": 14}
    assert isinstance(again.params.lookback_days, int)
