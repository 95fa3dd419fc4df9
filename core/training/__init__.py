"""Training runs: backtest the chosen model(s), fit on all history, forecast, and keep the result
as an immutable version.

The store is never held during computation: one short write creates the 'running' version; one
read loads the data; the fits run with no session open (progress is written in short sessions at
most once a second, which is also when a cancel request is noticed); and one final transaction
writes backtests, metrics, forecasts and artefact records *and* flips the status to 'ready'. A run
killed at any point therefore never looks ready: its row stays 'running' until `mark_interrupted`
(called at start-up) finds its process gone.

Kinds: every model of core.models.CATALOGUE (each also backtests seasonal naive for reference),
ensemble (per series the mean or median of the top_k candidates by backtest) and best (per series
the candidate or ensemble with the lowest backtest error; the forecasts table records the
winner). Candidates: `models=`, default every installed model that is not slow. The steps of a
run are in core.training.steps; the headline metric of best-of is measured out of selection
(see there). Every run also stores quantile forecasts (core.quantiles).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from functools import cache

import core
from core import artifacts, config, models, quantiles
from core.access import Actor, require
from core.errors import ShelfcastError, ValidationError
from core.freq import default_horizon, family
from core.models import ensemble
from core.models.base import Cancelled, FitContext
from core.store import datasets, sales, session, train_jobs, version_rollups
from core.store import versions as vstore
from core.training import selection, steps

ProgressFn = Callable[[int, int], None]
GENERAL_OPTIONS = {"models": "auto", "seed": 0, "quantiles": "0.1,0.5,0.9", "top_k": 3,
                   "combine": "mean", "scope": "global", "margin": 0.25, "strategy": "auto"}
MAX_HORIZON = {"D": 366, "W": 104, "M": 36}
_live: set[int] = set()  # version ids being trained by this process
_live_lock = threading.Lock()


@cache
def code_version() -> str:
    """core.__version__ plus the git commit, when the code runs from a checkout."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=config.REPO_ROOT,  # noqa: S607
                             capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{core.__version__}+{sha}" if sha else core.__version__


def plan(kind: str, freq: str, horizon: int | None, folds: int, options: dict | None) -> dict:
    """Check the request and resolve every parameter of the run (the version's `params`)."""
    if kind not in models.KINDS:
        raise ValidationError(f"Unknown model {kind!r}; choose one of {', '.join(models.KINDS)}.")
    options = {str(k).strip(): v for k, v in (options or {}).items()}
    fam = family(freq)
    horizon = default_horizon(freq) if horizon is None else int(horizon)
    if not 1 <= horizon <= MAX_HORIZON[fam]:
        raise ValidationError(f"Horizon must be between 1 and {MAX_HORIZON[fam]} periods for this data.")
    if not 1 <= int(folds) <= 10:
        raise ValidationError("Folds must be between 1 and 10.")
    general = {k: models.base.convert(k, options.get(k, d), d) for k, d in GENERAL_OPTIONS.items()}
    if kind in ("best", "ensemble"):
        text = str(general["models"]).strip()
        chosen = models.default_candidates() if text in ("", "auto") else \
            [m.strip() for m in text.split(",") if m.strip()]
        bad = [m for m in chosen if m not in models.CANDIDATES]
        if bad or not chosen:
            raise ValidationError(f"models= takes a comma list of {', '.join(models.CANDIDATES)}.")
        missing = [m for m in chosen if not models.available(m)]
        if missing:
            raise ValidationError(f"Model(s) {', '.join(missing)} are not installed here.")
        chosen = [m for m in models.CANDIDATES if m in chosen]
        if kind == "ensemble" and len(chosen) < 2:
            raise ValidationError("An ensemble needs at least two candidates in models=.")
        if kind == "best":
            general["strategy"] = selection.check_strategy(general["strategy"], chosen)
    else:
        chosen = [kind]
    if general["combine"] not in ensemble.METHODS:
        raise ValidationError(f"combine= takes {' or '.join(ensemble.METHODS)}.")
    if not 0 <= general["top_k"] <= 10:
        raise ValidationError("top_k must be between 0 (no ensemble in best-of) and 10.")
    if general["scope"] not in ensemble.SCOPES:
        raise ValidationError(f"scope= takes {' or '.join(ensemble.SCOPES)}.")
    if not 0 <= general["margin"] < 1:
        raise ValidationError("margin must be at least 0 and below 1 (0.1 = 10% better).")
    if kind == "ensemble" and general["top_k"] < 1:
        raise ValidationError("An ensemble needs top_k of 1 or more.")
    run_models = ["naive", *[m for m in chosen if m != "naive"]]
    per_model = {}
    known = set(GENERAL_OPTIONS)
    for name in run_models:
        known |= set(models.model_class(name).OPTIONS)
        per_model[name] = models.make(name, freq, options).options
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValidationError(f"Unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}.")
    return {"kind": kind, "horizon": horizon, "folds": int(folds), "freq": freq,
            "seed": int(general["seed"]), "candidates": chosen, "models": run_models,
            "options": per_model, "quantiles": list(quantiles.parse(general["quantiles"])),
            "top_k": int(general["top_k"]), "combine": general["combine"],
            "margin": float(general["margin"]), "scope": general["scope"],
            "strategy": general["strategy"] if kind == "best" else "auto"}


