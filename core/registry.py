"""The model registry: compare versions, put exactly one into service, and keep the record.

Why it looks like this:
- One version is active per forecast scope (this store file). Every promotion, rollback and
  archive runs in one write transaction (the process-wide write lock serialises threads; DuckDB's
  file lock and the store's retry serialise processes), reads the current pointer inside that
  transaction, and appends to the audit log in the same commit. So the audit chain and the
  pointer can never disagree, however many people press "Promote" at once.
- The gate compares pooled backtest WAPE (sum|y − ŷ| / sum|y| over all series, folds and dates,
  computed in DuckDB from the version's chosen models) only between comparable versions: same
  frequency and horizon. A worse challenger needs an override reason, which is recorded.
- Rollback goes to the version that was active before the current one, read from the audit log
  as an undo stack: promote A, B, C; rollback → B; rollback → A.
- Nothing is deleted: archive only hides a version from the default lists.
- A change of active version is a write path of monitoring too: the stored live errors
  (`monitor_errors`) are rebuilt in the same transaction, and the alert rules are re-evaluated
  right after it commits, so no page view ever has to write to catch up.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.access import Actor, require
from core.errors import NotFound, ValidationError
from core.store import gate as gate_store
from core.store import monitoring as mon_store
from core.store import registry as reg
from core.store import session
from core.store.registry import Promotion

Db = str | os.PathLike | None

# Two per-SKU WAPEs closer than this (0.1 percentage point) count as a tie.
TIE_TOL = 0.001
# A challenger is "worse" only beyond float noise.
GATE_EPS = 1e-9
NOTE_MAX = 2000
LEVELS = ("sku", "sku_store")


# --- small helpers ----------------------------------------------------------------------------


def _text(value: str | None, what: str, required: bool) -> str | None:
    v = (value or "").strip()
    if not v:
        if required:
            raise ValidationError(f"A {what} is required: say in a sentence why (it goes into the audit log).")
        return None
    if len(v) > NOTE_MAX:
        raise ValidationError(f"The {what} is {len(v)} characters long; keep it under {NOTE_MAX}.")
    return v


def _metrics(v: Any) -> dict:
    try:
        m = json.loads(v.metrics or "{}")
    except (TypeError, ValueError):
        m = {}
    return m if isinstance(m, dict) else {}


def _usable(v: Any, version_id: int) -> Any:
    """Refuse versions that cannot go into service, with what to do instead."""
    if v is None:
        raise NotFound(f"There is no version {version_id}. `shelfcast versions` lists them.")
    if v.status != "ready":
        raise ValidationError(
            f"Version {version_id} is {v.status}, not ready; only a finished training run can be "
            "put into service."
        )
    if v.archived:
        raise ValidationError(
            f"Version {version_id} is archived. Unarchive it first if you mean to use it again."
        )
    return v


def _snapshot(v: Any, wape: float | None) -> dict:
    """A version's numbers at the moment of a promotion, for the audit log."""
    m = _metrics(v)
    return {
        "id": v.id, "model": v.kind, "freq": v.freq, "horizon": v.horizon,
        "dataset_id": v.dataset_id, "wape": wape,
        "accuracy": None if wape is None else 1 - wape,
        **{k: m.get(k) for k in ("mase", "bias", "coverage")},
    }


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


# --- the gate ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    """What promoting `version_id` now would meet. `needs_override` is what the page asks."""

    version_id: int
    active_id: int | None
    challenger_wape: float | None
    active_wape: float | None
    comparable: bool
    needs_override: bool
    message: str
    # What the two WAPEs were measured on (Compare shows it): "same series, cut-offs and dates:
    # N series, cut-offs ..., P points", or why there was no common ground. Empty before any
    # version is active.
    basis: str = ""

    @property
    def outcome(self) -> str:
        if self.active_id is None:
            return "first promotion"
        if not self.comparable:
            return "not comparable"
        return "worse" if self.needs_override else "passed"


