"""Reads of what the store holds about sales: counts, frequency, per-SKU series, the upload log.

Pages and the CLI read sales through here (via `core.api`), so they never open a store session
themselves; every function is a pure read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from core import rollups  # noqa: F401 - registers the rollup refresh after every ingest
from core.store import datasets, sales, session
from core.store import summaries as sum_store

Db = str | os.PathLike | None


@dataclass(frozen=True)
class Counts:
    """How much the store holds; dates are None while it is empty."""

    rows: int
    series: int
    skus: int
    stores: int
    first_date: date | None
    last_date: date | None


@dataclass(frozen=True)
class Upload:
    """One accepted upload (a dataset version): its file, what it changed, who loaded it."""

    id: int
    file_name: str
    sha256: str  # of the file's bytes
    created_by: str
    created_at: datetime | None
    rows_added: int
    rows_updated: int
    series_count: int
    first_date: date | None  # the span of the file's dates
    last_date: date | None


def counts(db: Db = None) -> Counts:
    with session(db) as s:
        c = sum_store.counts(s)
    return Counts(**{k: (int(v) if k not in ("first_date", "last_date") else v) for k, v in c.items()})


def freq(db: Db = None) -> str | None:
    """The store's frequency code ('D', 'W-MON', 'MS', ...), None before the first upload."""
    with session(db) as s:
        return datasets.get_setting(s, "freq")


def skus(db: Db = None) -> list[str]:
    with session(db) as s:
        return sales.skus(s)


def stores(db: Db = None) -> list[str]:
    with session(db) as s:
        return sales.stores(s)


def history(sku: str, store: str | None = None, db: Db = None) -> pd.DataFrame:
    """Columns ds (datetime64), y: one SKU's units by date, at one store or summed over stores."""
    with session(db) as s:
        h = sum_store.history(s, sku, store)
    h["ds"] = pd.to_datetime(h["ds"])
    return h


def series_summary(db: Db = None) -> pd.DataFrame:
    """Columns sku, store, first_date, last_date, periods, total_units, mean_units, zero_share."""
    with session(db) as s:
        return sum_store.series_summary(s)


def uploads(db: Db = None) -> list[Upload]:
    """Every accepted upload, newest first."""
    with session(db) as s:
        rows = datasets.list_datasets(s)
    return [Upload(d.id, d.file_name, d.sha256, d.created_by, d.created_at, d.rows_added, d.rows_updated,
                   d.series_count, d.first_date, d.last_date) for d in rows]
