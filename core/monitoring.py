"""Watching the active forecast against incoming actuals: accuracy over time, data and concept
drift, and the alert rules that turn them into alerts.

Numbers come from DuckDB (core.store.monitoring aggregates); this module picks windows, runs the
statistical tests (scipy.stats; nothing hand-rolled) and applies the rules. Windows are counted in
periods of a grain (week or month; day for short checks), because a daily SKU forecast judged day
by day is mostly Poisson noise: the replenishment question is "was the week right?".

Accuracy is 1 − WAPE (sum |forecast − actual| / sum actual), floored at 0. At SKU level the stores
in scope are summed per date before the error is taken. Bias is (forecast − actual) / actual:
positive means overstock risk, negative means lost sales.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import warnings
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy import stats

from core import config
from core.access import Actor, require
from core.errors import NotFound, ValidationError
from core.store import monitoring as ms
from core.store import session
from core.store.base import now

log = logging.getLogger(__name__)

KINDS = ("accuracy", "data_drift", "concept_drift")
KIND_LABELS = {"accuracy": "Accuracy below threshold", "data_drift": "Data drift",
               "concept_drift": "Concept drift"}
DRIFT_METHODS = ("auto", "ks", "wasserstein", "psi")
KS_P = 0.05  # drift when the KS p-value is below this
WASSERSTEIN_T = 0.1  # drift when the Wasserstein distance / reference std is above this
PSI_T = 0.2  # drift when the population stability index is above this
LARGE_SAMPLE = 1000  # 'auto': KS up to this many reference values, Wasserstein above (as Evidently)
MIN_DRIFT_VALUES = 7  # fewer current values than this: too early to test


# ---------------------------------------------------------------- windows

def default_grain(freq: str | None) -> tuple[str, int]:
    """(grain, window) that suits the store's frequency: 4 weeks for daily or weekly data,
    3 months for monthly data."""
    if freq and freq.startswith("M"):
        return "month", 3
    return "week", 4


def period_start(d: date, grain: str) -> date:
    if grain == "week":
        return d - timedelta(days=d.weekday())
    if grain == "month":
        return d.replace(day=1)
    return d


def shift_periods(d: date, grain: str, n: int) -> date:
    """`d` moved by n periods of the grain (n may be negative)."""
    if grain == "week":
        return d + timedelta(weeks=n)
    if grain == "month":
        m = d.month - 1 + n
        return date(d.year + m // 12, m % 12 + 1, 1)
    return d + timedelta(days=n)


def window_start(last: date, grain: str, window: int) -> date:
    """First date of the last `window` periods that end with the period holding `last`."""
    return shift_periods(period_start(last, grain), grain, -(max(1, int(window)) - 1))


def _as_date(v) -> date | None:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    return pd.Timestamp(v).date()


def category(sku: str) -> str:
    """A SKU's category: its prefix before the first '-' (BEV-001 -> BEV)."""
    return sku.split("-", 1)[0]


@dataclass
class Filters:
    """What the Monitor page or a rule looks at; empty lists mean everything."""

    skus: list[str] = field(default_factory=list)
    stores: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)

    def args(self) -> dict:
        return {"skus": self.skus or None, "stores": self.stores or None, "cats": self.categories or None}


# ---------------------------------------------------------------- the active version

_evaluating = contextvars.ContextVar("shelfcast_monitor_evaluating", default=False)


def sync(db=None) -> str:
    """Keep the stored live errors in step with the active version and the uploads. Cheap when
    nothing changed (one read); a write only after a promotion, rollback or upload.

    A promotion or rollback (core.registry knows nothing of monitoring) is noticed here, at the
    next read: the alerts are then re-evaluated for the new version, so the old version's alerts
    do not stay open until the next upload. A failure there is logged, never raised to a reader."""
    with session(db) as s:
        a, built, synced, last = ms.errors_state(s)
    if a == built and (synced or 0) == (last or 0):
        return "current"
    with session(db, write=True) as s:
        done = ms.sync_errors(s)
    if a != built and not _evaluating.get():
        try:
            from core.access import SYSTEM

            evaluate(SYSTEM, db)
        except Exception:  # noqa: BLE001 - a reader must still get its numbers
            log.exception("alert evaluation after a change of active version failed")
    return done