def _gate(s: Any, v: Any, current: Any) -> Gate:
    if current is None:
        w = reg.pooled_wape(s, [v.id])[v.id]
        return Gate(v.id, None, w, None, False, False, "No version is active yet.")
    comparable = v.freq == current.freq and v.horizon == current.horizon
    if not comparable:
        wapes = reg.pooled_wape(s, [v.id, current.id])
        msg = (
            f"Version {v.id} ({v.freq}, horizon {v.horizon}) is not comparable with active "
            f"version {current.id} ({current.freq}, horizon {current.horizon}); the accuracy "
            "gate does not apply."
        )
        return Gate(v.id, current.id, wapes[v.id], wapes[current.id], False, False, msg,
                    "nothing: different frequency or horizon")
    # Same ground only: pooled WAPEs of versions trained on different data and cut-offs measure
    # different weeks and series (issue 14), so a refresh on newer sales always looked "worse".
    pooled = reg.pooled_wape(s, [v.id, current.id])
    if pooled[v.id] is None and pooled[current.id] is not None:
        msg = (
            f"Version {v.id} has no backtest actuals to measure, while active version "
            f"{current.id} has a pooled backtest WAPE of {_pct(pooled[current.id])}."
        )
        return Gate(v.id, current.id, None, pooled[current.id], True, True, msg,
                    "nothing: the challenger has no backtest actuals")
    common = gate_store.common_wape(s, v.id, current.id)
    wv, wa = common["challenger_wape"], common["active_wape"]
    if common["points"] == 0:
        msg = (f"Version {v.id} and active version {current.id} share no backtest cut-off and "
               "series (trained on different data), so the accuracy gate does not apply; their "
               f"own backtests: WAPE {_pct(pooled[v.id])} vs {_pct(pooled[current.id])}.")
        return Gate(v.id, current.id, pooled[v.id], pooled[current.id], False, False, msg,
                    "nothing in common: no shared backtest cut-off and series")
    cut = ", ".join(str(c) for c in common["cutoffs"])
    basis = (f"the same {common['series']} series, cut-offs {cut} and {common['points']:,} "
             "backtest points in both versions")
    worse = wv is not None and wa is not None and wv > wa + GATE_EPS
    if worse:
        msg = (
            f"Version {v.id}'s backtest WAPE is {_pct(wv)} (accuracy {_pct(1 - wv)}), "
            f"worse than active version {current.id}'s {_pct(wa)} (accuracy {_pct(1 - wa)}) on "
            f"{basis}."
        )
    else:
        msg = f"Version {v.id}: WAPE {_pct(wv)} vs active version {current.id}: {_pct(wa)}, on {basis}."
    return Gate(v.id, current.id, wv, wa, True, worse, msg, basis)


def check_gate(version_id: int, db: Db = None) -> Gate:
    """What a promotion of `version_id` would meet right now (for the page's override box).
    promote() checks again inside its own transaction."""
    with session(db) as s:
        v = _usable(reg.get_version(s, version_id), version_id)
        cur_id = reg.active_version_id(s)
        current = reg.get_version(s, cur_id) if cur_id is not None else None
        return _gate(s, v, current)


# --- mutations --------------------------------------------------------------------------------


def promote(
    actor: Actor, version_id: int, note: str, *, override_reason: str | None = None, db: Db = None
) -> Promotion:
    """Make `version_id` the active version. Refused (nothing changed) for an unknown, unready,
    archived or already-active version, and for a worse comparable challenger without an
    override reason."""
    require(actor, "promote")
    note_t = _text(note, "note", required=True)
    reason = _text(override_reason, "override reason", required=False)
    with session(db, write=True) as s:
        v = _usable(reg.get_version(s, version_id), version_id)
        cur_id = reg.active_version_id(s)
        if cur_id == v.id:
            raise ValidationError(f"Version {v.id} is already the active version.")
        current = reg.get_version(s, cur_id) if cur_id is not None else None
        g = _gate(s, v, current)
        if g.needs_override and not reason:
            raise ValidationError(
                f"Promotion refused: {g.message} To promote it anyway, tick the override and "
                "give a reason (CLI: --override-reason TEXT)."
            )
        metrics = {
            "gate": "overridden" if g.needs_override else g.outcome,
            "comparable": g.comparable,
            "to": _snapshot(v, g.challenger_wape),
            "from": _snapshot(current, g.active_wape) if current is not None else None,
        }
        reg.set_active(s, v.id)
        mon_store.sync_errors(s)
        p = reg.add_promotion(s, Promotion(
            action="promote", from_version=cur_id, to_version=v.id, actor=actor.name,
            note=note_t, override=g.needs_override,
            override_reason=reason if g.needs_override else None,
            metrics=json.dumps(metrics, default=str),
        ))
    _after_change(actor, db, f"promoting version {version_id}")
    return p


