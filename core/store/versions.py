"""Model versions (one row per training run) and what a run produces: backtest predictions,
per-series metrics and final forecasts. A version's rows are written once; only its status
moves (running -> ready | failed | cancelled | interrupted) and `archived` may be set.

Contract used by the registry and monitoring:
- `versions.status == 'ready'` only after every artefact, forecast and metric row is written,
  in the same transaction that flips the status.
- `forecasts`: version_id, series_id, ds, yhat, yhat_lower, yhat_upper, model (the model that
  produced that series' forecast; for best-of, the winner).
- `backtests`: version_id, series_id, model, fold, cutoff, ds, y, yhat, yhat_lower, yhat_upper.
- `series_metrics`: version_id, series_id, model, fold (NULL = all folds pooled for the series),
  wape, mape, smape, mase, bias, rmse, coverage, abs_err, abs_y, n.
- `forecast_quantiles`: version_id, series_id, ds, q, value: the quantile forecasts (P10/P50/P90
  by default, core.quantiles). Long, so the set of quantiles can change without a schema change;
  `forecasts.yhat_lower`/`yhat_upper` hold the same run's P10/P90, so readers of the 80% band
  need nothing else.
- `series_class`: version_id, series_id, class, adi, cv2: each series' demand class when the
  version was trained (smooth / erratic / intermittent / lumpy / obsolete).
- `versions.metrics`: JSON of pooled metrics of the version's chosen model(s):
  {"wape":..., "accuracy":..., "mape":..., "smape":..., "mase":..., "bias":..., "rmse":...,
   "coverage":...}.
"""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
from sqlmodel import Field, Session, SQLModel, select

from core.store.base import id_field, now, save
from core.store.db import raw
from core.store.schema import DDL

STATUSES = ("running", "ready", "failed", "cancelled", "interrupted")


class Version(SQLModel, table=True):
    __tablename__ = "versions"
    id: int | None = id_field("versions")
    kind: str  # a model of core.models.CATALOGUE, ensemble or best
    params: str = "{}"  # JSON: every option that shaped the fit, horizon and folds included
    horizon: int
    folds: int
    freq: str
    dataset_id: int | None = None
    data_hash: str = ""
    code_version: str = ""
    created_by: str
    created_at: datetime = Field(default_factory=now)
    finished_at: datetime | None = None
    duration_s: float | None = None
    status: str = "running"
    error: str | None = None
    metrics: str = "{}"
    warnings: str = "[]"  # JSON list of messages shown with the version (dropped regressors, ...)
    progress_done: int = 0
    progress_total: int = 0
    cancel_requested: bool = False
    archived: bool = False
    n_series: int = 0


class Artifact(SQLModel, table=True):
    """A model file on disk beside the store, with its sha256 checked on every load."""

    __tablename__ = "artifacts"
    id: int | None = id_field("artifacts")
    version_id: int = Field(index=True)
    series_id: int | None = None  # None for a global model
    model: str
    path: str  # relative to the artifact directory
    sha256: str
    format: str  # prophet-json | skops


DDL += [
    """CREATE TABLE IF NOT EXISTS forecasts (
        version_id INTEGER NOT NULL, series_id INTEGER NOT NULL, ds DATE NOT NULL,
        yhat DOUBLE, yhat_lower DOUBLE, yhat_upper DOUBLE, model VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS backtests (
        version_id INTEGER NOT NULL, series_id INTEGER NOT NULL, model VARCHAR NOT NULL,
        fold INTEGER NOT NULL, cutoff DATE NOT NULL, ds DATE NOT NULL, y DOUBLE,
        yhat DOUBLE, yhat_lower DOUBLE, yhat_upper DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS series_metrics (
        version_id INTEGER NOT NULL, series_id INTEGER NOT NULL, model VARCHAR NOT NULL,
        fold INTEGER, wape DOUBLE, mape DOUBLE, smape DOUBLE, mase DOUBLE, bias DOUBLE,
        rmse DOUBLE, coverage DOUBLE, abs_err DOUBLE, abs_y DOUBLE, n INTEGER)""",
    """CREATE TABLE IF NOT EXISTS forecast_quantiles (
        version_id INTEGER NOT NULL, series_id INTEGER NOT NULL, ds DATE NOT NULL,
        q DOUBLE NOT NULL, value DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS series_class (
        version_id INTEGER NOT NULL, series_id INTEGER NOT NULL, class VARCHAR NOT NULL,
        adi DOUBLE, cv2 DOUBLE)""",
]