def active(db=None) -> dict | None:
    """The active version's id, kind, backtest accuracy and the span of forecasts and actuals;
    None when no version is active. Brings the stored errors up to date first."""
    sync(db)
    with session(db) as s:
        info = ms.active_info(s)
    if info is None:
        return None
    metrics = json.loads(info.pop("metrics") or "{}")
    wape = metrics.get("wape")
    info["backtest_accuracy"] = metrics.get("accuracy", None if wape is None else max(0.0, 1 - wape))
    for k in ("forecast_start", "forecast_end", "last_actual"):
        info[k] = _as_date(info[k])
    return info


# ---------------------------------------------------------------- accuracy

def accuracy_by_period(db=None, grain: str = "week", level: str = "sku",
                       filters: Filters | None = None) -> pd.DataFrame:
    sync(db)
    with session(db) as s:
        return ms.accuracy_by_period(s, grain, level, **(filters or Filters()).args())


def rolling_accuracy(db=None, window: int = 4, grain: str = "week", level: str = "sku",
                     filters: Filters | None = None) -> pd.DataFrame:
    sync(db)
    with session(db) as s:
        return ms.rolling_accuracy(s, window, grain, level, **(filters or Filters()).args())


def trend(db=None, grain: str = "week", filters: Filters | None = None) -> pd.DataFrame:
    """Accuracy of all SKUs in the filter together, per period."""
    sync(db)
    with session(db) as s:
        return ms.total_by_period(s, grain, **(filters or Filters()).args())


def sku_accuracy(db=None, window: int = 4, grain: str = "week", level: str = "sku",
                 filters: Filters | None = None,
                 threshold: float = config.ACCURACY_THRESHOLD) -> pd.DataFrame:
    """Per SKU (or SKU × store) over the last `window` periods: accuracy, backtest accuracy, the
    gap between them, bias and its direction, lost-sales and overstock units; worst first."""
    sync(db)
    with session(db) as s:
        last = ms.max_error_date(s)
        if last is None:
            return pd.DataFrame(columns=[
                "sku", "store", "category", "units", "forecast", "wape", "accuracy",
                "backtest_accuracy", "gap", "bias", "direction", "lost_units", "over_units", "below_threshold"])
        start = window_start(last, grain, window)
        args = (filters or Filters()).args()
        acc = ms.window_accuracy(s, start, grain, level, **args)
        bt = ms.backtest_wape(s, grain, level, **args)
    out = acc.merge(bt, on=["sku", "store"], how="left")
    out["backtest_accuracy"] = (1 - out["backtest_wape"]).clip(lower=0)
    out["gap"] = out["accuracy"] - out["backtest_accuracy"]
    out["direction"] = np.where(out["bias"] > 0, "overstock", np.where(out["bias"] < 0, "lost sales", "–"))
    out["category"] = out["sku"].map(category)
    out["below_threshold"] = out["accuracy"] < threshold
    out["window_start"] = start
    cols = ["sku", "store", "category", "units", "forecast", "wape", "accuracy", "backtest_accuracy",
            "gap", "bias", "direction", "lost_units", "over_units", "below_threshold", "window_start"]
    return out[cols].sort_values(["accuracy", "sku"], na_position="last").reset_index(drop=True)


def backtest_accuracy(db=None, grain: str = "week", filters: Filters | None = None) -> float | None:
    """The active version's backtest accuracy for the SKUs in the filter, measured like the live
    accuracy (SKU totals per period)."""
    with session(db) as s:
        bt = ms.backtest_total(s, grain, **(filters or Filters()).args())
    return None if bt is None else max(0.0, 1 - bt)


def forecast_vs_actual(db=None, sku: str = "", store: str | None = None,
                       history_days: int = 56) -> pd.DataFrame:
    sync(db)
    info = active(db)
    start = None
    if info and info["forecast_start"]:
        start = info["forecast_start"] - timedelta(days=history_days)
    with session(db) as s:
        return ms.forecast_vs_actual(s, sku, store, start)


# ---------------------------------------------------------------- data drift

