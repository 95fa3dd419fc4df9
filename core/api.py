"""The one way into Shelfcast for pages and the CLI: `Shelfcast(db)` bound to one store.

Why an object: before it, core was loose functions taking a store path in varying positions
and pages opened store sessions themselves. Here each area (`data`, `versions`, `training`,
`users`, `sharing`, `monitoring`) is a small facade over the domain module that owns the rules;
it adds no logic of its own. Conventions, the same in every area:

- mutations take the acting `Actor` first, then their arguments, and the domain function they
  call checks the permission itself (hiding a button is never the security);
- reads write nothing and return entity dataclasses (`Counts`, `Upload`, `VersionInfo`,
  `SeriesView`, `UserInfo`, `LinkInfo`, `JobStatus`, `Comparison`, `Gate`) or DataFrames whose
  columns the domain function documents; JSON columns arrive decoded;
- refusals raise `core.errors.ShelfcastError` with a message fit to show a person.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path

import pandas as pd

import core.browser_sessions as browser_sessions  # w-planner
import core.forecast_view as forecast_view  # w-planner
import core.freshness as freshness  # w-planner
import core.monitoring.promised as promised  # f-planner
import core.worklist as core_worklist  # f-planner
from core import config, data, forecasts, ingest, jobs, models, registry, sharing, training, users
from core.access import Actor
from core.freq import default_horizon, family
from core.metrics import display_accuracy
from core.monitoring import KIND_LABELS, RULE_KINDS, Filters, Monitoring, default_grain
from core.store.db import shared_read

# What pages show beside the areas: the default alert threshold, one accuracy formatter's input
# rule, and the words for a frequency (re-exported so pages need no other core module).
ACCURACY_THRESHOLD = config.ACCURACY_THRESHOLD
describe_freq = ingest.describe_freq
__all__ = ["ACCURACY_THRESHOLD", "KIND_LABELS", "RULE_KINDS", "Filters", "Monitoring", "Shelfcast",
           "default_grain", "describe_freq", "display_accuracy"]


class _Area:
    def __init__(self, db: Path) -> None:
        self.db = db


class Data(_Area):
    """Sales the store holds, and uploads into it (through core.ingest)."""

    counts = property(shared_read(lambda self: data.counts(self.db)))
    freq = property(shared_read(lambda self: data.freq(self.db)))
    describe_freq = staticmethod(ingest.describe_freq)
    Mapping = ingest.Mapping

    @shared_read
    def skus(self) -> list[str]:
        return data.skus(self.db)

    @shared_read
    def stores(self) -> list[str]:
        return data.stores(self.db)

    @shared_read
    def history(self, sku: str, store: str | None = None) -> pd.DataFrame:
        return data.history(sku, store, self.db)

    @shared_read
    def series_summary(self) -> pd.DataFrame:
        return data.series_summary(self.db)

    @shared_read
    def uploads(self) -> list[data.Upload]:
        return data.uploads(self.db)

    @staticmethod
    def inspect(path: str | os.PathLike, file_name: str) -> tuple[list[str], ingest.Mapping, pd.DataFrame]:
        """Columns, the guessed mapping and a preview of a file; reads no store."""
        return ingest.inspect_file(path, file_name)

    def ingest(self, actor: Actor, path: str | os.PathLike, mapping: ingest.Mapping | None = None,
               file_name: str | None = None) -> ingest.IngestResult:
        return ingest.ingest(path, actor, mapping, db=self.db, file_name=file_name)

    def load_demo(self, actor: Actor, say: Callable[[str], None] = lambda _m: None) -> None:
        from core.seed import seed_demo

        seed_demo(actor, self.db, say=say)


class Versions(_Area):
    """Training runs, their results and exports; compare, the accuracy gate and the registry."""

    LEVELS = registry.LEVELS
    NOTE_MAX = registry.NOTE_MAX
    TIE_TOL = registry.TIE_TOL  # WAPE difference under which two versions tie on a SKU

    @shared_read
    def list(self) -> list[forecasts.VersionInfo]:
        return forecasts.versions(self.db)

    @shared_read
    def ready(self) -> list[forecasts.VersionInfo]:
        return [v for v in self.list() if v.status == "ready"]

    @shared_read
    def series_index(self, version_id: int) -> pd.DataFrame:
        return forecasts.series_index(version_id, self.db)

    def series_table(self, v: forecasts.VersionInfo) -> pd.DataFrame:
        # keyed by id and model: a best-of version's metrics nest too deep to be a cache key
        return self._series_table(v.id, v.model)

    @shared_read
    def _series_table(self, version_id: int, model: str) -> pd.DataFrame:
        return forecasts.series_table(version_id, model, self.db)

    @shared_read
    def series_view(self, version_id: int, series_id: int) -> forecasts.SeriesView:
        return forecasts.series_view(version_id, series_id, self.db)

    # Model files beside the store change only with the version's own write: reading (and
    # sha256-checking) a global model's 4.6 MB metadata on every Train view at 100,000 series
    # was most of the page's warm server time.
    @shared_read
    def prophet_components(self, version_id: int, series_id: int) -> pd.DataFrame:
        return forecasts.prophet_components(version_id, series_id, self.db)

    @shared_read
    def feature_importance(self, version_id: int) -> pd.Series:
        return forecasts.feature_importance(version_id, self.db)

    @shared_read
    def forecast_frame(self, version_id: int) -> pd.DataFrame:
        return forecasts.forecast_frame(version_id, self.db)

    @shared_read
    def leaderboard(self, include_archived: bool = False) -> pd.DataFrame:
        return registry.leaderboard(self.db, include_archived=include_archived)

    @shared_read
    def compare(self, version_ids: list[int], level: str = "sku") -> registry.Comparison:
        return registry.compare(self.db, version_ids, level=level)

    @shared_read
    def sku_chart_data(self, version_ids: list[int], sku: str, store: str | None = None):
        return registry.sku_chart_data(self.db, version_ids, sku, store)

    @shared_read
    def check_gate(self, version_id: int) -> registry.Gate:
        return registry.check_gate(version_id, self.db)

    @shared_read
    def rollback_target(self) -> int | None:
        return registry.rollback_target(self.db)

    @shared_read
    def active_forecasts(self) -> pd.DataFrame:
        return registry.active_forecasts(self.db)

    @shared_read
    def published(self) -> registry.Published | None:
        """version, rows, series, first, last of the published forecasts, without reading them."""
        return registry.published(self.db)

    @shared_read
    def history(self) -> pd.DataFrame:
        return registry.history(self.db)

    def promote(self, actor: Actor, version_id: int, note: str, override_reason: str | None = None):
        return registry.promote(actor, version_id, note, override_reason=override_reason, db=self.db)

    def rollback(self, actor: Actor, note: str):
        return registry.rollback(actor, note, db=self.db)

    def archive(self, actor: Actor, version_id: int):
        return registry.archive(actor, version_id, self.db)

    def unarchive(self, actor: Actor, version_id: int):
        return registry.unarchive(actor, version_id, self.db)


class Training(_Area):
    """Background training jobs (core.jobs over core.training) and what a run may ask for."""

    KINDS = models.KINDS
    CANDIDATES = models.CANDIDATES
    LABELS = models.LABELS

    @staticmethod
    def default_candidates() -> list[str]:
        """best-of's candidates when the user picks none: every installed model that is not slow."""
        return models.default_candidates()
    MAX_FOLDS = 10

    @staticmethod
    def default_horizon(freq: str) -> int:
        return default_horizon(freq)

    @staticmethod
    def max_horizon(freq: str) -> int:
        return training.MAX_HORIZON[family(freq)]

    @staticmethod
    def defaults(model: str) -> dict:
        """A model's options and their defaults (what a run uses when the form leaves them)."""
        return {**training.GENERAL_OPTIONS, **models.make(model, "D").OPTIONS}

    def on_startup(self) -> list[int]:
        return jobs.on_startup(self.db)

    def start(self, actor: Actor, kind: str, horizon: int | None = None, folds: int = 3,
              options: dict | None = None) -> int:
        return jobs.start(actor, kind, horizon=horizon, folds=folds, options=options, db=self.db)

    def cancel(self, actor: Actor, version_id: int) -> None:
        jobs.cancel(actor, version_id, self.db)

    def status(self, version_id: int) -> jobs.JobStatus:
        return jobs.status(version_id, self.db)

    def running(self) -> list[jobs.JobStatus]:
        return jobs.running(self.db)