# -- queries (core.training, core.jobs, the Train page and the CLI call these) -------------------

def add_version(s: Session, v: Version) -> Version:
    return save(s, v)


def get_version(s: Session, version_id: int) -> Version | None:
    return s.get(Version, version_id)


def list_versions(s: Session, include_archived: bool = True) -> list[Version]:
    q = select(Version).order_by(Version.id.desc())  # type: ignore[union-attr]
    if not include_archived:
        q = q.where(Version.archived == False)  # noqa: E712
    return list(s.exec(q).all())


def running(s: Session) -> list[Version]:
    return list(s.exec(select(Version).where(Version.status == "running")).all())


def set_progress(s: Session, version_id: int, done: int, total: int) -> bool:
    """Record progress; returns whether a cancel was requested meanwhile."""
    v = s.get(Version, version_id)
    if v is None:
        return True
    v.progress_done, v.progress_total = done, total
    s.add(v)
    s.flush()
    return bool(v.cancel_requested)


def request_cancel(s: Session, version_id: int) -> Version | None:
    v = s.get(Version, version_id)
    if v is not None and v.status == "running":
        v.cancel_requested = True
        s.add(v)
        s.flush()
    return v


def set_status(s: Session, version_id: int, status: str, error: str | None = None,
               duration_s: float | None = None) -> None:
    assert status in STATUSES
    v = s.get(Version, version_id)
    if v is None:
        return
    v.status, v.error, v.finished_at = status, error, now()
    if duration_s is not None:
        v.duration_s = duration_s
    s.add(v)
    s.flush()


def save_results(s: Session, version_id: int, *, backtests: pd.DataFrame | list[pd.DataFrame],
                 metrics_rows: pd.DataFrame,
                 forecasts: pd.DataFrame, artifacts: list[Artifact], metrics: dict,
                 warnings: list[str], params: dict, duration_s: float, n_series: int,
                 quantiles: pd.DataFrame | None = None, classes: pd.DataFrame | None = None) -> None:
    """Everything a run produced, and the flip to 'ready', in the caller's one transaction.
    `backtests` may come in parts (best-of keeps its ensemble's rows apart): each is inserted as
    it is, in order, since joining them first copies the whole backtest (~2.4 GB at 100,000
    series x 3 candidates)."""
    con = raw(s)
    parts = backtests if isinstance(backtests, list) else [backtests]
    tables = [*(("backtests", b, BACKTEST_COLS) for b in parts),
              ("series_metrics", metrics_rows, METRIC_COLS), ("forecasts", forecasts, FORECAST_COLS)]
    if quantiles is not None and len(quantiles):
        tables.append(("forecast_quantiles", quantiles, QUANTILE_COLS))
    if classes is not None and len(classes):
        tables.append(("series_class", classes, CLASS_COLS))
    for table, df, cols in tables:
        # the frame as it is (no copy with a version column): DuckDB reads it in bulk
        con.register("incoming_rows", df)
        names = ", ".join(f'"{c}"' for c in cols)
        con.execute(f"INSERT INTO {table} SELECT ?, {names} FROM incoming_rows",  # noqa: S608 - fixed names
                    [version_id])
        con.unregister("incoming_rows")
    for a in artifacts:
        a.version_id = version_id
        s.add(a)
    v = s.get(Version, version_id)
    v.metrics = json.dumps(metrics)
    v.warnings = json.dumps(warnings)
    v.params = json.dumps(params)
    v.n_series = n_series
    v.progress_done = v.progress_total
    s.add(v)
    s.flush()
    set_status(s, version_id, "ready", duration_s=duration_s)