def drift_test(ref: np.ndarray, cur: np.ndarray, method: str = "auto") -> dict:
    """One reference/current comparison with size-aware defaults (in the spirit of Evidently):
    two-sample KS (drift if p < 0.05) up to 1,000 reference values, the Wasserstein distance
    divided by the reference standard deviation (drift if > 0.1) above; PSI (drift if > 0.2) on
    request. Returns test, score, threshold and drifted."""
    ref = np.asarray(ref, dtype=float)
    cur = np.asarray(cur, dtype=float)
    if method not in DRIFT_METHODS:
        raise ValidationError(f"Drift method must be one of {', '.join(DRIFT_METHODS)}.")
    if method == "auto":
        method = "ks" if len(ref) <= LARGE_SAMPLE else "wasserstein"
    if method == "ks":
        with warnings.catch_warnings():  # "exact calculation unsuccessful": it falls back, fine
            warnings.simplefilter("ignore", RuntimeWarning)
            p = float(stats.ks_2samp(ref, cur).pvalue)
        return {"test": "KS p-value", "score": p, "threshold": KS_P, "drifted": p < KS_P}
    if method == "wasserstein":
        scale = float(np.std(ref)) or float(np.mean(np.abs(ref))) or 1.0
        d = float(stats.wasserstein_distance(ref, cur)) / scale
        return {"test": "Wasserstein (normed)", "score": d, "threshold": WASSERSTEIN_T,
                "drifted": d > WASSERSTEIN_T}
    psi = population_stability(ref, cur)
    return {"test": "PSI", "score": psi, "threshold": PSI_T, "drifted": psi > PSI_T}


def population_stability(ref: np.ndarray, cur: np.ndarray, bins: int = 10) -> float:
    """PSI over reference-quantile bins: sum (a − e) ln(a / e), which is KL(a‖e) + KL(e‖a), taken
    with scipy.stats.entropy. Empty bins get a small floor so the logarithm stays finite."""
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        edges = np.array([ref.min() - 0.5, ref.max() + 0.5])
    edges[0], edges[-1] = -np.inf, np.inf
    e = np.histogram(ref, edges)[0] / len(ref)
    a = np.histogram(cur, edges)[0] / len(cur)
    e, a = np.clip(e, 1e-4, None), np.clip(a, 1e-4, None)
    return float(stats.entropy(a, e) + stats.entropy(e, a))


def drift_windows(db=None, window: int = 4, grain: str = "week") -> dict | None:
    """The current window (the last `window` periods of actuals since the active version's
    forecasts began) and its reference: as many days of the training data just before the
    training cutoff. Adjacent windows keep trend and most seasonality out of the comparison
    (a same-weeks-last-year reference flagged ordinary year-on-year growth instead)."""
    info = active(db)
    if not info or not info["last_actual"] or not info["forecast_start"]:
        return None
    with session(db) as s:
        first, _ = ms.series_span(s)
    last, cut = info["last_actual"], info["forecast_start"]
    cur_start = max(window_start(last, grain, window), cut)
    n_days = (last - cur_start).days + 1
    train_end = cut - timedelta(days=1)
    ref = (max(first or train_end, train_end - timedelta(days=n_days - 1)), train_end)
    return {"reference": ref, "current": (cur_start, last),
            "reference_kind": "training data just before the cutoff", "current_days": n_days}


def data_drift(db=None, window: int = 4, grain: str = "week", level: str = "sku",
               method: str = "auto", filters: Filters | None = None,
               keep_values: bool = False) -> pd.DataFrame:
    """Per SKU (or SKU × store) and column (units, then each regressor): the test used, its
    score, whether it flags drift, sample sizes and means, and (keep_values) both samples."""
    w = drift_windows(db, window, grain)
    cols = ["sku", "store", "column", "test", "score", "threshold", "drifted", "n_ref", "n_cur",
            "ref_mean", "cur_mean", "change", "reference", "current"]
    if w is None:
        return pd.DataFrame(columns=cols)
    with session(db) as s:
        samples = ms.drift_samples(s, w["reference"], w["current"], level,
                                   **(filters or Filters()).args())
    rows = []
    for r in samples.itertuples(index=False):
        ref = np.asarray(r.ref if r.ref is not None else [], dtype=float)
        cur = np.asarray(r.cur if r.cur is not None else [], dtype=float)
        if len(ref) < MIN_DRIFT_VALUES or len(cur) < MIN_DRIFT_VALUES:
            continue
        res = drift_test(ref, cur, method)
        ref_mean, cur_mean = float(ref.mean()), float(cur.mean())
        row = {"sku": r.sku, "store": r.store, "column": r.col, **res, "n_ref": len(ref),
               "n_cur": len(cur), "ref_mean": ref_mean, "cur_mean": cur_mean,
               "change": (cur_mean - ref_mean) / abs(ref_mean) if ref_mean else np.nan,
               "reference": f"{w['reference'][0]} – {w['reference'][1]}",
               "current": f"{w['current'][0]} – {w['current'][1]}"}
        if keep_values:
            row["ref_values"], row["cur_values"] = ref, cur
        rows.append(row)
    out = pd.DataFrame(rows, columns=cols + (["ref_values", "cur_values"] if keep_values else []))
    return out