class Users(_Area):
    """Accounts (admins only, checked in core.users)."""

    MIN_PASSWORD = users.MIN_PASSWORD

    def exist(self) -> bool:
        return users.has_users(self.db)

    def create_first_admin(self, name: str, password: str) -> Actor:
        return users.create_first_admin(name, password, self.db)

    def authenticate(self, name: str, password: str) -> Actor:
        return users.authenticate(name, password, self.db)

    def current(self, name: str) -> Actor | None:
        """The account as it is now (None when disabled or removed)."""
        return users.current(name, self.db)

    def list(self, actor: Actor) -> list[users.UserInfo]:
        return users.list_users(actor, self.db)

    def add(self, actor: Actor, name: str, role: str, password: str) -> users.UserInfo:
        return users.add_user(actor, name, role, password, self.db)

    def set_role(self, actor: Actor, name: str, role: str) -> None:
        users.set_role(actor, name, role, self.db)

    def set_password(self, actor: Actor, name: str, password: str) -> None:
        users.set_password(actor, name, password, self.db)

    def set_disabled(self, actor: Actor, name: str, disabled: bool) -> None:
        users.set_disabled(actor, name, disabled, self.db)


class Sharing(_Area):
    """Read-only share links to the Overview."""

    DEFAULT_DAYS = sharing.DEFAULT_DAYS
    MAX_DAYS = sharing.MAX_DAYS
    hash_token = staticmethod(sharing.hash_token)

    def resolve(self, token: str) -> Actor | None:
        """The read-only link actor of a valid token, else None (writes nothing)."""
        return sharing.resolve(token, self.db)

    def create(self, actor: Actor, label: str, days: int) -> sharing.NewLink:
        return sharing.create(actor, label, days, self.db)

    def list(self, actor: Actor) -> list[sharing.LinkInfo]:
        return sharing.list_links(actor, self.db)

    def revoke(self, actor: Actor, link_id: int) -> sharing.LinkInfo:
        return sharing.revoke(actor, link_id, self.db)


