"""An accuracy rule relative to what the version promised: alert when a SKU's live accuracy is
more than a margin below that version's own backtest accuracy on the same SKU and grain.

Why: an absolute 88% fires on every SKU whose backtest was already under 88% (on the demo the
backtest says 81.5%), so most alerts named SKUs doing exactly as well as promised. Measured
against the backtest, an alert means deterioration. The data scientist picks absolute or relative
when promoting (`set_accuracy_rule`): the store's default accuracy rule switches kind in place,
keeping its id, window, scope and history.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.access import Actor, require
from core.errors import ValidationError
from core.monitoring.accuracy import sku_accuracy
from core.monitoring.rules import (
    KIND_LABELS,
    RULE_KINDS,
    AccuracyRule,
    Finding,
    FormField,
    Rule,
    RuleKind,
    _number,
    _pct,
    rules,
    save_rule,
)

DEFAULT_MARGIN = 0.08  # 8 accuracy points below the backtest


@dataclass(frozen=True)
class PromisedParams:
    min_units: float = 100.0


class PromisedAccuracyRule(RuleKind):
    kind = "promised_accuracy"
    label = "Accuracy below what the version promised"
    threshold_label = "Points below the backtest (share)"
    threshold_help = ("Alert when accuracy over the window is more than this below the version's own "
                      "backtest accuracy for the SKU, e.g. 0.08 for 8 points.")
    default_threshold = DEFAULT_MARGIN
    fields = (FormField("min_units", "Minimum units in window", 100, (0, 10**9, 1),
                        help="Ignore SKUs that sold fewer units: their percentage is noise."),)

    @classmethod
    def check_threshold(cls, threshold: float) -> float:
        if not 0 <= threshold < 1:
            raise ValidationError("The margin is a share of accuracy between 0 and 1, e.g. 0.08 for 8 points.")
        return float(threshold)

    @classmethod
    def params(cls, raw: dict) -> PromisedParams:
        return PromisedParams(_number(raw, "min_units", 100, 0, 1e12, "Minimum units"))

    @classmethod
    def findings(cls, rule: Rule, info: dict, db) -> dict[tuple[str, str], Finding]:
        acc = sku_accuracy(db, rule.window, rule.grain, rule.level, rule.filters, 0.0)
        hit = acc[acc["accuracy"].notna() & acc["backtest_accuracy"].notna()
                  & (acc["accuracy"] < acc["backtest_accuracy"] - rule.threshold)
                  & (acc["units"] >= rule.params.min_units)]
        return {(r.sku, r.store): Finding(
            r.sku, r.store, float(r.accuracy),
            f"Accuracy {_pct(max(0.0, r.accuracy))} over the last {rule.window} {rule.grain}s is "
            f"{100 * (r.backtest_accuracy - r.accuracy):.1f} points below the {_pct(r.backtest_accuracy)} "
            f"its backtest promised (margin {100 * rule.threshold:.0f}; bias {_pct(r.bias)}, {r.direction}).",
            {"accuracy": r.accuracy, "backtest_accuracy": r.backtest_accuracy, "bias": r.bias,
             "direction": r.direction, "units": r.units}) for r in hit.itertuples(index=False)}


# Registered here until rules.py lists it (RULE_KINDS); core.monitoring.alerts imports this module,
# so every process that reads or evaluates rules knows the kind.
RULE_KINDS.setdefault(PromisedAccuracyRule.kind, PromisedAccuracyRule)
KIND_LABELS.setdefault(PromisedAccuracyRule.kind, PromisedAccuracyRule.label)
ACCURACY_KINDS = (AccuracyRule.kind, PromisedAccuracyRule.kind)


def accuracy_rule(db=None) -> Rule | None:
    """The store's default accuracy rule (absolute or relative), None before the first evaluation."""
    return next((r for r in rules(db) if r.is_default and r.kind in ACCURACY_KINDS), None)


def set_accuracy_rule(actor: Actor, relative: bool, db=None, margin: float = DEFAULT_MARGIN) -> Rule | None:
    """Switch the default accuracy rule between the absolute threshold and `margin` points below
    the backtest. Nothing to switch (None) before the rules exist or when already so."""
    require(actor, "edit_alert_rules")
    r = accuracy_rule(db)
    kind = PromisedAccuracyRule.kind if relative else AccuracyRule.kind
    if r is None or r.kind == kind:
        return None
    name = (f"Accuracy {100 * margin:.0f} points below its backtest" if relative
            else f"Accuracy below {100 * AccuracyRule.default_threshold:.0f}%")
    thr = margin if relative else AccuracyRule.default_threshold
    saved = save_rule(actor, db, r.id, name=name, kind=kind, threshold=thr, window=r.window, grain=r.grain,
                      level=r.level, params=r.params_dict(), skus=r.skus, stores=r.stores, enabled=r.enabled)
    from core.monitoring.alerts import evaluate_after_write  # alerts imports this module

    evaluate_after_write(actor, db, "the rule change")  # its alerts follow the new rule now
    return saved