# ---------------------------------------------------------------- concept drift

def concept_drift(db=None, window: int = 4, grain: str = "week", level: str = "sku",
                  margin: float = 0.10, bias_periods: int = 3, bias_min: float = 0.10,
                  filters: Filters | None = None) -> pd.DataFrame:
    """Per SKU (or SKU × store): the live WAPE over the window against the backtest WAPE (drift
    when it is worse by more than `margin`, in WAPE points), and the bias of each of the last
    `bias_periods` periods (drift when all lean the same way by at least `bias_min`)."""
    acc = sku_accuracy(db, window, grain, level, filters)
    cols = ["sku", "store", "units", "live_wape", "backtest_wape", "excess", "wape_drift",
            "bias_streak", "streak_direction", "bias_drift", "drifted"]
    if acc.empty:
        return pd.DataFrame(columns=cols)
    per = accuracy_by_period(db, grain, level, filters)
    streaks = {}
    for (sku, store), g in per.groupby(["sku", "store"], sort=False):
        b = g.sort_values("period")["bias"].to_numpy()[-bias_periods:]
        b = b[~np.isnan(b)]
        same = len(b) == bias_periods and (np.all(b >= bias_min) or np.all(b <= -bias_min))
        streaks[(sku, store)] = (len(b), "overstock" if same and b[0] > 0 else "lost sales" if same else "–", same)
    out = pd.DataFrame({"sku": acc["sku"], "store": acc["store"], "units": acc["units"]})
    out["live_wape"] = acc["wape"]
    out["backtest_wape"] = 1 - acc["backtest_accuracy"]
    out["excess"] = out["live_wape"] - out["backtest_wape"]
    out["wape_drift"] = out["excess"] > margin
    keyed = [streaks.get((a, b), (0, "–", False)) for a, b in zip(out["sku"], out["store"], strict=True)]
    out["bias_streak"] = [k[0] for k in keyed]
    out["streak_direction"] = [k[1] for k in keyed]
    out["bias_drift"] = [k[2] for k in keyed]
    out["drifted"] = out["wape_drift"].fillna(False).astype(bool) | out["bias_drift"]
    return out[cols]


# ---------------------------------------------------------------- rules

DEFAULT_RULES = [
    {"name": "Accuracy below 88%", "kind": "accuracy", "threshold": config.ACCURACY_THRESHOLD,
     "params": {"min_units": 100}},
    {"name": "Data drift in demand", "kind": "data_drift", "threshold": 0.0,
     "params": {"method": "auto", "min_change": 0.25, "regressors": False}},
    {"name": "Concept drift (error above backtest)", "kind": "concept_drift", "threshold": 0.10,
     "params": {"bias_periods": 3, "bias_min": 0.10, "min_units": 100}},
]


def ensure_default_rules(db=None) -> None:
    """Create the three default rules in a store that has no rules yet."""
    with session(db) as s:
        if ms.list_rules(s):
            return
    with session(db, write=True) as s:
        if ms.list_rules(s):
            return
        freq = _freq(s)
        grain, window = default_grain(freq)
        for r in DEFAULT_RULES:
            ms.save_rule(s, ms.AlertRule(name=r["name"], kind=r["kind"], threshold=r["threshold"],
                                         window=window, grain=grain, params=json.dumps(r["params"]),
                                         is_default=True))


