"""Prophet fleet scheduling: longest series first, chunks that shrink towards the end, a warm
pool; forecasts identical to a plain loop of the same fits (real Prophet fits, 2 workers)."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pandas as pd

from core import parallel
from core.models import make
from core.models.base import Cancelled, FitContext, future_dates
from core.models.data import complete
from core.models.prophet_fleet import chunks, fit_one, series_arrays, warm
from tests.train_helpers import demo_frame, long_frame


def test_chunks_longest_first_shrinking_and_complete():
    tasks = [(i, None, np.zeros(n)) for i, n in enumerate([5, 50, 20, 700, 30, 10] * 17)]
    out = chunks(tasks, workers=2)
    flat = [t for c in out for t in c]
    assert sorted(t[0] for t in flat) == list(range(len(tasks)))  # each task once
    lengths = [len(t[2]) for t in flat]
    assert lengths == sorted(lengths, reverse=True)  # LPT order
    sizes = [len(c) for c in out]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 1  # big first, shrinking
    assert sizes[-1] == 1 and sizes[-2] == 1  # no worker is left holding a big last chunk
    assert chunks([], 2) == []
    big = [len(c) for c in chunks([(i, None, np.zeros(730)) for i in range(100_000)], workers=2)]
    assert sum(big) == 100_000 and max(big) == 25  # progress and cancel every ~2 s of work


def test_series_arrays_slices_each_series_and_aligns_regressors():
    days = pd.date_range("2024-01-01", periods=6)
    train = pd.DataFrame({"series_id": [1] * 6 + [2] * 4 + [3] * 5,
                          "ds": list(days) + list(days[2:]) + list(days[1:]),
                          "y": np.arange(15.0)})
    fut = pd.date_range("2024-01-07", periods=2)
    every = days.append(fut)
    regs = pd.DataFrame({"series_id": [1] * 8 + [2] * 7, "ds": list(every) + list(every[1:]),
                         "price": np.arange(15.0) + 100, "promo": np.arange(15.0) % 2})
    regs = regs.drop(index=[3, 9]).sample(frac=1, random_state=0)  # holes, any row order
    got = list(series_arrays(train, regs, fut))
    assert [g[0] for g in got] == [1, 2, 3]
    for sid, ds, y, r in got:
        mine = train[train["series_id"] == sid]
        assert list(ds) == list(mine["ds"]) and list(y) == list(mine["y"])
        want = regs[regs["series_id"] == sid].set_index("ds")
        for name in ("price", "promo"):  # history then horizon; NaN where nothing is known
            expect = want[name].reindex(pd.DatetimeIndex(mine["ds"]).append(fut)).to_numpy()
            np.testing.assert_array_equal(r[name], expect)
    assert np.isnan(got[2][3]["price"]).all()  # series 3 has no regressor rows
    assert [r for *_, r in series_arrays(train, None, fut)] == [{}, {}, {}]


def test_workers_default_to_every_core(monkeypatch):
    """Regression: `max(1, 0) or cores` read 1 when SHELFCAST_WORKERS was unset, so the fleet
    (and its benchmark) ran every fit in the parent process."""
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.delenv("SHELFCAST_WORKERS", raising=False)
    assert parallel.n_workers() == 4
    for value, want in (("", 4), ("0", 4), ("-2", 4), ("x", 4), ("1", 1), ("3", 3)):
        monkeypatch.setenv("SHELFCAST_WORKERS", value)
        assert parallel.n_workers() == want, value


def test_workers_on_dask_are_the_clusters_threads(monkeypatch):
    """Chunks are cut for the cluster, not for this machine's cores: with 2 local cores and 20
    Dask workers the first chunk held a sixth of the fleet, one worker's share three times over."""
    from distributed import LocalCluster

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    with LocalCluster(n_workers=1, threads_per_worker=3, processes=False, dashboard_address=None) as c:
        monkeypatch.setenv("SHELFCAST_DASK_SCHEDULER", c.scheduler_address)
        assert parallel.n_workers() == 3
        assert parallel.warm(warm) == []  # Dask workers are long-lived: nothing to warm
        parallel._clients.pop(c.scheduler_address).close()


def _plotting_blocked() -> tuple[int, bool]:
    import sys

    return os.getpid(), sys.modules.get("matplotlib", "absent") is None


