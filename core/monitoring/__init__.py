"""Watching the active forecast against incoming actuals: accuracy over time, data and concept
drift, and the alert rules that turn them into alerts. A package by job:

  windows   grains, periods, filters            errors    the stored live errors, `active()`
  accuracy  per period / rolling / per SKU      drift     data drift (scipy.stats), concept drift
  rules     rule kinds as classes, Rule         alerts    evaluation, acknowledge, history, hooks
  quality   data-quality rule kinds (feed stopped, series stopped, upload volume, regressor plans)
  report    what `shelfcast monitor` prints

Reads never write: `monitor_errors` is refreshed and rules evaluated only by the write paths
that change their inputs (ingest's AFTER_INGEST hook, promote / rollback in core.registry, rule
edits) and by an explicit `evaluate(actor)`. Pages use `Monitoring(db)`; the module functions
stay for the CLI, benchmarks and tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from core import config
from core.access import SYSTEM, Actor
from core.monitoring.accuracy import (
    SKU_COLUMNS,
    accuracy_by_period,
    backtest_accuracy,
    forecast_vs_actual,
    overall,
    rolling_accuracy,
    sku_accuracy,
    trend,
)
from core.monitoring.alerts import (
    Evaluation,
    acknowledge,
    after_ingest,
    alert,
    alert_counts,
    alert_json,
    alerts,
    delete_rule,
    evaluate,
    evaluate_after_write,
    history,
    live_counts_by_sku,
    set_webhook,
)
from core.monitoring.drift import (
    DRIFT_METHODS,
    concept_drift,
    data_drift,
    drift_test,
    drift_windows,
    population_stability,
)
from core.monitoring.errors import active, refresh
from core.monitoring.quality import QUALITY_KINDS
from core.monitoring.report import report, store_grain
from core.monitoring.rules import (
    KIND_LABELS,
    KINDS,
    RULE_KINDS,
    FormField,
    Rule,
    RuleKind,
    rules,
    save_rule,
)
from core.monitoring.windows import Filters, category, default_grain, window_start
from core.store.db import shared_read
from core.store.monitoring import ALERT_LIST_CAP


def sync(db=None) -> str:
    """Explicit refresh of the stored errors by the system (benchmarks, maintenance)."""
    return refresh(SYSTEM, db)


ATTENTION_COLUMNS = ["sku", "store", "category", "accuracy_shown", "backtest_accuracy", "gap", "bias",
                     "direction", "lost_units", "over_units", "units", "alerts"]
ALERT_TABLE_COLUMNS = ["id", "status", "rule", "sku", "store", "message", "opened_at", "acknowledged_by",
                       "ack_note"]


@dataclass
class Catalog:
    """What the filters offer, read in one transaction: the store's frequency, SKUs, stores,
    categories, sales row count and last date, the newest dataset id."""

    freq: str | None
    skus: list[str]
    stores: list[str]
    rows: int
    last_date: object
    latest_dataset: int | None
    categories: list[str] = field(default_factory=list)


@dataclass
class Headline:
    """The numbers at the top of Overview and Monitor over one window."""

    accuracy: float | None
    backtest_accuracy: float | None
    bias: float | None
    skus: int
    skus_below: int
    open_alerts: int
    acknowledged_alerts: int
    window_start: str | None = None
    window_end: str | None = None


@dataclass
class AlertList:
    """The live (open or acknowledged) alerts of a filter: `rows` holds the first `limit` of
    them, SKUs with the most units at stake first; the counts are COUNT reads, true above the
    cap; `per_sku` counts every SKU's live alerts."""

    rows: list[dict]
    open: int
    acknowledged: int
    limit: int | None
    per_sku: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.open + self.acknowledged

    @property
    def capped(self) -> bool:
        return len(self.rows) < self.total


@dataclass
class Overview:
    """Everything the Overview page shows. `info` is None when no version is active; `headline`
    accuracy is None until actuals for the active forecast arrive."""

    catalog: Catalog
    info: dict | None
    grain: str
    window: int
    threshold: float
    headline: Headline | None = None
    trend: pd.DataFrame | None = None
    worst: pd.DataFrame | None = None


