"""Challengers judged on live sales (shadow / A-B): a ready version is marked challenger, and as
actuals arrive its stored forecasts are scored beside the active version's.

Why it is built this way:
- Same numbers as Monitor: each version's forecasts beside the actuals go through the very
  period totals and metric macros monitoring uses for the active version
  (core.store.retrain.live_scores reuses core.store.monitoring's SQL), and the window is
  anchored on the same last actual. So the accuracy a challenger shows here is what Monitor will
  show for it the day it is promoted.
- Same weeks: only (series, date) pairs where the active version has a live error count, so a
  challenger is never judged on days the champion was not.
- Marking and unmarking are writes (scientist: the `promote` permission, as they prepare a
  promotion); the report is a pure read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

import pandas as pd

from core import metrics
from core.access import Actor, require
from core.errors import NotFound, ValidationError
from core.monitoring.windows import as_date, window_start
from core.store import live_reads, session
from core.store import monitoring as ms
from core.store import registry as reg
from core.store import retrain as rs

TIE = 0.001  # per-SKU WAPEs closer than 0.1 point are a tie (as core.registry.TIE_TOL)


def add(actor: Actor, version_id: int, db=None, *, source: str = "manual") -> dict:
    """Mark a ready, unarchived version (not the active one) as challenger."""
    require(actor, "promote")
    with session(db, write=True) as s:
        v = reg.get_version(s, version_id)
        if v is None:
            raise NotFound(f"There is no version {version_id}. `shelfcast versions` lists them.")
        if v.status != "ready" or v.archived:
            raise ValidationError(f"Version {version_id} is {'archived' if v.archived else v.status}; "
                                  "only a ready version can be a challenger.")
        if reg.active_version_id(s) == version_id:
            raise ValidationError(f"Version {version_id} is the active version (the champion).")
        return _json(rs.mark_challenger(s, version_id, actor.name, source))


def remove(actor: Actor, version_id: int, db=None) -> None:
    require(actor, "promote")
    with session(db, write=True) as s:
        if not rs.remove_challenger(s, version_id):
            raise NotFound(f"Version {version_id} is not a challenger. `shelfcast challenger list` lists them.")


def _json(c: rs.Challenger) -> dict:
    return {"version_id": c.version_id, "marked_by": c.marked_by,
            "marked_at": c.marked_at.isoformat() if c.marked_at else None, "source": c.source}


def list_challengers(db=None) -> list[dict]:
    """The marked challengers (the active one left out: it is the champion now)."""
    with session(db) as s:
        active = reg.active_version_id(s)
        return [_json(c) for c in rs.challengers(s) if c.version_id != active]


@dataclass
class Score:
    """One version's live numbers over the window: pooled accuracy (1 − WAPE of all SKUs
    together, SKU totals per period, as the Monitor headline), and per SKU."""

    version_id: int
    accuracy: float | None
    wape: float | None
    periods: int
    skus: pd.DataFrame = field(repr=False)  # sku, store, units, forecast, wape, accuracy, bias


@dataclass
class Duel:
    """A challenger against the champion on the same weeks."""

    version_id: int
    accuracy: float | None
    points: float | None  # (challenger − champion accuracy) × 100; > 0: it would have been better
    skus_compared: int
    skus_won: int
    skus_lost: int
    win_share: float | None
    summary: str

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Report:
    champion: int | None
    champion_accuracy: float | None
    window_start: date | None
    window_end: date | None
    periods: int
    grain: str
    duels: list[Duel]
    table: pd.DataFrame  # sku, store, version, wape, accuracy: one row per SKU and version
    message: str

    def to_json(self) -> dict:
        return {"champion": self.champion, "champion_accuracy": self.champion_accuracy,
                "window_start": str(self.window_start) if self.window_start else None,
                "window_end": str(self.window_end) if self.window_end else None,
                "periods": self.periods, "grain": self.grain,
                "challengers": [d.to_json() for d in self.duels], "message": self.message}


def score(s, version_id: int, start: date, grain: str, level: str = "sku", per_sku: bool = True) -> Score:
    """A version's live score from `start` (inside a read session). `per_sku=False` (the
    champion, when no challenger is marked) leaves the per-SKU table empty and takes the total
    from monitor_errors when they are in step: each is a join of the version's forecasts with
    every sale, Compare's slowest read at 100,000 series."""
    per = (rs.live_scores(s, version_id, start, grain, level) if per_sku
           else pd.DataFrame(columns=["sku", "store", "units", "wape", "accuracy"]))
    total = None if per_sku else live_reads.champion_total(s, version_id, start, grain)
    abs_err, abs_y, periods = total or rs.live_total(s, version_id, start, grain)
    wape = metrics.none_if_nan(metrics.wape_of(abs_err, abs_y)) if abs_y else None
    return Score(version_id, None if wape is None else 1 - wape, wape, periods, per)


def report(db=None, window: int = 4, grain: str = "week", level: str = "sku",
           versions: list[int] | None = None) -> Report:
    """Champion vs each challenger (or the given versions) over the last `window` periods of
    the grain with live actuals, e.g. "v7 would have been 3.1 points better over the last 4
    weeks, 62% of SKUs won"."""
    with session(db) as s:
        champion = reg.active_version_id(s)
        ids = versions if versions is not None else [c.version_id for c in rs.challengers(s)]
        ids = [v for v in ids if v != champion]
        last = as_date(ms.max_error_date(s))
        if champion is None or last is None:
            why = ("No version is active." if champion is None
                   else "No actuals have arrived for the active forecast yet.")
            return Report(champion, None, None, None, 0, grain, [], pd.DataFrame(), why)
        start = window_start(last, grain, window)
        champ = score(s, champion, start, grain, level, per_sku=bool(ids))
        others = [score(s, v, start, grain, level) for v in ids]
    frames = [sc.skus.assign(version=sc.version_id) for sc in (champ, *others)]
    table = pd.concat(frames, ignore_index=True)[["sku", "store", "version", "units", "wape", "accuracy"]]
    duels = [_duel(champ, o, champ.periods, grain) for o in others]
    msg = "; ".join(d.summary for d in duels) or "No challengers are marked."
    return Report(champion, champ.accuracy, start, last, champ.periods, grain, duels, table, msg)


def _duel(champ: Score, other: Score, periods: int, grain: str) -> Duel:
    m = champ.skus[["sku", "store", "wape"]].merge(
        other.skus[["sku", "store", "wape"]], on=["sku", "store"], suffixes=("_c", "_x")).dropna()
    won = int((m["wape_x"] < m["wape_c"] - TIE).sum())
    lost = int((m["wape_x"] > m["wape_c"] + TIE).sum())
    pts = None
    if champ.accuracy is not None and other.accuracy is not None:
        pts = 100 * (other.accuracy - champ.accuracy)
    share = won / len(m) if len(m) else None
    if pts is None:
        text = f"v{other.version_id} has no forecasts on the weeks with actuals"
    else:
        text = (f"v{other.version_id} would have been {abs(pts):.1f} points "
                f"{'better' if pts >= 0 else 'worse'} over the last {periods} {grain}s, "
                f"{100 * (share or 0):.0f}% of SKUs won")
    return Duel(other.version_id, other.accuracy, pts, len(m), won, lost, share, text)
