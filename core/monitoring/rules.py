"""Alert rules: each kind is a class with typed params, their validation, the form fields the
Rules tab renders, and its evaluation (which SKUs fire now). Params are stored as JSON and
decoded here, where rows leave the store; pages get `Rule` objects, never JSON text.

Default rules are created by the first write that needs them (an evaluation, a rule edit), never
by a read: `ensure_default_rules` is called only from write paths.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, make_dataclass
from datetime import datetime
from typing import Any, ClassVar

import pandas as pd

from core import config
from core.access import Actor, require
from core.errors import NotFound, ValidationError
from core.monitoring.accuracy import sku_accuracy
from core.monitoring.drift import DRIFT_METHODS, concept_drift, data_drift
from core.monitoring.windows import GRAINS, LEVELS, Filters, default_grain
from core.store import datasets, session
from core.store import monitoring as ms
from core.store.base import now


@dataclass(frozen=True)
class FormField:
    """One input of a rule kind's form and the check of its value. Its widget follows the
    default's type: a checkbox for a bool, a choice among `limits` for text, else a number input
    with `limits` = (min, max, step), whole numbers for an int."""

    name: str
    label: str
    default: Any
    limits: tuple = ()
    help: str = ""

    def read(self, raw: dict) -> Any:
        """The value in `raw` (the default when missing), refused with the field's label when it
        is not one the form could have sent."""
        v = raw.get(self.name, self.default)
        if isinstance(self.default, bool):
            return bool(v)
        if isinstance(self.default, str):
            if v not in self.limits:
                raise ValidationError(f"{self.label} must be one of {', '.join(self.limits)}.")
            return str(v)
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise ValidationError(f"{self.label} must be a number.") from None
        lo, hi = self.limits[:2] if self.limits else (-float("inf"), float("inf"))
        whole = isinstance(self.default, int)
        if not lo <= x <= hi or (whole and x != int(x)):
            raise ValidationError(f"{self.label} must be a {'whole number' if whole else 'number'} "
                                  f"between {lo:g} and {hi:g}.")
        return int(x) if whole else x


@dataclass(frozen=True)
class Finding:
    """Where a rule's condition holds now: one SKU (store '*' = stores summed) or SKU × store."""

    sku: str
    store: str
    value: float | None
    message: str
    details: dict


def _pct(x: float | None) -> str:
    return "–" if x is None or pd.isna(x) else f"{100 * x:.1f}%"


RULE_KINDS: dict[str, type[RuleKind]] = {}  # kind -> class, filled as the kinds are defined