def _after_change(actor: Actor, db: Db, what: str) -> None:
    """Re-evaluate the alert rules for the version now in service (its failure is stored for
    Monitor and logged; the change itself stays). Imported here: scipy costs seconds."""
    from core import monitoring, plan_rollups

    monitoring.evaluate_after_write(actor, db, what)
    plan_rollups.after_promote(actor, db)  # the planning pages' kept rows; never raises


def _undo_stack(log: list[Promotion], current: int | None) -> list[int]:
    """The chain of active versions that rollbacks walk back through."""
    stack: list[int] = []
    for p in log:
        if p.action == "promote":
            stack.append(p.to_version)
        elif p.action == "rollback":
            if stack:
                stack.pop()
            if not stack or stack[-1] != p.to_version:
                stack.append(p.to_version)
    if current is not None and (not stack or stack[-1] != current):
        stack.append(current)  # set outside the registry (seeding); treat as the newest
    return stack


def rollback_target(db: Db = None) -> int | None:
    """The version a rollback would put back into service now (None: nothing to go back to)."""
    with session(db) as s:
        cur = reg.active_version_id(s)
        stack = _undo_stack(reg.promotions(s), cur)
    return stack[-2] if cur is not None and len(stack) >= 2 else None


def rollback(actor: Actor, note: str, db: Db = None) -> Promotion:
    """Put the previously active version back into service (no gate: it served before)."""
    require(actor, "rollback")
    note_t = _text(note, "note", required=True)
    with session(db, write=True) as s:
        cur_id = reg.active_version_id(s)
        stack = _undo_stack(reg.promotions(s), cur_id)
        if cur_id is None or len(stack) < 2:
            raise ValidationError(
                "Nothing to roll back to: no version was active before the current one."
            )
        target = stack[-2]
        v = reg.get_version(s, target)
        if v is None:
            raise NotFound(f"The previously active version {target} no longer exists.")
        if v.archived:
            raise ValidationError(
                f"The previously active version {target} is archived; unarchive it first, "
                "or promote another version."
            )
        current = reg.get_version(s, cur_id)
        wapes = reg.pooled_wape(s, [target, cur_id])
        metrics = {
            "gate": "rollback", "comparable": None,
            "to": _snapshot(v, wapes[target]),
            "from": _snapshot(current, wapes[cur_id]) if current is not None else None,
        }
        reg.set_active(s, target)
        mon_store.sync_errors(s)
        p = reg.add_promotion(s, Promotion(
            action="rollback", from_version=cur_id, to_version=target, actor=actor.name,
            note=note_t, metrics=json.dumps(metrics, default=str),
        ))
    _after_change(actor, db, f"rolling back to version {target}")
    return p


def _set_archived(actor: Actor, version_id: int, archived: bool, note: str | None, db: Db) -> Promotion:
    require(actor, "archive")
    word = "archive" if archived else "unarchive"
    note_t = _text(note, "note", required=False) or f"{word}d by {actor.name}"
    with session(db, write=True) as s:
        v = reg.get_version(s, version_id)
        if v is None:
            raise NotFound(f"There is no version {version_id}. `shelfcast versions` lists them.")
        if archived and reg.active_version_id(s) == version_id:
            raise ValidationError(
                f"Version {version_id} is the active version and cannot be archived; promote "
                "another version (or roll back) first."
            )
        if archived and v.status == "running":
            raise ValidationError(f"Version {version_id} is still training; cancel it first.")
        if bool(v.archived) == archived:
            raise ValidationError(f"Version {version_id} is already {word}d.")
        reg.set_archived(s, version_id, archived)
        # The audit log records it too (to_version = the version concerned; it is not a change
        # of the active version, and rollback ignores these rows).
        cur = reg.active_version_id(s)
        return reg.add_promotion(s, Promotion(
            action=word, from_version=cur, to_version=version_id, actor=actor.name, note=note_t,
            metrics=json.dumps({"version": _snapshot(v, reg.pooled_wape(s, [version_id])[version_id])}, default=str),
        ))