class Inventory(_Area):
    """Stock and policy inputs, replenishment proposals, the policy simulation and planner
    overrides (core.inventory owns the rules and checks the permissions)."""

    from core.inventory.inputs import REQUIRED, ROLES  # noqa: E402
    from core.inventory.overrides import REASONS  # noqa: E402

    def proposals(self, actor: Actor, version_id: int | None = None) -> pd.DataFrame:
        from core.inventory import proposals

        return proposals.proposals(actor, self.db, version_id)

    def projection(self, actor: Actor, sku: str, store: str) -> pd.DataFrame:
        from core.inventory import proposals

        return proposals.projection(actor, sku, store, self.db)

    def export_orders(self, actor: Actor, out: str | Path) -> pd.DataFrame:
        from core.inventory import proposals

        return proposals.export_orders(actor, out, self.db)

    @shared_read  # the actor is part of the key, so its permission check is its own
    def simulate(self, actor: Actor, version_id: int | None = None):
        from core.inventory import simulate

        return simulate.simulate(actor, version_id, self.db)

    @shared_read  # the actor is part of the key, so its permission check is its own
    def effect(self, actor: Actor):
        """The live forecast's headline inventory effect against seasonal naive (or None)."""
        from core.inventory import simulate

        return simulate.effect(actor, self.db)

    @staticmethod
    def simulation_table(table: pd.DataFrame) -> pd.DataFrame:
        """A simulation table in words, for people."""
        from core.inventory import simulate

        return simulate.display_table(table)

    def overrides(self, include_ended: bool = False) -> pd.DataFrame:
        from core.inventory import overrides

        return overrides.list_overrides(self.db, include_ended=include_ended)

    def set_override(self, actor: Actor, *args, **kw):
        """Arguments as core.inventory.overrides.set_override (sku, start, end, mode, value,
        reason, note, store=, replaces=)."""
        from core.inventory import overrides

        return overrides.set_override(actor, *args, db=self.db, **kw)

    def end_override(self, actor: Actor, override_id: int):
        from core.inventory import overrides

        return overrides.end_override(actor, override_id, self.db)

    def inspect(self, path: str | Path, kind: str, name: str):
        """A stock/policy file's columns, guessed mapping and preview (reads the file only)."""
        from core.inventory import inputs

        return inputs.inspect_inventory(path, kind, name)

    def ingest(self, actor: Actor, path: str | Path, kind: str, mapping: dict | None = None,
               **kw):
        from core.inventory import inputs

        return inputs.ingest_inventory(self.db, actor, path, kind, mapping, **kw)