def _freq(s) -> str | None:
    from core.store import datasets

    return datasets.get_setting(s, "freq")


def rules(db=None) -> list[ms.AlertRule]:
    ensure_default_rules(db)
    with session(db) as s:
        return ms.list_rules(s)


def rule_list(db=None) -> list[ms.AlertRule]:
    """The rules as stored, without creating the defaults (for read-only viewers)."""
    with session(db) as s:
        return ms.list_rules(s)


def save_rule(actor: Actor, db=None, rule_id: int | None = None, *, name: str, kind: str,
              threshold: float, window: int = 4, grain: str = "week", level: str = "sku",
              params: dict | None = None, skus: list[str] | None = None,
              stores: list[str] | None = None, enabled: bool = True) -> ms.AlertRule:
    """Create or change a rule (data scientists). Its alerts follow at the next evaluation."""
    require(actor, "edit_alert_rules")
    name = (name or "").strip()
    if not name:
        raise ValidationError("Give the rule a name.")
    if kind not in KINDS:
        raise ValidationError(f"Rule kind must be one of {', '.join(KINDS)}.")
    if grain not in ("week", "month", "day"):
        raise ValidationError("The window is counted in days, weeks or months.")
    if level not in ("sku", "series"):
        raise ValidationError("Level must be 'sku' (stores summed) or 'series' (each SKU × store).")
    if not 1 <= int(window) <= 104:
        raise ValidationError("The window must be between 1 and 104 periods.")
    if kind == "accuracy" and not 0 < threshold < 1:
        raise ValidationError("An accuracy threshold is a share between 0 and 1, e.g. 0.88 for 88%.")
    if kind == "concept_drift" and not 0 <= threshold < 1:
        raise ValidationError("The concept-drift margin is in WAPE points between 0 and 1, e.g. 0.10.")
    params = params or {}
    if params.get("method", "auto") not in DRIFT_METHODS:
        raise ValidationError(f"Drift method must be one of {', '.join(DRIFT_METHODS)}.")
    with session(db, write=True) as s:
        rule = ms.get_rule(s, rule_id) if rule_id else ms.AlertRule(name=name, kind=kind, threshold=threshold)
        if rule is None:
            raise NotFound(f"Alert rule {rule_id} does not exist.")
        rule.name, rule.kind, rule.threshold = name, kind, float(threshold)
        rule.window, rule.grain, rule.level = int(window), grain, level
        rule.params = json.dumps(params)
        rule.skus, rule.stores = json.dumps(sorted(skus or [])), json.dumps(sorted(stores or []))
        rule.enabled, rule.updated_by, rule.updated_at = bool(enabled), actor.name, now()
        return ms.save_rule(s, rule)


def delete_rule(actor: Actor, rule_id: int, db=None) -> None:
    """Remove a rule; its live alerts are resolved (history kept)."""
    require(actor, "edit_alert_rules")
    with session(db, write=True) as s:
        rule = ms.get_rule(s, rule_id)
        if rule is None:
            raise NotFound(f"Alert rule {rule_id} does not exist.")
        for a in ms.live_alerts(s, rule_id):
            _resolve(s, a, actor.name, f"rule '{rule.name}' deleted")
        ms.delete_rule(s, rule)


def set_webhook(actor: Actor, url: str, db=None) -> None:
    """Store the webhook URL (empty to turn it off); SHELFCAST_WEBHOOK_URL overrides it."""
    require(actor, "edit_alert_rules")
    from core import webhook
    from core.store import datasets

    url = (url or "").strip()
    if url:
        webhook.check_url(url)
    with session(db, write=True) as s:
        datasets.set_setting(s, "webhook_url", url)


# ---------------------------------------------------------------- evaluation

@dataclass
class Finding:
    sku: str
    store: str
    value: float | None
    message: str
    details: dict


def _filters(rule: ms.AlertRule) -> Filters:
    return Filters(skus=json.loads(rule.skus or "[]"), stores=json.loads(rule.stores or "[]"))


def _fmt(x: float | None) -> str:
    return "–" if x is None or pd.isna(x) else f"{100 * x:.1f}%"


