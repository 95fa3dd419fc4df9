"""Wall, CPU and peak RSS of each step of one training run, in process, on an existing store
(a copy: the run adds a version). What `shelfcast train` does, with the steps timed:

    .venv/bin/python bench/train_steps.py STORE.duckdb --model naive [--folds 3] [--user NAME]
    .venv/bin/python bench/train_steps.py STORE.duckdb --model naive --profile out.prof
    .venv/bin/python bench/train_steps.py STORE.duckdb --model best --option models=naive,sklearn,croston

Peak RSS is this process's and its process tree's (the pool's worker processes added), sampled
every 20 ms. `--detail` also prints the peaks inside the steps (each model's fit of each backtest
fold, the choice's parts), to tell which part of a step holds its peak.
"""

from __future__ import annotations

import argparse
import functools
import resource
import threading
import time

import psutil


class Peak:
    """Peak RSS of this process and of its tree, per window (`reset`) and per label (the
    innermost of the labels being run when a sample was taken)."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = self.tree_peak = self.tree_max = 0
        self.labels: list[str] = []
        self.by_label: dict[str, list[int]] = {}  # label -> [own peak, tree peak]
        self.stop = threading.Event()
        threading.Thread(target=self._poll, daemon=True).start()

    def tree(self) -> tuple[int, int]:
        own = total = self.proc.memory_info().rss
        for c in self.proc.children(recursive=True):
            try:
                total += c.memory_info().rss
            except psutil.Error:
                pass
        return own, total

    def _poll(self) -> None:
        while not self.stop.is_set():
            own, total = self.tree()
            self.peak, self.tree_peak = max(self.peak, own), max(self.tree_peak, total)
            self.tree_max = max(self.tree_max, total)
            if self.labels:
                got = self.by_label.setdefault(" / ".join(self.labels), [0, 0])
                got[0], got[1] = max(got[0], own), max(got[1], total)
            self.stop.wait(0.02)

    def reset(self) -> tuple[int, int]:
        p, t = self.peak, self.tree_peak
        self.peak, self.tree_peak = self.tree()
        return p, t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--model", default="naive")
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--user", default="adm")
    ap.add_argument("--profile")
    ap.add_argument("--detail", action="store_true", help="peaks within the steps too")
    ap.add_argument("--option", action="append", default=[], help="a training option, key=value (repeatable)")
    args = ap.parse_args()

    from core import backtest, models, training
    from core.access import Actor
    from core.training import choice, selection, steps

    peak = Peak()
    rows: list[tuple[str, float, float, float, float, float]] = []

    def timed(mod, name: str) -> None:
        fn = getattr(mod, name)

        @functools.wraps(fn)
        def wrapper(*a, **k):
            before = peak.proc.memory_info().rss / 2**20
            peak.reset()
            peak.labels.append(name)
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                peak.labels.pop()
                rss, tree = peak.reset()
                rows.append((name, time.perf_counter() - t0, time.process_time() - c0, before,
                             rss / 2**20, tree / 2**20))
        setattr(mod, name, wrapper)

    def labelled(mod, name: str, label) -> None:
        """Samples taken while mod.name runs are counted under label(*args) (if the code has it)."""
        fn = getattr(mod, name, None)
        if fn is None:
            return

        @functools.wraps(fn)
        def wrapper(*a, **k):
            peak.labels.append(label(*a, **k))
            try:
                return fn(*a, **k)
            finally:
                peak.labels.pop()
        setattr(mod, name, wrapper)

    for n in ("load", "regressors", "backtest", "final_fits", "calibrate_quantiles", "classify", "summary"):
        timed(steps, n)
    for n in ("choose", "fallback"):
        timed(selection, n)
    timed(training, "_save")
    if args.detail:
        import importlib

        from core.models.base import Forecaster

        for mod in {e.module for e in models.CATALOGUE.values()}:  # the models' classes, to find them
            try:
                importlib.import_module(mod)
            except ImportError:
                pass
        for cls in {c for c in _subclasses(Forecaster) if "fit_predict" in vars(c)} | {Forecaster}:
            labelled(cls, "fit_predict", lambda self, train, *a, **k: f"{self.name} fit ({len(train):,} rows)")
        labelled(backtest, "split", lambda y, cut, *a, **k: f"split {cut.date()}")
        labelled(backtest, "_masks", lambda y, cut, *a, **k: f"masks {cut.date()}")
        labelled(backtest, "_fill", lambda *a, **k: f"fill {a[7]} fold {a[8]}")
        for n in ("panel", "decide_auto", "ensemble_rows", "headline_rows", "scores", "ensemble_of", "picks"):
            labelled(choice, n, lambda *a, n=n, **k: n)
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
    for name, w, c, start, rss, tree in rows:
        print(f"  {name:22s} {w:7.2f} s wall {c:7.2f} s CPU  RSS {start:6.0f} MiB at start, peak {rss:6.0f}"
              f", tree peak {tree:6.0f}")
    if args.detail:
        print("  peaks within the steps (MiB, own / tree), in the order first seen:")
        for label, (own, tree) in peak.by_label.items():
            print(f"    {own / 2**20:6.0f} / {tree / 2**20:6.0f}  {label}")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"version {vid}: {wall:.1f} s wall, {cpu:.1f} s CPU here (+ {kids.ru_utime + kids.ru_stime:.1f} s in "
          f"reaped workers), peak RSS {maxrss:.0f} MiB, tree peak {peak.tree_max / 2**20:.0f} MiB (sampled)")


def _subclasses(cls: type) -> set[type]:
    out = set()
    for c in cls.__subclasses__():
        out |= {c, *_subclasses(c)}
    return out


if __name__ == "__main__":
    main()