class Monitoring:
    """Monitoring of one store (`db`: its path, or None for the configured one). Reads are
    pure; the methods taking an actor write and check the actor's role themselves."""

    list_cap = ALERT_LIST_CAP  # alerts a page lists (the counts stay true above it)

    def __init__(self, db=None):
        self.db = db

    # -- reads
    @shared_read
    def catalog(self) -> Catalog:
        from core.store import datasets, sales, session
        from core.store import monitoring as ms

        with session(self.db) as s:
            rows, last = ms.sales_extent(s)
            skus, stores = sales.skus(s), sales.stores(s)
            latest = datasets.latest_dataset(s)
            freq = datasets.get_setting(s, "freq")
        return Catalog(freq, skus, stores, rows, last, latest.id if latest else None,
                       sorted({category(x) for x in skus}))

    @shared_read
    def active(self) -> dict | None:
        return active(self.db)

    @shared_read
    def headline(self, info: dict | None, window: int, grain: str,
                 threshold: float = config.ACCURACY_THRESHOLD,
                 filters: Filters | None = None) -> Headline:
        """Headline over the window; alert counts only of the SKUs in the filter."""
        h = overall(self.db, window, grain, threshold, filters, info=info)
        args = (filters or Filters()).args()
        counts = alert_counts(self.db, args["skus"], args["cats"])  # a COUNT: no list's cap applies
        return Headline(h["accuracy"], h["backtest_accuracy"], h["bias"], h["skus"],
                        h["skus_below"], counts.get("open", 0), counts.get("acknowledged", 0),
                        h.get("window_start"), h.get("window_end"))

    @shared_read
    def overview(self, threshold: float = config.ACCURACY_THRESHOLD, top: int = 5) -> Overview:
        cat = self.catalog()
        grain, window = default_grain(cat.freq)
        info = self.active() if cat.rows else None
        ov = Overview(cat, info, grain, window, threshold)
        if info is None:
            return ov
        ov.headline = self.headline(info, window, grain, threshold)
        if ov.headline.accuracy is not None:
            ov.trend = self.trend(grain)
            acc = self.accuracy(window, grain, threshold=threshold)
            ov.worst = acc[acc["below_threshold"]].head(top)
        return ov

    def accuracy(self, window: int = 4, grain: str = "week", level: str = "sku",
                 filters: Filters | None = None,
                 threshold: float = config.ACCURACY_THRESHOLD) -> pd.DataFrame:
        """Per SKU over the window: SKU_COLUMNS, worst first."""
        return sku_accuracy(self.db, window, grain, level, filters, threshold)

    @shared_read
    def by_period(self, grain: str = "week", level: str = "sku",
                  filters: Filters | None = None) -> pd.DataFrame:
        return accuracy_by_period(self.db, grain, level, filters)

    @shared_read
    def rolling(self, window: int = 4, grain: str = "week", level: str = "sku",
                filters: Filters | None = None) -> pd.DataFrame:
        return rolling_accuracy(self.db, window, grain, level, filters)

    def trend(self, grain: str = "week", filters: Filters | None = None) -> pd.DataFrame:
        return trend(self.db, grain, filters)

    def backtest_accuracy(self, grain: str = "week", filters: Filters | None = None) -> float | None:
        return backtest_accuracy(self.db, grain, filters)

    @shared_read
    def forecast_vs_actual(self, info: dict | None, sku: str, store: str | None = None) -> pd.DataFrame:
        return forecast_vs_actual(self.db, sku, store, info=info)

    @shared_read  # one test per SKU and column: seconds with thousands of SKUs, once per store state
    def data_drift(self, info: dict | None, window: int = 4, grain: str = "week",
                   filters: Filters | None = None, keep_values: bool = False) -> pd.DataFrame:
        return data_drift(self.db, window, grain, "sku", "auto", filters, keep_values, info=info)

    @shared_read
    def concept_drift(self, window: int = 4, grain: str = "week",
                      filters: Filters | None = None) -> pd.DataFrame:
        return concept_drift(self.db, window, grain, filters=filters)

    def alerts(self, statuses: list[str] | None = None, filters: Filters | None = None,
               limit: int | None = ALERT_LIST_CAP) -> list[dict]:
        """The newest `limit` alert_json dicts of the SKUs / categories in the filter (filtered
        before the cut, in the store)."""
        from core.store.db import memo

        args = (filters or Filters()).args()
        key = ("alerts", tuple(statuses) if statuses else None, repr(args), limit)
        return [dict(a) for a in memo(self.db, key, lambda: alerts(
            self.db, statuses, limit, args["skus"], args["cats"]))]

    def live_alerts(self, window: int = 4, grain: str = "week", filters: Filters | None = None,
                    limit: int | None = None) -> AlertList:
        """Open and acknowledged alerts of the filter: the first `limit` (default `list_cap`),
        ranked by their SKU's units at stake (lost sales + overstock over the window, as the
        worklist), with the true counts. Ranking by units, not %, keeps a big SKU's alert above
        a tiny SKU's 0%."""
        from core.store.db import memo

        limit = self.list_cap if limit is None else limit
        args = (filters or Filters()).args()
        acc = self.accuracy(window, grain, "sku", filters)
        stake = (acc["sku"].tolist(), (acc["lost_units"] + acc["over_units"]).fillna(0.0).tolist())

        def read() -> tuple:
            # Cached as JSON text (immutable: the cache hands it out as it is): a deep copy of a
            # thousand alert dicts per view was a fifth of Monitor's own CPU under load.
            counts = alert_counts(self.db, args["skus"], args["cats"])
            rows = alerts(self.db, ["open", "acknowledged"], limit, args["skus"], args["cats"], stake)
            return (json.dumps(rows), counts.get("open", 0), counts.get("acknowledged", 0),
                    json.dumps(live_counts_by_sku(self.db, args["skus"], args["cats"])))

        rows, n_open, n_ack, per_sku = memo(self.db, ("live_alerts", window, grain, repr(args), limit), read)
        return AlertList(json.loads(rows), n_open, n_ack, limit, json.loads(per_sku))

    def live_with(self, window: int = 4, grain: str = "week", filters: Filters | None = None,
                  linked: int | None = None) -> list[dict]:
        """`live_alerts(...).rows` plus alert `linked` (a link's, which may lie past the cap)
        unless it is resolved or already there."""
        live = self.live_alerts(window, grain, filters).rows
        extra = self.alert(linked) if linked is not None else None
        if extra and extra["status"] != "resolved" and all(a["id"] != extra["id"] for a in live):
            live.append(extra)
        return live

    @shared_read
    def attention(self, window: int, grain: str, per_store: bool, by_pct: bool,
                  filters: Filters | None = None, threshold: float = config.ACCURACY_THRESHOLD) -> pa.Table:
        """Monitor's "Needs attention" table as the page sends it: ATTENTION_COLUMNS, most units at
        stake first (`by_pct`: worst accuracy first), each SKU's live alerts counted, accuracy
        floored at 0 for its bar (core.metrics.display_accuracy's floor). Arrow, made once per
        store state: converting 2,000 rows from pandas on every view was the page's largest table
        cost under twenty sessions."""
        base = self.accuracy(window, grain, "series" if per_store else "sku", filters, threshold)
        base = base.assign(stake=base["lost_units"] + base["over_units"]).sort_values(
            "accuracy" if by_pct else "stake", ascending=by_pct, na_position="last", ignore_index=True)
        per_sku = self.live_alerts(window, grain, filters).per_sku
        table = base.assign(alerts=base["sku"].map(per_sku).fillna(0).astype(int),
                            store=base["store"].replace({"*": "all stores"}),
                            accuracy_shown=np.clip(base["accuracy"].to_numpy(dtype=float), 0, None))
        return pa.Table.from_pandas(table[ATTENTION_COLUMNS])

    @shared_read
    def alert_table(self, window: int = 4, grain: str = "week", filters: Filters | None = None,
                    linked: int | None = None) -> pa.Table:
        """The Alerts tab's list (`live_with`) as the page sends it: ALERT_TABLE_COLUMNS, the
        opening time to the minute. Arrow, made once per store state."""
        live = self.live_with(window, grain, filters, linked)
        frame = pd.DataFrame(live, columns=list(live[0]) if live else ALERT_TABLE_COLUMNS)[ALERT_TABLE_COLUMNS]
        frame["opened_at"] = frame["opened_at"].str[:16].str.replace("T", " ")
        return pa.Table.from_pandas(frame)

    @shared_read
    def alert(self, alert_id: int) -> dict | None:
        return alert(self.db, alert_id)

    @shared_read
    def alert_counts(self, filters: Filters | None = None) -> dict[str, int]:
        """Alerts per status of the SKUs / categories in the filter (a COUNT read)."""
        args = (filters or Filters()).args()
        return alert_counts(self.db, args["skus"], args["cats"])

    @shared_read
    def history(self, alert_id: int | None = None) -> list[dict]:
        return history(self.db, alert_id)

    @shared_read
    def history_table(self) -> pa.Table:
        """`history()` as the page's table sends it (Arrow, made once per store state: a deep
        copy and a conversion of every event on each view otherwise)."""
        return pa.Table.from_pandas(pd.DataFrame(self.history()))

    @shared_read
    def rules(self) -> list[Rule]:
        return rules(self.db)

    def webhook(self) -> dict:
        """url, secret_set, url_from_env, allow_private: what the Rules tab shows. Once per store
        state and configuration (two store reads on every Monitor view otherwise): the key holds
        what the environment and secrets.toml say now, the secret only as its SHA-256."""
        import hashlib
        import os

        from core import webhook
        from core.store.db import memo

        names = ("SHELFCAST_WEBHOOK_URL", "SHELFCAST_WEBHOOK_SECRET", "SHELFCAST_WEBHOOK_ALLOW_PRIVATE")
        conf = tuple(hashlib.sha256(v.encode()).hexdigest() if (v := config.env_or_secret(n)) else None
                     for n in names)

        def read() -> dict:
            url, secret = webhook.settings(self.db)
            return {"url": url, "secret_set": bool(secret),
                    "url_from_env": bool(os.environ.get("SHELFCAST_WEBHOOK_URL")),
                    "allow_private": webhook.allow_private(self.db)}

        return memo(self.db, ("webhook", conf, bool(os.environ.get("SHELFCAST_WEBHOOK_URL"))), read)

    # -- writes (each checks the actor's role)
    def evaluate(self, actor: Actor) -> Evaluation:
        return evaluate(actor, self.db)

    def acknowledge(self, actor: Actor, alert_id: int, note: str) -> dict:
        return acknowledge(actor, alert_id, note, self.db)

    def save_rule(self, actor: Actor, rule_id: int | None = None, **values) -> tuple[Rule, str | None]:
        """Save, then re-evaluate: (the rule, None or why the evaluation failed)."""
        rule = save_rule(actor, self.db, rule_id, **values)
        return rule, evaluate_after_write(actor, self.db, "the rule change")

    def delete_rule(self, actor: Actor, rule_id: int) -> None:
        delete_rule(actor, rule_id, self.db)

    def set_webhook(self, actor: Actor, url: str, allow_private: bool | None = None) -> None:
        set_webhook(actor, url, self.db, allow_private=allow_private)

    def report(self, actor: Actor) -> dict:
        return report(actor, self.db)


__all__ = [
    "ALERT_LIST_CAP", "DRIFT_METHODS", "KINDS", "KIND_LABELS", "QUALITY_KINDS", "RULE_KINDS", "SKU_COLUMNS",
    "AlertList", "Catalog", "Evaluation",
    "Filters", "FormField", "Headline", "Monitoring", "Overview", "Rule", "RuleKind",
    "accuracy_by_period", "acknowledge", "active", "after_ingest", "alert", "alert_counts", "alert_json",
    "alerts", "live_counts_by_sku",
    "backtest_accuracy", "category", "concept_drift", "config", "data_drift", "default_grain",
    "delete_rule", "drift_test", "drift_windows", "evaluate", "evaluate_after_write",
    "forecast_vs_actual", "history", "overall", "population_stability", "refresh", "report",
    "rolling_accuracy", "rules", "save_rule", "set_webhook", "sku_accuracy", "store_grain", "sync",
    "trend", "window_start",
]