class Retraining(_Area):
    """The retraining policy, `shelfcast retrain`'s single application of it, and challengers
    scored on live sales (core.retrain and core.challengers own the rules and check the
    permissions). For the Train page's policy form, and Compare / Monitor's champion vs
    challengers."""

    PROMOTE_MODES = ("challenger", "auto")

    def policy(self):
        """core.retrain.Policy or None."""
        from core import retrain

        return retrain.get_policy(self.db)

    def set_policy(self, actor: Actor, **values):
        """Keys: max_age_days, new_periods, alert_share, model, promote, horizon, folds,
        min_live_periods, window."""
        from core import retrain

        return retrain.set_policy(actor, self.db, **values)

    def decide(self):
        """What the policy says now (core.retrain.Decision: reasons, age_days, new_periods,
        alert_share); None when no policy is set."""
        from core import retrain

        p = retrain.get_policy(self.db)
        return None if p is None else retrain.decide(p, self.db)

    def apply(self, actor: Actor):
        from core import retrain

        return retrain.apply(actor, self.db)

    @shared_read
    def runs(self, limit: int = 20) -> list[dict]:
        from core import retrain

        return retrain.runs(self.db, limit)

    @shared_read
    def challengers(self) -> list[dict]:
        from core import challengers

        return challengers.list_challengers(self.db)

    def add_challenger(self, actor: Actor, version_id: int) -> dict:
        from core import challengers

        return challengers.add(actor, version_id, self.db)

    def remove_challenger(self, actor: Actor, version_id: int) -> None:
        from core import challengers

        challengers.remove(actor, version_id, self.db)

    @shared_read
    def challenger_report(self, window: int = 4, grain: str = "week", level: str = "sku"):
        """core.challengers.Report: champion vs each challenger on the same weeks (`duels` with
        points, win_share and a one-line summary; `table` per SKU and version)."""
        from core import challengers

        return challengers.report(self.db, window, grain, level)


class Shelfcast:
    """One store and every area of the product over it."""

    def __init__(self, db: str | os.PathLike | None = None) -> None:
        self.db = config.db_path(db)
        self.data = Data(self.db)
        self.versions = Versions(self.db)
        self.training = Training(self.db)
        self.users = Users(self.db)
        self.sharing = Sharing(self.db)
        self.inventory = Inventory(self.db)
        self.retraining = Retraining(self.db)  # policy and challengers (core.retrain, core.challengers)
        self.monitoring = Monitoring(self.db)  # accuracy, drift, rules, alerts (core.monitoring)
        self.sessions = Sessions(self.db)  # sign-ins that survive a reload (core.browser_sessions)
        self.planning = Planning(self.db)  # managers' forecast view, the published forecast's freshness

    def unit(self) -> AbstractContextManager[None]:
        """One store connection for everything inside (the app enters it once per page run):
        a page's dozen reads then pay for one open of the file, not one each."""
        from core.store import unit

        return unit(self.db)