def findings(rule: ms.AlertRule, db=None) -> dict[tuple[str, str], Finding]:
    """The SKUs (or SKU × stores) where the rule's condition holds now."""
    p = json.loads(rule.params or "{}")
    f = _filters(rule)
    out: dict[tuple[str, str], Finding] = {}
    if rule.kind == "accuracy":
        acc = sku_accuracy(db, rule.window, rule.grain, rule.level, f, rule.threshold)
        min_units = float(p.get("min_units", 0) or 0)
        for r in acc.itertuples(index=False):
            if pd.isna(r.accuracy) or r.accuracy >= rule.threshold or r.units < min_units:
                continue
            out[(r.sku, r.store)] = Finding(
                r.sku, r.store, float(r.accuracy),
                f"Accuracy {_fmt(r.accuracy)} over the last {rule.window} {rule.grain}s is below "
                f"{_fmt(rule.threshold)} (backtest {_fmt(r.backtest_accuracy)}; bias {_fmt(r.bias)}, "
                f"{r.direction}).",
                {"accuracy": r.accuracy, "backtest_accuracy": r.backtest_accuracy, "bias": r.bias,
                 "direction": r.direction, "units": r.units})
    elif rule.kind == "data_drift":
        dd = data_drift(db, rule.window, rule.grain, rule.level, p.get("method", "auto"), f)
        if not p.get("regressors", False):
            dd = dd[dd["column"] == "units"]
        min_change = float(p.get("min_change", 0) or 0)
        for (sku, store), g in dd.groupby(["sku", "store"], sort=True):
            hit = g[g["drifted"] & ((g["column"] != "units") | (g["change"].abs() >= min_change))]
            if hit.empty:
                continue
            first = hit.iloc[0]
            cols = ", ".join(hit["column"])
            out[(sku, store)] = Finding(
                sku, store, float(first["score"]),
                f"Data drift in {cols}: {first['test']} {first['score']:.3g} "
                f"(threshold {first['threshold']:.3g}); mean {first['ref_mean']:.1f} → "
                f"{first['cur_mean']:.1f} ({first['change']:+.0%}) vs {first['reference']}.",
                {"columns": list(hit["column"]), "test": first["test"], "score": first["score"],
                 "ref_mean": first["ref_mean"], "cur_mean": first["cur_mean"]})
    elif rule.kind == "concept_drift":
        cd = concept_drift(db, rule.window, rule.grain, rule.level, rule.threshold,
                           int(p.get("bias_periods", 3)), float(p.get("bias_min", 0.10)), f)
        min_units = float(p.get("min_units", 0) or 0)
        for r in cd[cd["drifted"] & (cd["units"] >= min_units)].itertuples(index=False):
            why = []
            if r.wape_drift:
                why.append(f"WAPE {_fmt(r.live_wape)} vs backtest {_fmt(r.backtest_wape)} "
                           f"(+{100 * r.excess:.1f} points, margin {100 * rule.threshold:.0f})")
            if r.bias_drift:
                why.append(f"{r.streak_direction} bias in each of the last {r.bias_streak} {rule.grain}s")
            out[(r.sku, r.store)] = Finding(
                r.sku, r.store, None if pd.isna(r.excess) else float(r.excess),
                "Concept drift: " + "; ".join(why) + ".",
                {"live_wape": r.live_wape, "backtest_wape": r.backtest_wape,
                 "bias_direction": r.streak_direction})
    return out


@dataclass
class Evaluation:
    version_id: int | None
    opened: list[dict] = field(default_factory=list)
    updated: int = 0
    resolved: list[int] = field(default_factory=list)
    skipped: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


def _resolve(s, alert: ms.Alert, who: str, why: str) -> None:
    alert.status, alert.resolved_at, alert.updated_at = "resolved", now(), now()
    ms.save_alert(s, alert)
    ms.add_event(s, alert.id, "resolved", who, why, alert.value)


def evaluate(actor: Actor, db=None, notify: bool = True) -> Evaluation:
    """Apply every enabled rule to the active version: open an alert per new (rule, SKU, store),
    update the ones still firing, resolve those whose condition cleared. New alerts go to the
    webhook (if configured) in a background thread after the transaction commits."""
    require(actor, "view")
    token = _evaluating.set(True)
    try:
        return _evaluate(actor, db, notify)
    finally:
        _evaluating.reset(token)


