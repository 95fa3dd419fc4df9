"""Training jobs in the background of the current process (the Streamlit server), with status
in the store so that any page, any browser session and the CLI see the same progress.

A job is a daemon thread running core.training.run for a version created up front (so a
refused request fails at once, in the caller). It is not tied to a Streamlit session: it keeps
running when the user changes page or closes the tab. If the server stops, the version stays
'running' until `on_startup` marks it interrupted.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from core import config, training
from core.access import Actor, require
from core.errors import NotFound
from core.store import session
from core.store import versions as vstore

log = logging.getLogger(__name__)
_threads: dict[int, threading.Thread] = {}
_started: set[str] = set()
_guard = threading.Lock()


@dataclass
class JobStatus:
    version_id: int
    kind: str
    status: str
    done: int
    total: int
    elapsed_s: float
    eta_s: float | None
    error: str | None
    cancel_requested: bool
    created_by: str
    created_at: datetime

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def finished(self) -> bool:
        return self.status != "running"


def on_startup(db=None) -> list[int]:
    """Once per process and store: mark runs whose process is gone as interrupted."""
    key = str(config.db_path(db))
    with _guard:
        if key in _started:
            return []
        _started.add(key)
    return training.mark_interrupted(db)


def start(actor: Actor, kind: str, *, horizon: int | None = None, folds: int = 3,
          options: dict | None = None, db=None) -> int:
    """Create the version (errors raise here) and train it in a background thread."""
    vid = training.start(actor, kind, horizon=horizon, folds=folds, options=options, db=db)
    with training._live_lock:  # counted as live before the thread starts
        training._live.add(vid)
    t = threading.Thread(target=_work, args=(vid, db), name=f"shelfcast-train-{vid}", daemon=True)
    with _guard:
        _threads[vid] = t
    t.start()
    return vid


def _work(vid: int, db) -> None:
    try:
        training.run(vid, db=db)
    except Exception:  # recorded on the version as 'failed'; log for the operator
        log.exception("training version %s failed", vid)


def status(version_id: int, db=None) -> JobStatus:
    with session(db) as s:
        v = vstore.get_version(s, version_id)
    if v is None:
        raise NotFound(f"There is no version {version_id}.")
    end = v.finished_at or datetime.now(v.created_at.tzinfo)
    elapsed = max(0.0, (end - v.created_at).total_seconds())
    eta = None
    if v.status == "running" and v.progress_done and v.progress_total:
        eta = elapsed / v.progress_done * (v.progress_total - v.progress_done)
    return JobStatus(v.id, v.kind, v.status, v.progress_done, v.progress_total, elapsed, eta,
                     v.error, bool(v.cancel_requested), v.created_by, v.created_at)


def running(db=None) -> list[JobStatus]:
    with session(db) as s:
        ids = [v.id for v in vstore.running(s)]
    return [status(i, db) for i in ids]


def cancel(actor: Actor, version_id: int, db=None) -> None:
    """Ask a running job to stop; it notices within about a second and ends 'cancelled'."""
    require(actor, "train")
    with session(db, write=True) as s:
        v = vstore.request_cancel(s, version_id)
    if v is None:
        raise NotFound(f"There is no version {version_id}.")


def wait(version_id: int, timeout: float | None = None) -> bool:
    """Join the job's thread (tests, scripts); True when it has finished."""
    with _guard:
        t = _threads.get(version_id)
    if t is None:
        return True
    t.join(timeout)
    return not t.is_alive()