def start(actor: Actor, kind: str, *, horizon: int | None = None, folds: int = 3,
          options: dict | None = None, db=None) -> int:
    """Validate and create the 'running' version (one short write); returns its id."""
    require(actor, "train")
    with session(db, write=True) as s:
        ds = datasets.latest_dataset(s)
        freq = datasets.get_setting(s, "freq") or (ds.freq if ds else None)
        if ds is None or not freq or sales.counts(s)["rows"] == 0:
            raise ValidationError("There is no sales data to train on yet. Upload a sales file on the Data page first.")
        params = plan(kind, freq, horizon, folds, options)
        v = vstore.add_version(s, vstore.Version(
            kind=kind, params=json.dumps(params), horizon=params["horizon"], folds=params["folds"],
            freq=freq, dataset_id=ds.id, data_hash=sales.data_hash(s), code_version=code_version(),
            created_by=actor.name, status="running"))
        train_jobs.add(s, v.id, os.getpid(), socket.gethostname())
        return int(v.id)


def train(actor: Actor, kind: str, *, horizon: int | None = None, folds: int = 3,
          options: dict | None = None, db=None, progress: ProgressFn | None = None,
          should_cancel: Callable[[], bool] | None = None) -> int:
    """Train one version end to end in this thread; returns its id. A refused request raises
    before any version exists; a failed run is recorded as 'failed' and its error re-raised;
    a cancelled one ends as 'cancelled' and returns normally."""
    vid = start(actor, kind, horizon=horizon, folds=folds, options=options, db=db)
    run(vid, db=db, progress=progress, should_cancel=should_cancel)
    return vid


class _Reporter:
    """Progress to the store (throttled) and to a callback; polls the cancel flag."""

    def __init__(self, vid: int, db, total: int, progress: ProgressFn | None,
                 should_cancel: Callable[[], bool] | None) -> None:
        self.vid, self.db, self.total, self.done = vid, db, total, 0
        self.cb, self.user_cancel = progress, should_cancel
        self.last, self.cancelled = 0.0, False

    def add(self, n: int) -> None:
        self.done = min(self.total, self.done + n)
        if self.cb:
            self.cb(self.done, self.total)
        self.poll()

    def poll(self, force: bool = False) -> None:
        if force or time.monotonic() - self.last >= 1.0:
            self.last = time.monotonic()
            with session(self.db, write=True) as s:
                self.cancelled |= vstore.set_progress(s, self.vid, self.done, self.total)

    def should_cancel(self) -> bool:
        if self.user_cancel and self.user_cancel():
            self.cancelled = True
        self.poll()
        return self.cancelled


def run(vid: int, *, db=None, progress: ProgressFn | None = None,
        should_cancel: Callable[[], bool] | None = None) -> None:
    """Compute a created version and record its outcome (see the module docstring)."""
    t0 = time.monotonic()
    with _live_lock:
        _live.add(vid)
    try:
        _run(vid, db, progress, should_cancel, t0)
    except (Cancelled, KeyboardInterrupt) as exc:
        artifacts.discard(db, vid)
        with session(db, write=True) as s:
            vstore.set_status(s, vid, "cancelled", "Cancelled by request.", time.monotonic() - t0)
        if isinstance(exc, KeyboardInterrupt):
            raise
    except BaseException as exc:
        artifacts.discard(db, vid)
        msg = str(exc) if isinstance(exc, ShelfcastError) else f"{type(exc).__name__}: {exc}"
        try:
            with session(db, write=True) as s:
                vstore.set_status(s, vid, "failed", msg, time.monotonic() - t0)
        finally:
            raise
    finally:
        with _live_lock:
            _live.discard(vid)


