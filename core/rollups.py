"""Keeps the pages' rollups (core.store.summaries) current on the write paths that change their
inputs: registered as an `ingest.AFTER_INGEST` hook, so it runs after every accepted upload and
every sales deletion (core.sales_edit calls the same hooks).

A failure here never fails the write: the sales are committed, and the reads fall back to the
raw rows until the next refresh (the rollup's watermark says it is behind).
"""

from __future__ import annotations

import logging

from core import ingest
from core.access import Actor, require
from core.store import session
from core.store import summaries as sum_store

log = logging.getLogger(__name__)


def refresh(db=None) -> str:
    """Bring the sales rollups up to date; returns 'current', 'append' or 'rebuild'."""
    with session(db, write=True) as s:
        return sum_store.refresh(s)


def after_ingest(result, actor: Actor, db=None) -> None:
    """The hook: only whoever may change sales (upload) runs it, like the write it follows."""
    require(actor, "upload")
    if getattr(result, "known", {}).get("rollups_current"):
        return  # the upload's merge brought them up to date itself (summaries.add_new_series)
    try:
        refresh(db)
    except Exception:  # noqa: BLE001 - the write is committed; reads fall back to raw rows
        log.exception("refreshing the sales rollups after dataset %s failed", getattr(result, "dataset_id", "?"))


if after_ingest not in ingest.AFTER_INGEST:
    ingest.AFTER_INGEST.insert(0, after_ingest)  # before monitoring's slower refresh
