"""Model files on disk beside the store, each recorded with its sha256 and checked on load.

Prophet models are JSON (prophet.serialize.model_to_json); scikit-learn models are skops files
loaded with an explicit list of trusted types. Nothing here unpickles anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from core import config
from core.errors import ShelfcastError
from core.models.base import Artefact
from core.store import session
from core.store import versions as vstore


class ArtifactError(ShelfcastError):
    """A model file is missing or differs from what was written at training time."""


def version_dir(db: str | os.PathLike | None, version_id: int) -> Path:
    return config.artifact_dir(config.db_path(db)) / f"v{version_id}"


def write(db: str | os.PathLike | None, version_id: int, items: list[Artefact]) -> list[vstore.Artifact]:
    """Write files (before the version's rows are committed) and return the rows to insert."""
    d = version_dir(db, version_id)
    d.mkdir(parents=True, exist_ok=True)
    rows = []
    for a in items:
        (d / a.file_name).write_bytes(a.data)
        rows.append(vstore.Artifact(version_id=version_id, series_id=a.series_id, model=a.model,
                                    path=f"v{version_id}/{a.file_name}",
                                    sha256=hashlib.sha256(a.data).hexdigest(), format=a.format))
    return rows


def discard(db: str | os.PathLike | None, version_id: int) -> None:
    """Remove the files of a run that did not finish."""
    shutil.rmtree(version_dir(db, version_id), ignore_errors=True)


def read(db: str | os.PathLike | None, row: vstore.Artifact) -> bytes:
    """The file's bytes, after checking them against the recorded sha256."""
    path = config.artifact_dir(config.db_path(db)) / row.path
    if not path.is_file():
        raise ArtifactError(f"The model file {row.path} of version {row.version_id} is missing; "
                            "restore the artefact folder from backup or retrain.")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise ArtifactError(f"The model file {row.path} of version {row.version_id} has changed since "
                            "training (sha256 mismatch), so it is not loaded. Restore it from backup "
                            "or retrain.")
    return data


def find(db: str | os.PathLike | None, version_id: int, model: str, series_id: int | None = None,
         fmt: str | None = None) -> vstore.Artifact | None:
    with session(db) as s:
        rows = vstore.artifacts(s, version_id)
    for r in rows:
        if r.model == model and r.series_id == series_id and (fmt is None or r.format == fmt):
            return r
    return None


def load_prophet(db, version_id: int, series_id: int):
    """The fitted Prophet model of one series (sha256 checked)."""
    from prophet.serialize import model_from_json

    row = find(db, version_id, "prophet", series_id)
    if row is None:
        raise ArtifactError(f"Version {version_id} has no Prophet model for series {series_id}.")
    return model_from_json(read(db, row).decode())


def load_sklearn(db, version_id: int):
    """(estimator, metadata) of a version's scikit-learn global model (sha256 checked)."""
    from core.models.sklearn_global import load_estimator

    row = find(db, version_id, "sklearn", None, "skops")
    meta = find(db, version_id, "sklearn", None, "json")
    if row is None or meta is None:
        raise ArtifactError(f"Version {version_id} has no scikit-learn model.")
    return load_estimator(read(db, row)), json.loads(read(db, meta))
