"""Running many independent fits (one per series) in parallel: joblib over local processes
(loky) by default, or a Dask cluster when SHELFCAST_DASK_SCHEDULER=tcp://host:port is set.

Why joblib: the same code runs on loky, threads or Dask by changing the backend only, results
stream back as they finish (progress and cancel between results), and loky caps the BLAS/OpenMP
threads inside each worker so that two cores are not oversubscribed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from typing import Any

import joblib

from core.models.base import Cancelled


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


@contextmanager
def backend():
    """The joblib backend for per-series fits: Dask if a scheduler is configured, else loky
    with one BLAS/OpenMP thread per worker."""
    addr = dask_address()
    if addr:
        with _client(addr).as_current(), joblib.parallel_config(backend="dask"):
            yield "dask"
    else:
        with joblib.parallel_config(backend="loky", inner_max_num_threads=1):
            yield "loky"


def run(fn: Callable[..., Any], tasks: Iterable[tuple], *, on_result: Callable[[Any], None],
        should_cancel: Callable[[], bool] = lambda: False, n_jobs: int | None = None) -> None:
    """Call fn(*task) for every task, handing each result to `on_result` as it arrives (in any
    order). Raises Cancelled, after stopping the remaining work, when should_cancel() turns
    true. One worker or one task runs in this process (no start-up cost)."""
    tasks = list(tasks)
    n_jobs = n_jobs or n_workers()
    if (n_jobs == 1 or len(tasks) <= 1) and not dask_address():
        for t in tasks:
            if should_cancel():
                raise Cancelled()
            on_result(fn(*t))
        return
    with backend():
        gen = joblib.Parallel(n_jobs=n_jobs if not dask_address() else -1,
                              return_as="generator_unordered")(joblib.delayed(fn)(*t) for t in tasks)
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
    so the first batch of fits does not pay for process start and imports. loky keeps the
    workers (and what they imported) between calls for 300 s of idleness, so a server or a
    benchmark warms once. Best effort: one call per worker is likely, not guaranteed (a fast
    worker may take two). Nothing to do with one worker or on Dask (its workers are long-lived)."""
    if dask_address():
        return []
    n_jobs = n_jobs or n_workers()
    if n_jobs == 1:
        return []
    out: list[Any] = []
    with backend():
        out.extend(joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(fn)() for _ in range(n_jobs)))
    return out
