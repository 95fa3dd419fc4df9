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
- `versions.metrics`: JSON of pooled metrics of the version's chosen model(s):
  {"wape":..., "accuracy":..., "mape":..., "smape":..., "mase":..., "bias":..., "rmse":...,
   "coverage":...}.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from core.store.base import id_field, now
from core.store.schema import DDL

STATUSES = ("running", "ready", "failed", "cancelled", "interrupted")


class Version(SQLModel, table=True):
    __tablename__ = "versions"
    id: int | None = id_field("versions")
    kind: str  # prophet | sklearn | naive | best
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
]
