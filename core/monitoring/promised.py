"""An accuracy rule relative to what the version promised: alert when a SKU's live accuracy is
more than a margin below that version's own backtest accuracy on the same SKU and grain.

Why: an absolute 88% fires on every SKU whose backtest was already under 88% (on the demo the
backtest says 81.5%), so most alerts named SKUs doing exactly as well as promised. Measured
against the backtest, an alert means deterioration. The data scientist picks absolute or relative
when promoting (`set_accuracy_rule`): the store's default accuracy rule switches kind in place,
keeping its id, window, scope and history.
"""

from __future__ import annotations

from core.access import Actor, require
from core.monitoring.rules import (
    DEFAULT_MARGIN,
    AccuracyRule,
    PromisedAccuracyRule,
    Rule,
    rules,
    save_rule,
)

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