def _evaluate(actor: Actor, db, notify: bool) -> Evaluation:
    ensure_default_rules(db)
    info = active(db)
    if info is None:
        return Evaluation(None, skipped="No version is active: promote a version to start monitoring.")
    if info["last_actual"] is None:
        return Evaluation(info["version_id"], skipped="No actuals have arrived for the active forecast yet.")
    all_rules = rules(db)
    found = {r.id: findings(r, db) for r in all_rules if r.enabled}  # read and compute first
    ev = Evaluation(info["version_id"])
    with session(db, write=True) as s:
        for rule in ms.list_rules(s):
            hits = found.get(rule.id, {}) if rule.enabled else {}
            live = {(a.sku, a.store): a for a in ms.live_alerts(s, rule.id)}
            for key, fnd in hits.items():
                a = live.pop(key, None)
                if a is None:
                    a = ms.save_alert(s, ms.Alert(
                        rule_id=rule.id, kind=rule.kind, sku=fnd.sku, store=fnd.store,
                        value=fnd.value, threshold=rule.threshold, message=fnd.message,
                        details=json.dumps(fnd.details, default=_json_default),
                        version_id=info["version_id"]))
                    ms.add_event(s, a.id, "opened", actor.name, fnd.message, fnd.value)
                    ev.opened.append(alert_json(a, rule.name))
                else:
                    a.value, a.message, a.updated_at = fnd.value, fnd.message, now()
                    a.details = json.dumps(fnd.details, default=_json_default)
                    a.version_id, a.evaluations = info["version_id"], a.evaluations + 1
                    ms.save_alert(s, a)
                    ev.updated += 1
            for a in live.values():
                _resolve(s, a, actor.name, "condition cleared" if rule.enabled else "rule disabled")
                ev.resolved.append(a.id)
    if notify and ev.opened:
        from core import webhook

        webhook.notify_async(ev.opened, db)
    return ev


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.bool_):
        return bool(o)
    return str(o)


def alert_json(a: ms.Alert, rule_name: str | None = None) -> dict:
    return {
        "id": a.id, "rule_id": a.rule_id, "rule": rule_name, "kind": a.kind, "sku": a.sku,
        "store": "all stores" if a.store == ms.SKU_LEVEL else a.store, "status": a.status,
        "value": a.value, "threshold": a.threshold, "message": a.message,
        "version_id": a.version_id,
        "opened_at": a.opened_at.isoformat() if a.opened_at else None,
        "updated_at": a.updated_at.isoformat() if a.updated_at else None,
        "acknowledged_by": a.acknowledged_by,
        "acknowledged_at": a.acknowledged_at.isoformat() if a.acknowledged_at else None,
        "ack_note": a.ack_note,
        "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
        "url": f"{config.base_url()}/monitor?alert={a.id}",
    }


def after_ingest(result, actor: Actor, db=None) -> None:
    """AFTER_INGEST hook: re-evaluate the rules. A failure here is logged, never raised: the
    actuals are already committed and must stay accepted."""
    try:
        evaluate(actor, db)
    except Exception:  # noqa: BLE001 - monitoring must never fail an accepted ingest
        log.exception("alert evaluation after ingest failed")


# ---------------------------------------------------------------- alerts

def alerts(db=None, statuses: list[str] | None = None) -> list[dict]:
    """Alerts newest first, with their rule names; statuses e.g. ['open', 'acknowledged']."""
    with session(db) as s:
        names = {r.id: r.name for r in ms.list_rules(s)}
        return [alert_json(a, names.get(a.rule_id)) for a in ms.list_alerts(s, statuses)]