class RuleKind:
    """A kind of rule: `class X(RuleKind, kind=..., label=...)` registers it. Subclasses set the
    form fields of the threshold and of their params, and implement `findings`. The fields are
    the one definition of each param: its typed, frozen dataclass (`Params`) and its checks are
    made from them."""

    kind: ClassVar[str]
    label: ClassVar[str]
    threshold_field: ClassVar[FormField]
    fields: ClassVar[tuple[FormField, ...]] = ()
    Params: ClassVar[type]
    # False for kinds that judge the data feed, not the forecast: they can run with no version
    # active or before its first actuals (core.monitoring.quality).
    needs_forecast: ClassVar[bool] = True

    def __init_subclass__(cls, kind: str = "", label: str = "", **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if not kind:  # a family of kinds (core.monitoring.quality.QualityKind)
            return
        cls.kind, cls.label = kind, label
        cls.Params = make_dataclass(f"{cls.__name__}Params", [
            (f.name, type(f.default), field(default=f.default)) for f in cls.fields], frozen=True)
        t = cls.threshold_field  # and the names the Rules form reads
        cls.threshold_label, cls.threshold_help, cls.default_threshold = t.label, t.help, t.default
        RULE_KINDS[kind] = cls

    @classmethod
    def check_threshold(cls, threshold: float) -> float:
        return float(cls.threshold_field.read({cls.threshold_field.name: threshold}))

    @classmethod
    def params(cls, raw: dict) -> Any:
        """Typed, validated params from a dict (unknown keys ignored, missing ones defaulted)."""
        return cls.Params(**{f.name: f.read(raw) for f in cls.fields})

    @classmethod
    def findings(cls, rule: Rule, info: dict, db) -> dict[tuple[str, str], Finding]:
        raise NotImplementedError


def in_scope(rule: Rule, df: pd.DataFrame) -> pd.DataFrame:
    """The rows of a per-SKU / per-store result that the rule's SKU and store lists keep."""
    for col, keep in (("sku", rule.skus), ("store", rule.stores)):
        if keep and col in df:
            df = df[df[col].isin(keep)]
    return df


class AccuracyRule(RuleKind, kind="accuracy", label="Accuracy below threshold"):
    threshold_field = FormField(
        "threshold", "Minimum accuracy (share)", config.ACCURACY_THRESHOLD, (0.0, 1.0, 0.01),
        help="Alert when 1 − WAPE over the window is below this, e.g. 0.88 for 88%.")
    fields = (FormField("min_units", "Minimum units in window", 100.0, (0, 10**12, 1),
                        help="Ignore SKUs that sold fewer units: their percentage is noise."),)

    @classmethod
    def check_threshold(cls, threshold: float) -> float:
        if not 0 < threshold < 1:
            raise ValidationError("An accuracy threshold is a share between 0 and 1, e.g. 0.88 for 88%.")
        return float(threshold)

    @classmethod
    def findings(cls, rule: Rule, info: dict, db) -> dict[tuple[str, str], Finding]:
        acc = sku_accuracy(db, rule.window, rule.grain, rule.level, rule.filters, rule.threshold)
        hit = acc[acc["accuracy"].notna() & (acc["accuracy"] < rule.threshold)
                  & (acc["units"] >= rule.params.min_units)]
        return _accuracy_findings(hit, lambda r: (
            f"Accuracy {_pct(r.accuracy)} over the last {rule.window} {rule.grain}s is below "
            f"{_pct(rule.threshold)} (backtest {_pct(r.backtest_accuracy)}; bias {_pct(r.bias)}, "
            f"{r.direction})."))


def _accuracy_findings(hit: pd.DataFrame, say) -> dict[tuple[str, str], Finding]:
    """One finding per SKU (x store) row of sku_accuracy that an accuracy kind flags, with the
    kind's sentence `say(row)`."""
    return {(r.sku, r.store): Finding(
        r.sku, r.store, float(r.accuracy), say(r),
        {"accuracy": r.accuracy, "backtest_accuracy": r.backtest_accuracy, "bias": r.bias,
         "direction": r.direction, "units": r.units}) for r in hit.itertuples(index=False)}


class DataDriftRule(RuleKind, kind="data_drift", label="Data drift"):
    threshold_field = FormField(
        "threshold", "Threshold (unused: each test has its own)", 0.0,
        help="Data drift uses the test's own threshold (KS p < 0.05, Wasserstein > 0.1, PSI > 0.2).")
    fields = (
        FormField("method", "Data drift test", "auto", DRIFT_METHODS),
        FormField("min_change", "Minimum change of the mean", 0.25, (0.0, 10.0, 0.05),
                  help="Alert on demand only when its mean moved at least this much (0.25 = 25%)."),
        FormField("regressors", "Include regressors", False,
                  help="Also alert when price, promo or other regressors drift."),
    )

    @classmethod
    def findings(cls, rule: Rule, info: dict, db) -> dict[tuple[str, str], Finding]:
        p = rule.params
        dd = data_drift(db, rule.window, rule.grain, rule.level, p.method, rule.filters, info=info,
                        units_only=not p.regressors)
        dd = dd[dd["drifted"] & ((dd["column"] != "units") | (dd["change"].abs() >= p.min_change))]
        out = {}
        for (sku, store), hit in dd.groupby(["sku", "store"], sort=True):
            first = hit.iloc[0]
            out[(sku, store)] = Finding(
                sku, store, float(first["score"]),
                f"Data drift in {', '.join(hit['column'])}: {first['test']} {first['score']:.3g} "
                f"(threshold {first['threshold']:.3g}); mean {first['ref_mean']:.1f} → "
                f"{first['cur_mean']:.1f} ({first['change']:+.0%}) vs {first['reference']}.",
                {"columns": list(hit["column"]), "test": first["test"], "score": first["score"],
                 "ref_mean": first["ref_mean"], "cur_mean": first["cur_mean"]})
        return out


class ConceptDriftRule(RuleKind, kind="concept_drift", label="Concept drift"):
    threshold_field = FormField(
        "threshold", "Margin in WAPE points (share)", 0.10, (0.0, 1.0, 0.01),
        help="Alert when the live WAPE is worse than the backtest WAPE by more than this, e.g. 0.10.")
    fields = (
        FormField("bias_periods", "Bias periods", 3, (1, 52, 1),
                  help="Also alert when the bias leans the same way in each of this many periods."),
        FormField("bias_min", "Minimum bias", 0.10, (0.0, 5.0, 0.01)),
        FormField("min_units", "Minimum units in window", 100.0, (0, 10**12, 1)),
    )

    @classmethod
    def check_threshold(cls, threshold: float) -> float:
        if not 0 <= threshold < 1:
            raise ValidationError("The concept-drift margin is in WAPE points between 0 and 1, e.g. 0.10.")
        return float(threshold)

    @classmethod
    def findings(cls, rule: Rule, info: dict, db) -> dict[tuple[str, str], Finding]:
        p = rule.params
        cd = concept_drift(db, rule.window, rule.grain, rule.level, rule.threshold,
                           p.bias_periods, p.bias_min, rule.filters)
        out = {}
        for r in cd[cd["drifted"] & (cd["units"] >= p.min_units)].itertuples(index=False):
            why = []
            if r.wape_drift:
                why.append(f"WAPE {_pct(r.live_wape)} vs backtest {_pct(r.backtest_wape)} "
                           f"(+{100 * r.excess:.1f} points, margin {100 * rule.threshold:.0f})")
            if r.bias_drift:
                why.append(f"{r.streak_direction} bias in each of the last {r.bias_streak} {rule.grain}s")
            out[(r.sku, r.store)] = Finding(
                r.sku, r.store, None if pd.isna(r.excess) else float(r.excess),
                "Concept drift: " + "; ".join(why) + ".",
                {"live_wape": r.live_wape, "backtest_wape": r.backtest_wape,
                 "bias_direction": r.streak_direction})
        return out



DEFAULT_MARGIN = 0.08  # 8 accuracy points below the backtest (core.monitoring.promised)


class PromisedAccuracyRule(RuleKind, kind="promised_accuracy", label="Accuracy below what the version promised"):
    threshold_field = FormField(
        "threshold", "Points below the backtest (share)", DEFAULT_MARGIN, (0.0, 0.99, 0.01),
        help=("Alert when accuracy over the window is more than this below the version's own "
              "backtest accuracy for the SKU, e.g. 0.08 for 8 points."))
    fields = (FormField("min_units", "Minimum units in window", 100.0, (0, 10**12, 1),
                        help="Ignore SKUs that sold fewer units: their percentage is noise."),)
    # The margin's range is its form field's (0 to 0.99), checked by RuleKind.check_threshold.

    @classmethod
    def findings(cls, rule: Rule, info: dict, db) -> dict[tuple[str, str], Finding]:
        acc = sku_accuracy(db, rule.window, rule.grain, rule.level, rule.filters, 0.0)
        hit = acc[acc["accuracy"].notna() & acc["backtest_accuracy"].notna()
                  & (acc["accuracy"] < acc["backtest_accuracy"] - rule.threshold)
                  & (acc["units"] >= rule.params.min_units)]
        return _accuracy_findings(hit, lambda r: (
            f"Accuracy {_pct(max(0.0, r.accuracy))} over the last {rule.window} {rule.grain}s is "
            f"{100 * (r.backtest_accuracy - r.accuracy):.1f} points below the {_pct(r.backtest_accuracy)} "
            f"its backtest promised (margin {100 * rule.threshold:.0f}; bias {_pct(r.bias)}, {r.direction})."))


# The data-quality kinds build on RuleKind, Finding and FormField above, hence this late import
# (which registers them).
import core.monitoring.quality  # noqa: E402, F401

KINDS = tuple(RULE_KINDS)
KIND_LABELS = {k: c.label for k, c in RULE_KINDS.items()}


def kind_of(kind: str) -> type[RuleKind]:
    try:
        return RULE_KINDS[kind]
    except KeyError:
        raise ValidationError(f"Rule kind must be one of {', '.join(KINDS)}.") from None


@dataclass(frozen=True)
class Rule:
    """An alert rule as pages and the CLI see it: params typed, scope lists decoded."""

    id: int
    name: str
    kind: str
    threshold: float
    window: int
    grain: str
    level: str
    params: Any
    skus: list[str] = field(default_factory=list)
    stores: list[str] = field(default_factory=list)
    enabled: bool = True
    is_default: bool = False
    updated_by: str = "system"
    updated_at: datetime | None = None

    @property
    def spec(self) -> type[RuleKind]:
        return RULE_KINDS[self.kind]

    @property
    def filters(self) -> Filters:
        return Filters(skus=list(self.skus), stores=list(self.stores))

    def params_dict(self) -> dict:
        return asdict(self.params)

    @classmethod
    def from_row(cls, r: ms.AlertRule) -> Rule:
        spec = kind_of(r.kind)
        try:
            raw = json.loads(r.params or "{}")
        except ValueError:
            raw = {}
        known = {f.name for f in spec.fields}
        return cls(int(r.id), r.name, r.kind, float(r.threshold), int(r.window), r.grain, r.level,
                   spec.params({k: v for k, v in (raw if isinstance(raw, dict) else {}).items() if k in known}),
                   json.loads(r.skus or "[]"), json.loads(r.stores or "[]"), bool(r.enabled),
                   bool(r.is_default), r.updated_by, r.updated_at)


DEFAULT_RULES = [
    ("Accuracy below 88%", AccuracyRule),
    ("Data drift in demand", DataDriftRule),
    ("Concept drift (error above backtest)", ConceptDriftRule),
]


def ensure_default_rules(s) -> None:
    """Inside a write transaction: the three default rules, in a store that has no rules yet."""
    if ms.list_rules(s):
        return
    grain, window = default_grain(datasets.get_setting(s, "freq"))
    for name, spec in DEFAULT_RULES:
        ms.save_rule(s, ms.AlertRule(name=name, kind=spec.kind, threshold=spec.threshold_field.default,
                                     window=window, grain=grain, params=json.dumps(asdict(spec.params({}))),
                                     is_default=True))


def rule_row(s, rule_id: int) -> ms.AlertRule:
    """The stored rule, or NotFound naming it."""
    row = ms.get_rule(s, rule_id)
    if row is None:
        raise NotFound(f"Alert rule {rule_id} does not exist.")
    return row


def rules(db=None) -> list[Rule]:
    """The rules as stored (a read: creates nothing)."""
    with session(db) as s:
        return [Rule.from_row(r) for r in ms.list_rules(s)]


def save_rule(actor: Actor, db=None, rule_id: int | None = None, *, name: str, kind: str,
              threshold: float, window: int = 4, grain: str = "week", level: str = "sku",
              params: dict | None = None, skus: list[str] | None = None,
              stores: list[str] | None = None, enabled: bool = True) -> Rule:
    """Create or change a rule (data scientists); every problem is refused before anything is
    written. The caller (core.monitoring.Monitoring / the page) re-evaluates after it."""
    require(actor, "edit_alert_rules")
    name = (name or "").strip()
    if not name:
        raise ValidationError("Give the rule a name.")
    spec = kind_of(kind)
    if grain not in GRAINS:
        raise ValidationError("The window is counted in days, weeks or months.")
    if level not in LEVELS:
        raise ValidationError("Level must be 'sku' (stores summed) or 'series' (each SKU × store).")
    if not 1 <= int(window) <= 104:
        raise ValidationError("The window must be between 1 and 104 periods.")
    thr = spec.check_threshold(threshold)
    typed = spec.params(params or {})
    with session(db, write=True) as s:
        ensure_default_rules(s)
        row = rule_row(s, rule_id) if rule_id else ms.AlertRule(name=name, kind=kind, threshold=thr)
        row.name, row.kind, row.threshold = name, kind, thr
        row.window, row.grain, row.level = int(window), grain, level
        row.params = json.dumps(asdict(typed))
        row.skus, row.stores = json.dumps(sorted(skus or [])), json.dumps(sorted(stores or []))
        row.enabled, row.updated_by, row.updated_at = bool(enabled), actor.name, now()
        return Rule.from_row(ms.save_rule(s, row))