def _run(vid: int, db, progress, should_cancel, t0: float) -> None:
    """The steps of core.training.steps in order; only the first and the last touch the store."""
    from threadpoolctl import threadpool_limits

    run = steps.load(vid, db)
    steps.regressors(run)
    rep = _Reporter(vid, db, len(run.params["models"]) * (run.folds + 1) * run.n_series, progress,
                    should_cancel)
    rep.poll(force=True)
    ctx = FitContext(progress=rep.add, should_cancel=rep.should_cancel)
    # OpenMP/BLAS threads of in-process fits (HistGradientBoosting): SHELFCAST_THREADS, default
    # 1. OpenMP threads spin at every barrier, so on a shared 2-core box (the app, other jobs)
    # two threads measured 15x slower than one; raise it on a dedicated machine.
    threads = int(os.environ.get("SHELFCAST_THREADS", "1") or 1)
    with threadpool_limits(limits=threads):
        steps.backtest(run, ctx)
        selection.choose(run)
        selection.fallback(run)
        steps.final_fits(run, rep.add, rep.should_cancel)
    steps.calibrate_quantiles(run)
    steps.classify(run)
    steps.release(run)
    steps.summary(run)
    _save(run, db, t0)
    if progress:
        progress(rep.total, rep.total)


def _save(run: steps.Run, db, t0: float) -> None:
    """Artefact files first (discarded if the run fails after), then every row and the flip to
    'ready' in one transaction."""
    rows = artifacts.write(db, run.vid, run.items)
    ms = steps.series_metrics(run)
    with session(db, write=True) as s:
        cur = vstore.get_version(s, run.vid)
        if cur.cancel_requested:
            raise Cancelled()
        vstore.save_results(
            s, run.vid, backtests=selection.backtest_frames(run), metrics_rows=ms, forecasts=run.forecasts, artifacts=rows,
            metrics=run.summary, warnings=run.warns, params=run.params,
            duration_s=time.monotonic() - t0, n_series=run.n_series, quantiles=run.quantiles,
            classes=run.classes)
        version_rollups.build(s, run.vid)  # the pages' per-version rollups, in the same transaction


def mark_interrupted(db=None) -> list[int]:
    """Versions left 'running' by a process that is gone become 'interrupted'. Safe to call at
    any time: runs of live processes (this one's threads, the CLI elsewhere) are left alone."""
    host = socket.gethostname()
    done = []
    with session(db, write=True) as s:
        for v in vstore.running(s):
            job = train_jobs.get(s, v.id)
            if job is not None and job.host != host:
                continue  # another machine: cannot tell, leave it
            if job is not None and job.pid == os.getpid():
                with _live_lock:
                    alive = v.id in _live
            else:
                alive = job is not None and _pid_alive(job.pid)
            if not alive:
                vstore.set_status(s, v.id, "interrupted",
                                  "The process running this training stopped before it finished.")
                done.append(int(v.id))
    return done


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed child not yet reaped) is gone for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def train_for_demo(actor: Actor, db, say: Callable[[str], None] = print) -> int:
    """A quick first version for the demo seed: best-of seasonal naive and the scikit-learn global
    model, two folds (about a minute for 200 daily series on 2 cores)."""
    say("Training a first forecast (seasonal naive vs scikit-learn, best per series) ...")
    last = [-1]

    def tell(done: int, total: int) -> None:
        pct = int(100 * done / total) if total else 100
        if pct >= last[0] + 25:
            last[0] = pct
            say(f"  training {pct}%")

    vid = train(actor, "best", folds=2, options={"models": "naive,sklearn"}, db=db, progress=tell)
    with session(db) as s:
        v = vstore.get_version(s, vid)
    m = json.loads(v.metrics)
    say(f"Version {vid}: {v.status}, backtest accuracy {100 * (m.get('accuracy') or 0):.1f}% (1 − WAPE).")
    return vid
