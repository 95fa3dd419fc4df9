"""The worker pool lives while a training run holds it (core.parallel.held), and is let go when
the last holder leaves: idle workers held ~0.6 GB of a 100,000-series best-of's peak for the 300
s of their idle timeout. Work that holds nothing (warm, a benchmark's fits) keeps its warm pool."""

from __future__ import annotations

import os
import threading

import psutil

from core import parallel, training
from core.models import statistical
from tests.train_helpers import SCI, make_store


def _pid(i: int = 0) -> int:
    return os.getpid()


def _workers() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True) if p.is_running()
            and p.status() != psutil.STATUS_ZOMBIE}


def _run(n: int = 6) -> set[int]:
    got: list[int] = []
    parallel.run(_pid, [(i,) for i in range(n)], on_result=got.append, n_jobs=2)
    return set(got)


def test_the_last_holder_lets_the_workers_go():
    with parallel.held():
        first = _run()
        assert os.getpid() not in first
        with parallel.held():  # a second run of the server holds it too
            assert _run() <= first  # the same warm workers
        assert first <= _workers()  # one holder left: still up
    assert not first & _workers()  # gone, not IDLE_S later
    assert not parallel._pools


def test_work_that_holds_nothing_keeps_the_pool_warm():
    pids = set(parallel.warm(_pid, n_jobs=2))
    assert _run() <= pids | _workers() and pids <= _workers()
    parallel.pool(2).shutdown(wait=True)


def test_a_holder_leaving_while_a_run_is_in_flight_waits_for_it():
    """The pool is not shut down under a run that holds nothing (another thread's fits)."""
    import time

    def slow(i: int) -> int:
        time.sleep(0.3)
        return os.getpid()

    got: list[int] = []
    errors: list[BaseException] = []

    def bare() -> None:
        try:
            parallel.run(slow, [(i,) for i in range(6)], on_result=got.append, n_jobs=2)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    with parallel.held():
        t = threading.Thread(target=bare)
        t.start()
        time.sleep(0.2)
    t.join(60)
    assert not errors and len(got) == 6


def test_a_training_run_ends_with_no_idle_workers(tmp_path, monkeypatch):
    """Regression: after a best-of with a per-series model on 2 workers, the workers stayed
    alive (idle, ~0.3 GB each) through the choice, the other fits and the save, and IDLE_S after."""
    monkeypatch.setenv("SHELFCAST_WORKERS", "2")
    monkeypatch.setattr(statistical, "MIN_PARALLEL", 2)  # a small store still goes to the workers
    db = make_store(tmp_path, n_skus=4, days=120)
    seen: list[set[int]] = []
    run = parallel.run
    base = _workers()  # loky's helper processes, and any pool an earlier test left warm

    def spy(*a, **k):  # the workers alive after each parallel step of the run
        run(*a, **k)
        seen.append(_workers() - base)

    monkeypatch.setattr(parallel, "run", spy)
    training.train(SCI, "best", folds=2, options={"models": "naive,croston"}, db=db)
    assert len(seen) == 3 and all(seen)  # two backtest folds and the final fit, on workers
    assert seen[0] == seen[1]  # the folds of one model share the warm pool
    assert not (seen[0] | seen[2]) & _workers()  # and none is left idle after the run
