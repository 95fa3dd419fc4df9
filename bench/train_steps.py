"""Wall, CPU and peak RSS of each step of one training run, in process, on an existing store
(a copy: the run adds a version). What `shelfcast train` does, with the steps timed:

    .venv/bin/python bench/train_steps.py STORE.duckdb --model naive [--folds 3] [--user NAME]
    .venv/bin/python bench/train_steps.py STORE.duckdb --model naive --profile out.prof
    .venv/bin/python bench/train_steps.py STORE.duckdb --model best --option models=naive,sklearn,croston
"""

from __future__ import annotations

import argparse
import functools
import resource
import threading
import time

import psutil


class Peak:
    """Peak RSS of this process, sampled every 20 ms; `reset` starts a new window."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = 0
        self.stop = threading.Event()
        threading.Thread(target=self._poll, daemon=True).start()

    def _poll(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            self.stop.wait(0.02)

    def reset(self) -> int:
        p, self.peak = self.peak, self.proc.memory_info().rss
        return p


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--model", default="naive")
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--user", default="adm")
    ap.add_argument("--profile")
    ap.add_argument("--option", action="append", default=[], help="a training option, key=value (repeatable)")
    args = ap.parse_args()

    from core import training
    from core.access import Actor
    from core.training import selection, steps

    peak = Peak()
    rows: list[tuple[str, float, float, float, float]] = []

    def timed(mod, name: str) -> None:
        fn = getattr(mod, name)

        @functools.wraps(fn)
        def wrapper(*a, **k):
            before = peak.proc.memory_info().rss / 2**20
            peak.reset()
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                rows.append((name, time.perf_counter() - t0, time.process_time() - c0, before,
                             peak.reset() / 2**20))
        setattr(mod, name, wrapper)

    for n in ("load", "regressors", "backtest", "final_fits", "calibrate_quantiles", "classify", "summary"):
        timed(steps, n)
    for n in ("choose", "fallback"):
        timed(selection, n)
    timed(training, "_save")
    actor = Actor(name=args.user, role="admin")
    t0, c0 = time.perf_counter(), time.process_time()
    if args.profile:
        import cProfile

        prof = cProfile.Profile(time.process_time)  # CPU, not wall: the box is shared
        prof.enable()
    options = dict(o.split("=", 1) for o in args.option)
    vid = training.train(actor, args.model, folds=args.folds, options=options, db=args.db)
    if args.profile:
        prof.disable()
        prof.dump_stats(args.profile)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak.stop.set()
    for name, w, c, start, rss in rows:
        print(f"  {name:22s} {w:7.2f} s wall {c:7.2f} s CPU  RSS {start:6.0f} MiB at start, peak {rss:6.0f}")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"version {vid}: {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS {maxrss:.0f} MiB")


if __name__ == "__main__":
    main()
