"""Running many independent fits (one per series) in parallel: a pool of local worker processes
(loky's reusable executor) by default, or a Dask cluster (through joblib's Dask backend) when
SHELFCAST_DASK_SCHEDULER=tcp://host:port is set.

Why loky's executor itself, not joblib.Parallel over it: joblib aborts a run (a cancel, a failed
fit) by killing the pool's workers, and the pool is one per process, so in the server one user's
Cancel failed every other run in flight ("The executor underlying Parallel has been shutdown")
and the next run paid the workers' start again. Here a run cancels only its own queued work and
the pool stays up (and warm) for everyone. Each worker is capped at one BLAS/OpenMP thread, so
that the cores are not oversubscribed.

How long the workers live: a training run keeps them while it runs a model that uses them
(`held`: every fold of the backtest, then the final fit), and when the last such holder in the
process lets go and no `run` is in flight, the pool is shut down there and then rather than
after IDLE_S idle seconds. Idle workers still hold ~0.3 GB each (their imports and what their
fits left), through the best-of choice, the other models' fits and the save: at 100,000 series
that was 0.6 GB of the run's peak. Work that holds nothing (`warm`, a benchmark's fits) keeps the
pool for IDLE_S as before.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import contextmanager
from itertools import chain, islice
from typing import Any

from core.models.base import Cancelled

IDLE_S = 300  # a worker left idle this long exits (its memory back); the next run starts it again
_ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                      "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
                                      "NUMBA_NUM_THREADS")}


def dask_address() -> str | None:
    return os.environ.get("SHELFCAST_DASK_SCHEDULER") or None


def n_workers() -> int:
    """How many fits can run at once. On Dask, the cluster's worker threads (so that a fleet is
    cut into enough chunks for every worker); locally SHELFCAST_WORKERS, else every core (the
    machine is the fleet's only tenant). Unset, empty, 0 or not a number mean every core (it
    once read `max(1, 0) or cores`, which is always 1: the fleet ran in one process unless the
    variable was set)."""
    addr = dask_address()
    if addr:
        return max(1, sum(_client(addr).nthreads().values()))
    try:
        n = int(os.environ.get("SHELFCAST_WORKERS", "") or 0)
    except ValueError:
        n = 0
    return n if n > 0 else (os.cpu_count() or 1)


_clients: dict[str, Any] = {}


def _client(addr: str) -> Any:
    """One connection per scheduler address, kept for the life of the process."""
    from distributed import Client

    client = _clients.get(addr)
    if client is None or client.status not in ("running", "connecting"):
        client = _clients[addr] = Client(addr, set_as_default=False, timeout="20s")
    return client


def pool(n_jobs: int) -> Any:
    """The process's pool of `n_jobs` local workers, started on first use and kept between runs
    (loky's reusable executor: one per process, shared by every thread). At exit the workers are
    stopped and waited for: a worker never waited for is never reaped by this process, so the
    CPU it spent is missing from the getrusage(RUSAGE_CHILDREN) of whoever ran this one (a
    CLI run measured by bench/fleet.py counted only its own process)."""
    from joblib.externals.loky import get_reusable_executor

    ex = get_reusable_executor(max_workers=n_jobs, timeout=IDLE_S, env=_ONE_THREAD)
    if not _at_exit:
        _at_exit.append(atexit.register(_shutdown))
    _pools[:] = [ex]
    return ex


_pools: list[Any] = []  # the executor last handed out, for _shutdown and `held`
_at_exit: list[Any] = []  # _shutdown, once registered
_lock = threading.Lock()  # guards the two counts and a shutdown against a pool being handed out
_holders = 0  # `held` contexts open in this process
_busy = 0  # `run` and `warm` calls on the local pool in flight


@contextmanager
def held():
    """Keep the local pool while the block runs; when the last holder leaves and no work is in
    flight, shut the pool down (its workers exit, their memory is back now, not IDLE_S later).
    The next run starts workers again (a second or two). See the module docstring."""
    global _holders
    with _lock:
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if not _holders and not _busy and _pools:
                ex = _pools.pop()
                try:
                    ex.shutdown(wait=True)
                except Exception:  # noqa: BLE001 - freeing memory must not fail the run
                    pass


@contextmanager
def _in_flight(n_jobs: int):
    """The pool for one call of `run` or `warm`, counted so that `held` does not shut it down
    under the call."""
    global _busy
    with _lock:
        _busy += 1
        ex = pool(n_jobs)
    try:
        yield ex
    finally:
        with _lock:
            _busy -= 1


def _shutdown() -> None:
    for ex in _pools:
        try:
            ex.shutdown(wait=True)
        except Exception:  # noqa: BLE001 - best effort at exit: never mask the run's own outcome
            pass


@contextmanager
def backend():
    """Dask's joblib backend when a scheduler is configured (yields "dask"); else "loky", the
    local pool, which needs no setting up."""
    addr = dask_address()
    if addr:
        import joblib

        with _client(addr).as_current(), joblib.parallel_config(backend="dask"):
            yield "dask"
    else:
        yield "loky"


def run(fn: Callable[..., Any], tasks: Iterable[tuple], *, on_result: Callable[[Any], None],
        should_cancel: Callable[[], bool] = lambda: False, n_jobs: int | None = None) -> None:
    """Call fn(*task) for every task, handing each result to `on_result` as it arrives (in any
    order). Raises Cancelled, after dropping the work not yet started, when should_cancel()
    turns true (asked after every result and at least once a second). One worker or one task
    runs in this process (no start-up cost)."""
    if dask_address():
        _run_dask(fn, list(tasks), on_result, should_cancel)
        return
    n_jobs = n_jobs or n_workers()
    todo = iter(tasks)  # taken as workers free up: a generator of tasks builds each when it is due
    head = list(islice(todo, 2))
    if n_jobs == 1 or len(head) <= 1:
        for t in chain(head, todo):
            if should_cancel():
                raise Cancelled()
            on_result(fn(*t))
        return
    todo = chain(head, todo)
    with _in_flight(n_jobs) as ex:
        # a few tasks ahead of the workers, not all: they start in the order given (longest
        # series first), runs from other threads interleave with this one, and a cancel has
        # little to drop
        running: set[Future] = {ex.submit(fn, *t) for t in islice(todo, 2 * n_jobs)}
        try:
            while running:
                done, running = wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
                for f in done:
                    on_result(f.result())
                running |= {ex.submit(fn, *t) for t in islice(todo, len(done))}
                if should_cancel():
                    raise Cancelled()
        finally:
            for f in running:  # queued work of this run only; chunks already running finish unseen
                f.cancel()


def _run_dask(fn: Callable[..., Any], tasks: list[tuple], on_result: Callable[[Any], None],
              should_cancel: Callable[[], bool]) -> None:
    import joblib

    with backend():
        gen = joblib.Parallel(n_jobs=-1, return_as="generator_unordered")(joblib.delayed(fn)(*t) for t in tasks)
        try:
            for res in gen:
                on_result(res)
                if should_cancel():
                    raise Cancelled()
        finally:
            close = getattr(gen, "close", None)
            if close:
                close()


def warm(fn: Callable[[], Any], n_jobs: int | None = None) -> list[Any]:
    """Start the local worker pool and run `fn` (imports, say) in it before real work arrives,
    so the first batch of fits does not pay for process start and imports. The pool keeps its
    workers (and what they imported) between runs for IDLE_S seconds, so a server or a
    benchmark warms once (unless a training run's `held` ends in the meantime). Best effort: one call per worker is likely, not guaranteed (a fast
    worker may take two). Nothing to do with one worker or on Dask (its workers are long-lived)."""
    if dask_address():
        return []
    n_jobs = n_jobs or n_workers()
    if n_jobs == 1:
        return []
    with _in_flight(n_jobs) as ex:
        return [f.result() for f in [ex.submit(fn) for _ in range(n_jobs)]]