class Planning(_Area):
    """Coming weeks of the published forecast per SKU x store (core.forecast_view)."""

    MIN_WEEKS, MAX_WEEKS = forecast_view.MIN_WEEKS, forecast_view.MAX_WEEKS

    def weekly(self, weeks: int = 13, **kw) -> forecast_view.WeeklyForecast:
        """Keywords as core.forecast_view.weekly: categories, stores, skus (filters applied in
        the store), limit (the first rows only), totals, options (the filters' choices)."""
        return forecast_view.weekly(self.db, weeks, **kw)

    @staticmethod
    def to_xlsx_bytes(df: pd.DataFrame) -> bytes:
        return forecast_view.to_xlsx_bytes(df)

    @staticmethod
    def to_csv_bytes(df: pd.DataFrame) -> bytes:
        return forecast_view.exports.to_csv_bytes(df)

    @shared_read(per_day=True, env=("SHELFCAST_LEAD_DAYS",))
    def freshness(self, today: date | None = None) -> freshness.Freshness:
        return freshness.check(self.db, today)

    @staticmethod
    def worklist(live: list[dict], acc: pd.DataFrame, rank: str = "units") -> pd.DataFrame:
        """Monitor's exception worklist (core.monitoring.report.worklist)."""
        from core.monitoring.report import (
            worklist,  # the package re-exports a function named `report`
        )

        return worklist(live, acc, rank)

    # --- f-planner: worklist ownership (core.worklist) ------------------------------------
    @shared_read(per_day=True)  # snoozes end by the date
    def worklist_rows(self, window: int, grain: str, filters: Filters | None = None, rank: str = "units",
                      linked: int | None = None, today: date | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(shown, snoozed) worklist rows with assignee and snooze date of the filter's live
        alerts (Monitoring.live_alerts: the first ALERT_LIST_CAP) plus the `linked` alert (a
        link's, past the cap). Plain arguments, not the alert list and accuracy table: then
        twenty sessions share one computation per store state (it was a quarter of Monitor's
        server CPU per view)."""
        mon = Monitoring(self.db)
        live = mon.live_with(window, grain, filters, linked)
        return core_worklist.rows(live, mon.accuracy(window, grain, "sku", filters), rank, self.db, today)

    def assign(self, actor: Actor, sku: str, store: str, assignee: str) -> None:
        core_worklist.assign(actor, sku, store, assignee, self.db)

    def snooze(self, actor: Actor, sku: str, store: str, until: date | None) -> None:
        core_worklist.snooze(actor, sku, store, until, self.db)

    def acknowledge_row(self, actor: Actor, sku: str, store: str, note: str) -> list[dict]:
        return core_worklist.acknowledge(actor, sku, store, note, self.db)

    @shared_read
    def worklist_history(self) -> pd.DataFrame:
        return core_worklist.history(self.db)

    @shared_read
    def accuracy_rule_kind(self) -> str | None:
        """'accuracy' (absolute) or 'promised_accuracy' (below its backtest); None before rules exist."""
        r = promised.accuracy_rule(self.db)
        return r.kind if r else None

    def set_accuracy_rule(self, actor: Actor, relative: bool) -> None:
        promised.set_accuracy_rule(actor, relative, self.db)


class Sessions(_Area):
    """Cookie tokens for signed-in browsers: issued only against a password, revoked on sign-out."""

    COOKIE = browser_sessions.COOKIE

    def hours(self) -> float:
        return browser_sessions.hours()

    def sign_in(self, name: str, password: str, caller: str | None = None) -> tuple[Actor, str]:
        return browser_sessions.sign_in(name, password, self.db, caller=caller)

    def create_first_admin(self, name: str, password: str) -> tuple[Actor, str]:
        return browser_sessions.create_first_admin(name, password, self.db)

    def resolve(self, token: str | None) -> Actor | None:
        return browser_sessions.resolve(token, self.db)

    def sign_out(self, token: str | None) -> bool:
        return browser_sessions.sign_out(token, self.db)