BACKTEST_COLS = ["series_id", "model", "fold", "cutoff", "ds", "y", "yhat", "yhat_lower", "yhat_upper"]
METRIC_COLS = ["series_id", "model", "fold", "wape", "mape", "smape", "mase", "bias", "rmse",
               "coverage", "abs_err", "abs_y", "n"]
FORECAST_COLS = ["series_id", "ds", "yhat", "yhat_lower", "yhat_upper", "model"]
QUANTILE_COLS = ["series_id", "ds", "q", "value"]
CLASS_COLS = ["series_id", "class", "adi", "cv2"]


def forecasts(s: Session, version_id: int, series_id: int | None = None) -> pd.DataFrame:
    """Final forecasts with SKU and store: sku, store, series_id, ds, yhat, bands, model."""
    return raw(s).execute(
        """SELECT se.sku, se.store, f.series_id, f.ds, f.yhat, f.yhat_lower, f.yhat_upper, f.model
           FROM forecasts f JOIN series se USING (series_id)
           WHERE f.version_id = ? AND (? IS NULL OR f.series_id = ?)
           ORDER BY se.sku, se.store, f.ds""",
        [version_id, series_id, series_id],
    ).df()


def backtests(s: Session, version_id: int, series_id: int | None = None) -> pd.DataFrame:
    return raw(s).execute(
        """SELECT series_id, model, fold, cutoff, ds, y, yhat, yhat_lower, yhat_upper
           FROM backtests WHERE version_id = ? AND (? IS NULL OR series_id = ?)
           ORDER BY model, series_id, ds""",
        [version_id, series_id, series_id],
    ).df()


def series_metrics(s: Session, version_id: int, pooled_only: bool = True) -> pd.DataFrame:
    """Per-series metrics with SKU and store (fold NULL = all folds of that series together)."""
    return raw(s).execute(
        """SELECT se.sku, se.store, m.* EXCLUDE (version_id)
           FROM series_metrics m JOIN series se USING (series_id)
           WHERE m.version_id = ? AND (NOT ? OR m.fold IS NULL)
           ORDER BY se.sku, se.store, m.model, m.fold""",
        [version_id, pooled_only],
    ).df()


def artifacts(s: Session, version_id: int) -> list[Artifact]:
    return list(s.exec(select(Artifact).where(Artifact.version_id == version_id)).all())


def series_ids(s: Session, version_id: int) -> pd.DataFrame:
    """The series a version forecasts, with their SKU, store and winning model."""
    return raw(s).execute(
        """SELECT DISTINCT f.series_id, se.sku, se.store, f.model FROM forecasts f
           JOIN series se USING (series_id) WHERE f.version_id = ? ORDER BY se.sku, se.store""",
        [version_id],
    ).df()


def forecast_quantiles(s: Session, version_id: int, series_id: int | None = None) -> pd.DataFrame:
    """series_id, ds, q, value of a version's quantile forecasts (empty for older versions)."""
    return raw(s).execute(
        """SELECT series_id, ds, q, value FROM forecast_quantiles
           WHERE version_id = ? AND (? IS NULL OR series_id = ?) ORDER BY series_id, ds, q""",
        [version_id, series_id, series_id],
    ).df()


def series_classes(s: Session, version_id: int) -> pd.DataFrame:
    """Per series of a version: sku, store, series_id, class, adi, cv2."""
    return raw(s).execute(
        """SELECT se.sku, se.store, c.series_id, c.class, c.adi, c.cv2
           FROM series_class c JOIN series se USING (series_id)
           WHERE c.version_id = ? ORDER BY se.sku, se.store""",
        [version_id],
    ).df()