def acknowledge(actor: Actor, alert_id: int, note: str, db=None) -> dict:
    """Open -> acknowledged, recording who and why. The alert stays until its condition clears."""
    require(actor, "acknowledge_alert")
    note = (note or "").strip()
    if not note:
        raise ValidationError("Add a note saying what is being done (e.g. 'order reduced, watching').")
    with session(db, write=True) as s:
        a = ms.get_alert(s, int(alert_id))
        if a is None:
            raise NotFound(f"Alert {alert_id} does not exist. `shelfcast alerts` lists them.")
        if a.status != "open":
            raise ValidationError(f"Alert {alert_id} is {a.status}; only open alerts can be acknowledged.")
        a.status, a.acknowledged_by, a.acknowledged_at = "acknowledged", actor.name, now()
        a.ack_note, a.updated_at = note, now()
        ms.save_alert(s, a)
        ms.add_event(s, a.id, "acknowledged", actor.name, note, a.value)
        rule = ms.get_rule(s, a.rule_id)
        return alert_json(a, rule.name if rule else None)


def history(db=None, alert_id: int | None = None) -> list[dict]:
    with session(db) as s:
        return [{"alert_id": e.alert_id, "action": e.action, "actor": e.actor, "note": e.note,
                 "value": e.value, "at": e.created_at.isoformat()} for e in ms.events(s, alert_id)]


# ---------------------------------------------------------------- report

def report(actor: Actor, db=None, evaluate_first: bool = True) -> dict:
    """What `shelfcast monitor` prints: the active version, per-SKU accuracy, drift results and
    the open alerts (after a fresh evaluation)."""
    ev = evaluate(actor, db) if evaluate_first else None
    info = active(db)
    if info is None:
        return {"active": None, "message": "No version is active: promote one to start monitoring.",
                "accuracy": [], "data_drift": [], "concept_drift": [], "alerts": []}
    with session(db) as s:
        grain, window = default_grain(_freq(s))
    acc = sku_accuracy(db, window, grain)
    dd = data_drift(db, window, grain)
    cd = concept_drift(db, window, grain)
    live = alerts(db, ["open", "acknowledged"])
    head = overall(db, window, grain)
    return {
        "active": {k: (str(v) if isinstance(v, date) else v) for k, v in info.items()},
        "window": {"grain": grain, "periods": window},
        "summary": head,
        "evaluation": ev.to_json() if ev else None,
        "accuracy": _records(acc),
        "data_drift": _records(dd),
        "concept_drift": _records(cd),
        "alerts": live,
    }


def overall(db=None, window: int = 4, grain: str = "week",
            threshold: float = config.ACCURACY_THRESHOLD) -> dict:
    """Headline numbers: accuracy of all SKUs together over the window, backtest accuracy, SKUs
    under the threshold and open alerts."""
    info = active(db)
    if info is None or info["last_actual"] is None:
        return {"accuracy": None, "backtest_accuracy": info and info["backtest_accuracy"],
                "skus": 0, "skus_below": 0, "open_alerts": len(alerts(db, ["open"]))}
    start = window_start(info["last_actual"], grain, window)
    t = trend(db, grain)
    t = t[pd.to_datetime(t["period"]).dt.date >= start]
    acc = sku_accuracy(db, window, grain, threshold=threshold)
    bt_acc = backtest_accuracy(db, grain)
    u, fc, ae = t["units"].sum(), t["forecast"].sum(), t["abs_err"].sum()
    return {
        "accuracy": max(0.0, 1 - ae / u) if u else None,
        "backtest_accuracy": bt_acc,
        "bias": (fc - u) / u if u else None,
        "window_start": str(start), "window_end": str(info["last_actual"]),
        "skus": int(len(acc)), "skus_below": int(acc["below_threshold"].sum()),
        "open_alerts": len(alerts(db, ["open"])),
        "acknowledged_alerts": len(alerts(db, ["acknowledged"])),
    }


def _records(df: pd.DataFrame) -> list[dict]:
    df = df.drop(columns=[c for c in ("ref_values", "cur_values") if c in df.columns])
    return json.loads(df.to_json(orient="records", date_format="iso", default_handler=str))


def env_or_secret(name: str) -> str | None:
    """A setting from the environment, else from .streamlit/secrets.toml (never the repo)."""
    v = os.environ.get(name)
    if v:
        return v
    import tomllib

    for path in (config.REPO_ROOT / ".streamlit" / "secrets.toml",):
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if name in data:
            return str(data[name])
        section = data.get("webhook", {})
        short = name.removeprefix("SHELFCAST_WEBHOOK_").lower()
        if isinstance(section, dict) and short in section:
            return str(section[short])
    return None
