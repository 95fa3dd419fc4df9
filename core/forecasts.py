"""Reading versions and their forecasts for people: listings, exports, per-series views."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from core import exports
from core.access import Actor, require
from core.errors import NotFound, ValidationError
from core.store import registry, session
from core.store import versions as vstore

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


def forecast_frame(version_id: int, db=None) -> pd.DataFrame:
    """A ready version's final forecasts in the export layout."""
    with session(db) as s:
        v = vstore.get_version(s, version_id)
        if v is None:
            raise NotFound(f"There is no version {version_id}; `shelfcast versions` lists them.")
        if v.status != "ready":
            raise ValidationError(f"Version {version_id} is {v.status}, so it has no forecasts to export.")
        df = vstore.forecasts(s, version_id)
    df = df.rename(columns={"ds": "date"}).assign(version=version_id)
    df["date"] = pd.to_datetime(df["date"]).dt.date
    return df[EXPORT_COLS]


def export(actor: Actor, version_id: int, out: str | Path, db=None) -> int:
    """Write a version's forecasts to .csv (formula-safe) or .parquet; returns the row count."""
    require(actor, "download")
    df = forecast_frame(version_id, db)
    exports.write(df, str(out))
    return len(df)
