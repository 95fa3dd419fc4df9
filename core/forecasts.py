"""Reading versions and their forecasts for people: listings, exports, per-series views."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.access import Actor, require
from core.errors import NotFound, ValidationError
from core.store import registry, session
from core.store import summaries as sum_store
from core.store import version_rollups as rollups
from core.store import versions as vstore

if TYPE_CHECKING:  # pandas, artifacts (models), quantiles and overrides are imported where
    # used: `shelfcast versions` lists rows and should not pay seconds of imports for them.
    import pandas as pd

EXPORT_COLS = ["sku", "store", "date", "yhat", "yhat_lower", "yhat_upper", "model", "version"]


def version_row(v: vstore.Version, active: int | None) -> dict:
    return {
        "id": v.id, "model": v.kind, "status": v.status, "active": v.id == active,
        "created_at": v.created_at.isoformat() if v.created_at else None,
        "created_by": v.created_by, "freq": v.freq, "horizon": v.horizon, "folds": v.folds,
        "n_series": v.n_series, "duration_s": v.duration_s, "dataset_id": v.dataset_id,
        "data_hash": v.data_hash, "code_version": v.code_version, "archived": v.archived,
        "progress": [v.progress_done, v.progress_total], "error": v.error,
        "metrics": json.loads(v.metrics or "{}"), "warnings": json.loads(v.warnings or "[]"),
        "params": json.loads(v.params or "{}"),
    }


def list_versions(db=None) -> list[dict]:
    """Every version, newest first, as plain dicts (the CLI's --json and the pages use these)."""
    with session(db) as s:
        active = registry.active_version_id(s)
        return [version_row(v, active) for v in vstore.list_versions(s)]


def forecast_frame(version_id: int, db=None, *, published: bool | None = None) -> pd.DataFrame:
    """A ready version's final forecasts in the export layout, quantile columns included.

    The active version's frame is what is published (by default): the planner overrides in force
    are applied (core.inventory.overrides, the same rule as the `active_forecasts` view) and
    an `override_id` column names the one applied to each row (empty: the model's own number).
    Another version's frame, or `published=False`, is the version's stored numbers, which never
    change, in the plain export layout."""
    with session(db) as s:
        v = vstore.get_version(s, version_id)
        if v is None:
            raise NotFound(f"There is no version {version_id}; `shelfcast versions` lists them.")
        if v.status != "ready":
            raise ValidationError(f"Version {version_id} is {v.status}, so it has no forecasts to export.")
        df = vstore.forecasts(s, version_id)
        active = registry.active_version_id(s)
    import pandas as pd

    from core import quantiles
    from core.inventory import overrides

    df = df.rename(columns={"ds": "date"}).assign(version=version_id)
    df["date"] = pd.to_datetime(df["date"]).dt.date
    df = quantiles.with_columns(df[EXPORT_COLS], version_id, db)
    if published is None:
        published = version_id == active
    if published:
        return overrides.apply(df, db)
    return df


def export(actor: Actor, version_id: int, out: str | Path, db=None) -> int:
    """Write a version's forecasts to .csv (formula-safe) or .parquet; returns the row count."""
    require(actor, "download")
    from core import exports

    df = forecast_frame(version_id, db)
    exports.write(df, str(out))
    return len(df)


@dataclass(frozen=True)
class VersionInfo:
    """One training run as people read it: JSON columns decoded, the active flag resolved.
    `metrics` holds the pooled backtest metrics (accuracy, wape, mase, bias, coverage, rmse,
    by_model, winners, cutoffs); `progress` is (done, total) series-fits."""

    id: int
    model: str
    status: str
    active: bool
    created_at: str | None
    created_by: str
    freq: str
    horizon: int
    folds: int
    n_series: int | None
    duration_s: float | None
    dataset_id: int | None
    data_hash: str
    code_version: str
    archived: bool
    progress: tuple[int, int]
    error: str | None
    metrics: dict
    warnings: list
    params: dict


def versions(db=None) -> list[VersionInfo]:
    """Every version, newest first."""
    return [VersionInfo(**{**r, "progress": tuple(r["progress"])}) for r in list_versions(db)]


def series_index(version_id: int, db=None) -> pd.DataFrame:
    """Columns series_id, sku, store, model (the model whose forecast serves the series)."""
    with session(db) as s:
        return _serving(s, version_id)


def _serving(s, version_id: int) -> pd.DataFrame:
    """series_id, sku, store, model of a version's series: its rollup, else its forecast rows."""
    got = rollups.serving(s, version_id)
    return vstore.series_ids(s, version_id) if got is None else got


def series_table(version_id: int, kind: str, db=None) -> pd.DataFrame:
    """One row per series of a version: sku, store, model (serving), accuracy (1 - WAPE of the
    serving model), one `WAPE <model>` column per backtested model, mase, bias, coverage, units
    (backtest actuals) - all over every fold of that series, worst accuracy first."""
    with session(db) as s:
        return rollups.series_table(s, version_id, kind)


@dataclass(frozen=True)
class SeriesView:
    """What one series of a version looks like: `history` (ds, y), `backtests` (model, fold,
    cutoff, ds, y, yhat, bands) and `forecast` (ds, yhat, yhat_lower, yhat_upper, model)."""

    sku: str
    store: str
    model: str
    history: pd.DataFrame
    backtests: pd.DataFrame
    forecast: pd.DataFrame


def series_view(version_id: int, series_id: int, db=None) -> SeriesView:
    with session(db) as s:
        ids = _serving(s, version_id).set_index("series_id")
        if series_id not in ids.index:
            raise NotFound(f"Version {version_id} has no forecast for series {series_id}.")
        row = ids.loc[series_id]
        hist = sum_store.history(s, row["sku"], row["store"])
        bt = vstore.backtests(s, version_id, series_id)
        fc = vstore.forecasts(s, version_id, series_id)
    import pandas as pd

    for df, cols in ((hist, ["ds"]), (bt, ["ds", "cutoff"]), (fc, ["ds"])):
        for c in cols:
            df[c] = pd.to_datetime(df[c])
    return SeriesView(str(row["sku"]), str(row["store"]), str(row["model"]), hist, bt, fc)


PROPHET_PARTS = ("trend", "weekly", "yearly", "holidays", "extra_regressors_additive")


def prophet_components(version_id: int, series_id: int, db=None) -> pd.DataFrame:
    """Columns ds plus one per Prophet component present (trend, weekly, yearly, holidays,
    extra_regressors_additive) over the history and the horizon, regressors held at 0: what the
    series' model learned. Raises ShelfcastError when the model file is missing or altered."""
    with session(db) as s:
        v = vstore.get_version(s, version_id)
    if v is None:
        raise NotFound(f"There is no version {version_id}.")
    from core import artifacts

    pm = artifacts.load_prophet(db, version_id, series_id)
    future = pm.make_future_dataframe(periods=v.horizon, freq=v.freq, include_history=True)
    for name in pm.extra_regressors:
        future[name] = 0.0
    comp = pm.predict(future)
    return comp[["ds", *[c for c in PROPHET_PARTS if c in comp]]]


def feature_importance(version_id: int, db=None) -> pd.Series:
    """Permutation importance of the scikit-learn global model's features, ascending. Read from
    the model's metadata file (sha256 checked) alone: unpickling the estimator to show numbers
    stored beside it cost the Train page 0.7 s per view."""
    import json

    import pandas as pd

    from core import artifacts

    meta = artifacts.find(db, version_id, "sklearn", None, "json")
    if meta is None:
        raise artifacts.ArtifactError(f"Version {version_id} has no scikit-learn model.")
    return pd.Series(json.loads(artifacts.read(db, meta))["importance"], dtype=float).sort_values()