def archive(actor: Actor, version_id: int, db: Db = None, *, note: str | None = None) -> Promotion:
    """Hide a version from the default lists. The active version cannot be archived; nothing is
    ever deleted."""
    return _set_archived(actor, version_id, True, note, db)


def unarchive(actor: Actor, version_id: int, db: Db = None, *, note: str | None = None) -> Promotion:
    return _set_archived(actor, version_id, False, note, db)


# --- reads ------------------------------------------------------------------------------------


def active_version(db: Db = None) -> int | None:
    with session(db) as s:
        return reg.active_version_id(s)


def history(db: Db = None) -> pd.DataFrame:
    """The audit log, newest first, with both versions' WAPE at that moment unpacked."""
    with session(db) as s:
        df = reg.history_frame(s)
    parsed = [json.loads(m or "{}") for m in df["metrics"]]

    def pick(side: str, key: str) -> list:
        return [((p.get(side) or {}).get(key)) for p in parsed]

    df["from_wape"] = pick("from", "wape")
    df["to_wape"] = pick("to", "wape")
    df["gate"] = [p.get("gate") for p in parsed]
    return df[["id", "created_at", "action", "from_version", "to_version", "actor", "note",
               "override", "override_reason", "gate", "from_wape", "to_wape", "metrics"]]


def promotion_json(p: Promotion) -> dict:
    d = p.model_dump()
    d["metrics"] = json.loads(p.metrics or "{}")
    return d


def leaderboard(db: Db = None, include_archived: bool = False) -> pd.DataFrame:
    """One row per version, newest first: model, parameters, lineage, pooled backtest WAPE and
    accuracy, MASE, bias, coverage, training time, status, and which one is active."""
    with session(db) as s:
        df = reg.versions_frame(s, include_archived)
    m = [json.loads(x or "{}") for x in df["metrics"]]

    def metric(key: str) -> list:
        return [x.get(key) if isinstance(x, dict) else None for x in m]

    wape = [b if b is not None and not pd.isna(b) else j
            for b, j in zip(df["backtest_wape"], metric("wape"), strict=True)]
    out = pd.DataFrame({
        "version": df["id"].astype(int),
        "active": df["active"].astype(bool),
        "model": df["kind"],
        "params": df["params"],
        "dataset": df["dataset_id"],
        "freq": df["freq"],
        "horizon": df["horizon"],
        "created_by": df["created_by"],
        "created_at": df["created_at"],
        "status": df["status"],
        "wape": pd.to_numeric(pd.Series(wape, dtype="object"), errors="coerce"),
        "mase": pd.to_numeric(pd.Series(metric("mase"), dtype="object"), errors="coerce"),
        "bias": pd.to_numeric(pd.Series(metric("bias"), dtype="object"), errors="coerce"),
        "coverage": pd.to_numeric(pd.Series(metric("coverage"), dtype="object"), errors="coerce"),
        "training_s": df["duration_s"],
        "series": df["n_series"],
        "archived": df["archived"].astype(bool),
    })
    out.insert(out.columns.get_loc("wape") + 1, "accuracy", 1 - out["wape"])
    return out


@dataclass
class Comparison:
    """Per-SKU (or SKU×store) pooled backtest WAPE of two or more versions.

    `table` has the key columns, `wape_<id>` per version, `diff_<id>` (that version minus the
    first, in WAPE points: negative = better than the first) and `winner` (a version id as text,
    'tie', or '' where the SKU had no actuals). `wins` counts per version; `ties` the rest."""

    versions: list[int]
    level: str
    table: pd.DataFrame
    wins: dict[int, int] = field(default_factory=dict)
    ties: int = 0
    no_actuals: int = 0

    def to_json(self) -> dict:
        return {"versions": self.versions, "level": self.level, "wins": self.wins,
                "ties": self.ties, "no_actuals": self.no_actuals,
                "rows": json.loads(self.table.to_json(orient="records"))}