def test_workers_start_without_plotting_libraries():
    """A loky worker keeps matplotlib/plotly out (Prophet imports them only to plot); the
    parent process, which may plot, is left alone."""
    out = parallel.warm(warm, n_jobs=2)
    assert all(pid != os.getpid() for pid in out)
    got = parallel.warm(_plotting_blocked, n_jobs=2)
    assert got and all(blocked for _, blocked in got)
    warm()
    import sys

    assert sys.modules.get("matplotlib", "absent") is not None


def _nap(i: int) -> tuple[int, int, str | None]:
    if i < 0:
        raise ValueError("a fit failed")
    time.sleep(0.2)
    return i, os.getpid(), os.environ.get("OMP_NUM_THREADS")


def test_a_cancel_or_a_failure_stops_only_its_own_run():
    """Regression: joblib aborted a cancelled run by killing the process's one pool, so another
    run in flight (a second user's training in the server) failed with "The executor underlying
    Parallel has been shutdown", and the next run paid the workers' start again."""
    parallel.warm(warm, n_jobs=2)
    before = set(parallel.pool(2)._processes)  # the worker processes, by pid
    assert len(before) == 2
    out: dict[str, object] = {}

    def job(name: str, cancel_after: int | None, first: int = 0) -> None:
        got: list[tuple] = []
        try:
            parallel.run(_nap, [(i,) for i in range(first, 10)], on_result=got.append, n_jobs=2,
                         should_cancel=lambda: cancel_after is not None and len(got) >= cancel_after)
            out[name] = got
        except (Cancelled, ValueError) as exc:
            out[name] = type(exc).__name__

    runs = [threading.Thread(target=job, args=("whole", None)),
            threading.Thread(target=job, args=("cancelled", 2)),
            threading.Thread(target=job, args=("failed", None, -1))]
    for t in runs:
        t.start()
        time.sleep(0.1)
    for t in runs:
        t.join(120)
    assert out["cancelled"] == "Cancelled" and out["failed"] == "ValueError"
    whole = out["whole"]
    assert sorted(r[0] for r in whole) == list(range(10))
    assert {r[2] for r in whole} == {"1"}  # one OpenMP thread per worker
    assert {pid for _, pid, _ in whole} <= before  # the same warm workers throughout
    assert set(parallel.pool(2)._processes) == before


def test_fleet_on_two_workers_equals_plain_loop(monkeypatch):
    monkeypatch.setenv("SHELFCAST_WORKERS", "2")
    df = long_frame(demo_frame(n_skus=4, days=200))
    # unequal lengths, so the longest-first order differs from the series order
    df = df[~((df["series_id"] == 1) & (df["ds"] < df["ds"].min() + pd.Timedelta(days=90)))]
    y = complete(df, "D")
    opts = {"uncertainty_samples": 30}
    model = make("prophet", "D", opts)
    assert len(set(parallel.warm(warm))) >= 1  # the pool starts and imports Prophet
    seen: list[int] = []
    got = model.fit_predict(y, 7, None, FitContext(progress=seen.append))
    assert sum(seen) == 4
    fut = future_dates(y["ds"].max(), 7, "D").to_numpy()
    for sid, g in y.groupby("series_id"):
        _, yhat, lo, hi, _ = fit_one(int(sid), g["ds"].to_numpy(), g["y"].to_numpy(float), {}, fut,
                                     model.options, 0, False)
        row = got[got["series_id"] == sid]
        assert list(row["ds"]) == list(pd.to_datetime(fut))
        np.testing.assert_allclose(row["yhat"], np.maximum(yhat, 0), atol=1e-9)
        np.testing.assert_allclose(row["yhat_upper"], np.maximum(hi, 0), atol=1e-9)
    assert list(got.columns) == ["series_id", "ds", "yhat", "yhat_lower", "yhat_upper"]
    # the timeline: every series once, fitted in worker processes (not the parent), CPU counted
    tr = model.trace
    assert sorted(tr["series_id"]) == [1, 2, 3, 4]
    assert os.getpid() not in set(tr["pid"])
    assert (tr["end"] > tr["start"]).all() and (tr["cpu"] > 0).all()


def test_default_settings_fit_in_worker_processes(monkeypatch):
    """With nothing configured the fits leave the parent process (one worker per core)."""
    monkeypatch.delenv("SHELFCAST_WORKERS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    y = complete(long_frame(demo_frame(n_skus=3, days=120)), "D")
    model = make("prophet", "D", {"uncertainty_samples": 0})
    got = model.fit_predict(y, 7, None, FitContext(keep=True))
    assert len(got) == 21 and os.getpid() not in set(model.trace["pid"])

