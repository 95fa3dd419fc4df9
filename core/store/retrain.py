"""Retraining tables and queries: versions marked as challengers, the log of `shelfcast retrain`
runs, and the live scores of any version on the same dates as the active one.

The policy itself is one JSON value in `settings` (key POLICY_KEY): it is a handful of numbers
edited as a whole, never queried by part.

Live scoring reuses monitoring's period and metric SQL (`_PERIODS`, `_METRICS` and the metric
macros of core.store.metrics), fed with a version's forecasts beside the actuals instead of the
stored errors of the active version: one definition of WAPE, accuracy and bias for both.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from sqlalchemy import Column, Integer
from sqlmodel import Field, Session, SQLModel, select

from core.store import monitoring, versions  # noqa: F401 - their DDL must come before ours
from core.store.base import delete, id_field, now, save
from core.store.db import raw
from core.store.monitoring import _METRICS, _PERIODS, _flt, _grain

POLICY_KEY = "retrain.policy"


class Challenger(SQLModel, table=True):
    """A ready version scored on live sales beside the active one (shadow / A-B)."""

    __tablename__ = "challengers"
    version_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    marked_by: str
    marked_at: datetime = Field(default_factory=now)
    source: str = "manual"  # manual | policy (trained by `shelfcast retrain`)


class RetrainRun(SQLModel, table=True):
    """Append-only: one row per `shelfcast retrain` that got past its checks."""

    __tablename__ = "retrain_runs"
    id: int | None = id_field("retrain_runs")
    actor: str
    started_at: datetime = Field(default_factory=now)
    trained: bool = False
    version_id: int | None = None
    promoted: int | None = None
    reasons: str = "[]"  # JSON list of why it trained (empty: nothing was needed)
    policy: str = "{}"  # JSON: the policy applied
    message: str = ""


def challengers(s: Session) -> list[Challenger]:
    return list(s.exec(select(Challenger).order_by(Challenger.version_id)).all())  # type: ignore[arg-type]


def mark_challenger(s: Session, version_id: int, marked_by: str, source: str) -> Challenger:
    """The version's challenger row, added if it is not one yet (marking twice keeps the first)."""
    return s.get(Challenger, version_id) or save(
        s, Challenger(version_id=version_id, marked_by=marked_by, source=source))


def remove_challenger(s: Session, version_id: int) -> bool:
    """Whether the version was a challenger; it is not one now."""
    return delete(s, s.get(Challenger, version_id))


def add_run(s: Session, run: RetrainRun) -> RetrainRun:
    return save(s, run)


def runs(s: Session, limit: int = 100) -> list[RetrainRun]:
    q = select(RetrainRun).order_by(RetrainRun.id.desc()).limit(limit)  # type: ignore[union-attr]
    return list(s.exec(q).all())


def new_periods(s: Session, since: date) -> int:
    """Distinct dates with actuals after `since` (the active version's training data end)."""
    return int(raw(s).execute("SELECT count(DISTINCT ds) FROM sales WHERE ds > ?", [since]).fetchone()[0])


def last_training_date(s: Session, version_id: int) -> date | None:
    """The last date the version was trained on: the day before its first forecast."""
    row = raw(s).execute("SELECT min(ds) - INTERVAL 1 DAY FROM forecasts WHERE version_id = ?",
                         [version_id]).fetchone()
    return None if row[0] is None else pd.Timestamp(row[0]).date()


def alert_sales_share(s: Session, kinds: list[str], since: date) -> float | None:
    """Share of units sold since `since` that belong to SKUs (or SKU × store) with an open or
    acknowledged alert of the given kinds; None when nothing sold."""
    row = raw(s).execute(
        """WITH a AS (SELECT DISTINCT sku, store FROM alerts
                      WHERE status <> 'resolved' AND list_contains(?, kind)),
                u AS (SELECT se.sku, se.store, sum(abs(y)) AS units
                      FROM sales JOIN series se USING (series_id) WHERE ds > ? GROUP BY ALL)
           SELECT sum(units) FILTER (WHERE EXISTS (
                      SELECT 1 FROM a WHERE a.sku = u.sku AND (a.store = '*' OR a.store = u.store))),
                  sum(units)
           FROM u""",
        [list(kinds), since],
    ).fetchone()
    return None if not row[1] else float(row[0] or 0) / float(row[1])


def _version_errors(version_id: int) -> str:
    """A version's forecasts beside the actuals, only on (series, date) the active version has
    live errors for: the same weeks for champion and challengers. The id is bound (`?`)."""
    return """(SELECT se.sku, se.store, f.ds, sa.y, f.yhat
               FROM forecasts f JOIN sales sa USING (series_id, ds)
               JOIN monitor_errors me USING (series_id, ds)
               JOIN series se USING (series_id) WHERE f.version_id = ?)"""


def live_scores(s: Session, version_id: int, start: date, grain: str = "week",
                level: str = "sku", skus: list[str] | None = None,
                stores: list[str] | None = None) -> pd.DataFrame:
    """Per SKU (stores summed per period) or SKU × store over dates >= start: units, forecast,
    abs_err, abs_y, wape, accuracy, bias; taken exactly as core.store.monitoring.window_accuracy
    takes them for the active version."""
    where, params = _flt(skus, stores, None)
    sql = _PERIODS.format(store="store" if level == "series" else "'*'",
                          err=_version_errors(version_id), where=where + " AND ds >= ?")
    return raw(s).execute(
        f"""{sql} SELECT sku, store, {_METRICS}, sum(n) AS n
            FROM per GROUP BY ALL ORDER BY sku, store""",  # noqa: S608 - constants only
        [_grain(grain), version_id, *params, start],
    ).df()


def live_total(s: Session, version_id: int, start: date, grain: str = "week") -> tuple[float, float, int]:
    """(abs_err, abs_y, periods) of all SKUs together over dates >= start, from SKU totals per
    period, as the Monitor headline takes them."""
    sql = _PERIODS.format(store="'*'", err=_version_errors(version_id), where="ds >= ?")
    row = raw(s).execute(
        f"""{sql} SELECT metric_abs_err(y, yhat), metric_abs_y(y, yhat), count(DISTINCT period)
            FROM per""",  # noqa: S608 - constants only
        [_grain(grain), version_id, start],
    ).fetchone()
    return float(row[0] or 0), float(row[1] or 0), int(row[2] or 0)