def compare(db: Db, version_ids: list[int], level: str = "sku") -> Comparison:
    ids = list(dict.fromkeys(int(v) for v in version_ids))
    if len(ids) < 2:
        raise ValidationError("Pick at least two different versions to compare.")
    if level not in LEVELS:
        raise ValidationError(f"Compare at level 'sku' (stores summed) or 'sku_store', not {level!r}.")
    with session(db) as s:
        for v in ids:
            if reg.get_version(s, v) is None:
                raise NotFound(f"There is no version {v}. `shelfcast versions` lists them.")
        long = reg.per_sku_wape(s, ids, level)
    keys = ["sku"] if level == "sku" else ["sku", "store"]
    if long.empty:
        table = pd.DataFrame(columns=[*keys, *(f"wape_{v}" for v in ids), "winner"])
        return Comparison(ids, level, table)
    wide = long.pivot_table(index=keys, columns="version_id", values="wape", dropna=False)
    wide = wide.reindex(columns=ids)
    table = wide.reset_index()
    table.columns = [*keys, *(f"wape_{v}" for v in ids)]
    cols = [f"wape_{v}" for v in ids]
    for v in ids[1:]:
        table[f"diff_{v}"] = table[f"wape_{v}"] - table[f"wape_{ids[0]}"]
    vals = table[cols].to_numpy(dtype=float)
    winners: list[str] = []
    wins = dict.fromkeys(ids, 0)
    ties = no_act = 0
    for row in vals:
        ok = ~pd.isna(row)
        if ok.sum() < 2:
            winners.append("")
            no_act += 1
            continue
        best = row[ok].min()
        close = [ids[i] for i in range(len(ids)) if ok[i] and row[i] - best <= TIE_TOL]
        if len(close) > 1:
            winners.append("tie")
            ties += 1
        else:
            winners.append(str(close[0]))
            wins[close[0]] += 1
    table["winner"] = winners
    return Comparison(ids, level, table, wins, ties, no_act)


def sku_chart_data(
    db: Db, version_ids: list[int], sku: str, store: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Actuals, backtest predictions and final forecasts of one SKU (one store, or summed)."""
    from core.store import sales

    with session(db) as s:
        actuals = sales.history(s, sku, store)
        bt = reg.sku_backtests(s, list(version_ids), sku, store)
        fc = reg.sku_forecasts(s, list(version_ids), sku, store)
    return actuals, bt, fc


def active_forecasts(db: Db = None) -> pd.DataFrame:
    """The published forecasts (the active version's), read through the `active_forecasts` view:
    sku, store, date, yhat, yhat_lower, yhat_upper, model, version. Empty if none is active."""
    with session(db) as s:
        df = reg.read_active_forecasts(s)
    df["date"] = pd.to_datetime(df["date"]).dt.date  # plain dates, as `shelfcast export` writes
    return df


@dataclass(frozen=True)
class Published:
    """What is published, without its rows: the version, how many forecast rows and series,
    and the first and last forecast date."""

    version: int
    rows: int
    series: int
    first: Any
    last: Any


def published(db: Db = None) -> Published | None:
    """The published forecasts' summary (None if nothing is active). A page that only says what
    is published reads this, not `active_forecasts()` (every row: 2.8M at 100,000 series)."""
    with session(db) as s:
        row = reg.published_summary(s)
    return None if row is None else Published(int(row[0]), int(row[1]), int(row[2]), row[3], row[4])


def promote_for_demo(actor: Actor, db: Db = None, say: Callable[[str], None] = print) -> int | None:
    """Seed step (after the demo's first training run): put the newest ready version into
    service if none is active, so a newcomer lands on published forecasts."""
    if active_version(db) is not None:
        return None
    lb = leaderboard(db)
    ready = lb[lb["status"] == "ready"]
    if ready.empty:
        return None
    v = int(ready["version"].iloc[0])
    promote(actor, v, "Demo data: the first trained version goes into service.", db=db)
    say(f"Version {v} promoted to active: its forecasts are published.")
    return v
