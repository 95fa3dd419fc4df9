"""The retraining policy and one application of it (`shelfcast retrain`, the CronJob's command).

Why it is built this way:
- The policy is a few numbers a data scientist sets (Train page or `shelfcast policy set`):
  retrain when the active version is older than N days, after M new periods of actuals, or when
  accuracy / drift alerts are open on more than X% of recent sales (units); which model to
  train; and what happens after: "challenger" (the new version is only marked challenger) or
  "auto".
- "auto" never promotes a version straight out of training: a new version has no live weeks
  yet. It is marked challenger, and a later run promotes it when it passes the accuracy gate
  (core.registry) AND its live accuracy over at least `min_live_periods` periods beats the
  champion's on the same weeks (core.challengers). The promotion goes through
  core.registry.promote with the actor "policy", so the audit names the policy.
- A run that trains records why (`retrain_runs`); a run that finds nothing to do changes
  nothing and says so. A training already in progress makes the store busy (StoreBusy), and a
  missing or broken policy is a ValidationError: the CLI turns both into exit 2.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta

from core import challengers, models, registry, training
from core.access import Actor, require
from core.errors import StoreBusy, ValidationError
from core.store import datasets, session
from core.store import registry as reg
from core.store import retrain as rs
from core.store import versions as vstore
from core.store.monitoring import series_span

POLICY_ACTOR = Actor("policy", "scientist")
PROMOTE_MODES = ("challenger", "auto")
ALERT_KINDS = ("accuracy", "data_drift", "concept_drift")
ALERT_LOOKBACK_DAYS = 28  # "share of sales" = of the units sold over the last four weeks


@dataclass(frozen=True)
class Policy:
    """Any trigger left None is off; at least one must be on."""

    max_age_days: float | None = None
    new_periods: int | None = None
    alert_share: float | None = None
    model: str = "best"
    promote: str = "challenger"
    horizon: int | None = None  # None: the active version's horizon (else the data's default)
    folds: int = 2
    min_live_periods: int = 2  # live periods (weeks) a challenger needs before "auto" promotes it
    window: int = 4  # weeks of live accuracy compared
    updated_by: str = ""
    updated_at: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def validate(p: Policy) -> Policy:
    """Every problem of a policy in one message."""
    bad = []
    if p.max_age_days is None and p.new_periods is None and p.alert_share is None:
        bad.append("set at least one trigger (--max-age-days, --new-periods or --alert-share)")
    if p.max_age_days is not None and not 0 < p.max_age_days <= 3650:
        bad.append("max-age-days must be between 0 and 3650 (exclusive of 0)")
    if p.new_periods is not None and not 1 <= p.new_periods <= 10000:
        bad.append("new-periods must be a whole number from 1")
    if p.alert_share is not None and not 0 <= p.alert_share < 1:
        bad.append("alert-share is a share of sales between 0 and 1, e.g. 0.2 for 20%")
    if p.model not in models.KINDS:
        bad.append(f"model must be one of {', '.join(models.KINDS)}")
    if p.promote not in PROMOTE_MODES:
        bad.append(f"promote must be one of {', '.join(PROMOTE_MODES)}")
    if p.horizon is not None and not 1 <= p.horizon <= 1000:
        bad.append("horizon must be between 1 and 1000 periods")
    if not 1 <= p.folds <= 10:
        bad.append("folds must be between 1 and 10")
    if not 1 <= p.min_live_periods <= 104 or not 1 <= p.window <= 104:
        bad.append("min-live-periods and window must be between 1 and 104")
    if bad:
        raise ValidationError("Invalid retraining policy: " + "; ".join(bad) + ".")
    return p


def set_policy(actor: Actor, db=None, **values) -> Policy:
    """Replace the policy (data scientists). Unknown keys and bad values are refused before
    anything is written."""
    require(actor, "train")
    known = {f.name for f in fields(Policy)} - {"updated_by", "updated_at"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValidationError(f"Unknown policy setting(s): {', '.join(unknown)}.")
    try:
        p = Policy(**values, updated_by=actor.name, updated_at=datetime.now(UTC).isoformat())
    except TypeError as exc:
        raise ValidationError(f"Invalid retraining policy: {exc}.") from None
    validate(p)
    with session(db, write=True) as s:
        datasets.set_setting(s, rs.POLICY_KEY, json.dumps(p.to_json()))
    return p


def get_policy(db=None) -> Policy | None:
    """The stored policy as stored (None when none is set); `apply` validates it again."""
    with session(db) as s:
        text = datasets.get_setting(s, rs.POLICY_KEY)
    if not text:
        return None
    try:
        raw = json.loads(text)
        return Policy(**{k: v for k, v in raw.items() if k in {f.name for f in fields(Policy)}})
    except (ValueError, TypeError, AttributeError):
        raise ValidationError("The stored retraining policy cannot be read; set it again with "
                              "`shelfcast policy set`.") from None


@dataclass
class Decision:
    """Why a run trains (empty `reasons`: nothing is needed), with the numbers behind it."""

    reasons: list[str] = field(default_factory=list)
    active: int | None = None
    age_days: float | None = None
    new_periods: int | None = None
    alert_share: float | None = None


def decide(policy: Policy, db=None, at: datetime | None = None) -> Decision:
    """What the policy says now (a read)."""
    at = at or datetime.now(UTC)
    with session(db) as s:
        vid = reg.active_version_id(s)
        d = Decision(active=vid)
        if vid is None:
            d.reasons.append("no version is active")
            return d
        v = vstore.get_version(s, vid)
        created = v.created_at if v.created_at.tzinfo else v.created_at.replace(tzinfo=UTC)
        d.age_days = (at - created).total_seconds() / 86400
        trained_to = rs.last_training_date(s, vid)
        d.new_periods = rs.new_periods(s, trained_to) if trained_to else 0
        newest = series_span(s)[1]
        if newest is not None:
            d.alert_share = rs.alert_sales_share(s, list(ALERT_KINDS),
                                                 newest - timedelta(days=ALERT_LOOKBACK_DAYS))
    if policy.max_age_days is not None and d.age_days > policy.max_age_days:
        d.reasons.append(f"active version {vid} is {d.age_days:.1f} days old "
                         f"(policy: {policy.max_age_days:g})")
    if policy.new_periods is not None and d.new_periods >= policy.new_periods:
        d.reasons.append(f"{d.new_periods} new periods of actuals since version {vid} was trained "
                         f"(policy: {policy.new_periods})")
    if policy.alert_share is not None and (d.alert_share or 0) > policy.alert_share:
        d.reasons.append(f"accuracy/drift alerts are open on {100 * d.alert_share:.1f}% of recent "
                         f"sales (policy: {100 * policy.alert_share:.1f}%)")
    return d


@dataclass
class RunResult:
    """What one `shelfcast retrain` did (its --json)."""

    trained: bool
    needed: bool
    reasons: list[str]
    version_id: int | None = None
    promoted: int | None = None
    promotion: str | None = None  # why a challenger was or was not promoted
    run_id: int | None = None
    message: str = ""
    decision: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def _auto_promote(policy: Policy, db) -> tuple[int | None, str | None]:
    """Promote the best policy challenger that passes the gate and beats the champion live over
    at least `min_live_periods` periods; (promoted id or None, why)."""
    rep = challengers.report(db, policy.window, "week",
                             versions=[c["version_id"] for c in challengers.list_challengers(db)
                                       if c["source"] == "policy"])
    if rep.champion is None or not rep.duels:
        return None, None
    notes = []
    for d in sorted(rep.duels, key=lambda x: -(x.points or -1e9)):
        gate = registry.check_gate(d.version_id, db)
        if gate.needs_override or not gate.comparable:
            notes.append(f"v{d.version_id}: gate not passed ({gate.message})")
            continue
        if rep.periods < policy.min_live_periods or d.points is None:
            notes.append(f"v{d.version_id}: {rep.periods} live periods, the policy needs "
                         f"{policy.min_live_periods}")
            continue
        if d.points <= 0:
            notes.append(f"v{d.version_id}: not better live ({d.summary})")
            continue
        registry.promote(POLICY_ACTOR, d.version_id,
                         f"Retraining policy: {gate.message} Live: {d.summary}.", db=db)
        with session(db, write=True) as s:
            rs.remove_challenger(s, d.version_id)
        return d.version_id, f"v{d.version_id} promoted: {d.summary}"
    return None, "; ".join(notes) or None


def apply(actor: Actor, db=None, *, at: datetime | None = None) -> RunResult:
    """Apply the policy once: maybe promote a policy challenger ("auto"), then train if a
    trigger fires. Refused (StoreBusy) while another training runs; ValidationError without a
    valid policy."""
    require(actor, "train")
    policy = get_policy(db)
    if policy is None:
        raise ValidationError("No retraining policy is set: `shelfcast policy set --max-age-days N "
                              "--new-periods M --alert-share X --model best`.")
    validate(policy)
    with session(db) as s:
        busy = [v.id for v in vstore.running(s)]
    if busy:
        raise StoreBusy(f"Training of version {busy[0]} is in progress; retrain again when it has finished.")
    promoted, why = _auto_promote(policy, db) if policy.promote == "auto" else (None, None)
    d = decide(policy, db, at)
    res = RunResult(False, bool(d.reasons), d.reasons, promoted=promoted, promotion=why,
                    decision={k: v for k, v in asdict(d).items() if k != "reasons"})
    if not d.reasons:
        res.message = "Nothing needed: no trigger of the retraining policy fired."
        if promoted:
            res.message += f" Version {promoted} was promoted by the policy."
        return res
    horizon = policy.horizon
    if horizon is None and d.active is not None:
        with session(db) as s:
            horizon = vstore.get_version(s, d.active).horizon
    vid = training.train(actor, policy.model, horizon=horizon, folds=policy.folds, db=db)
    res.trained, res.version_id = True, vid
    with session(db) as s:
        status = vstore.get_version(s, vid).status
    if status != "ready":
        res.message = f"Trained version {vid} ended {status}."
    elif d.active is None and policy.promote == "auto":
        registry.promote(POLICY_ACTOR, vid, "Retraining policy: first version.", db=db)
        res.promoted, res.message = vid, f"Trained and promoted version {vid} (no version was active)."
    else:
        challengers.add(POLICY_ACTOR, vid, db, source="policy")
        res.message = f"Trained version {vid}; it is now a challenger scored on live sales."
    with session(db, write=True) as s:
        res.run_id = rs.add_run(s, rs.RetrainRun(
            actor=actor.name, trained=True, version_id=vid, promoted=res.promoted,
            reasons=json.dumps(d.reasons), policy=json.dumps(policy.to_json()),
            message=res.message)).id
    return res


def runs(db=None, limit: int = 20) -> list[dict]:
    with session(db) as s:
        return [{"id": r.id, "actor": r.actor, "started_at": r.started_at.isoformat(),
                 "trained": r.trained, "version_id": r.version_id, "promoted": r.promoted,
                 "reasons": json.loads(r.reasons), "message": r.message} for r in rs.runs(s, limit)]
