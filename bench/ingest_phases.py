"""Where an ingest's time goes: wall and CPU seconds of every DuckDB statement of one ingest into
an empty store (the private database's and the store's), then of each after-ingest hook and of a
bare session open, as run again on the loaded store.

    .venv/bin/python bench/ingest_phases.py FILE.csv [--min 0.01] [--ordinary]

`--ordinary` forces the ordinary path (a private file, then the merge) instead of the first
load's, for a before/after on the same file. CPU is this process's (DuckDB's threads included);
on a shared machine compare runs taken together, with the load average printed."""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import core.ingest as ingest_mod  # noqa: E402
import core.store.sales as sales_mod  # noqa: E402
import core.store.summaries as summaries_mod  # noqa: E402
from core.access import SYSTEM  # noqa: E402
from core.store import session  # noqa: E402

LOG: list[tuple[float, float, str]] = []


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class _Timed:
    """A DuckDB connection whose `execute` is timed into LOG."""

    def __init__(self, con) -> None:
        self._con = con

    def execute(self, sql, *args, **kw):
        t, c = time.perf_counter(), _cpu()
        out = self._con.execute(sql, *args, **kw)
        LOG.append((time.perf_counter() - t, _cpu() - c, " ".join(str(sql).split())[:100]))
        return out

    def __getattr__(self, name):
        return getattr(self._con, name)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file", type=Path)
    ap.add_argument("--min", type=float, default=0.01, help="list statements above this many seconds")
    ap.add_argument("--ordinary", action="store_true", help="the ordinary path, not a first load's")
    args = ap.parse_args()
    private = ingest_mod._private
    ingest_mod._private = lambda out: _Timed(private(out))
    for mod in (sales_mod, summaries_mod, ingest_mod):
        mod.raw = (lambda f: lambda s: _Timed(f(s)))(mod.raw)
    if args.ordinary:
        ingest_mod._first_load = lambda *a, **k: (None, None, (None, None))
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store.duckdb"
        with session(store):
            pass  # the schema, made once per store
        c, t = _cpu(), time.perf_counter()
        ingest_mod.ingest(args.file, SYSTEM, db=store, any_size=True)
        print(f"ingest {time.perf_counter() - t:7.3f} s wall {_cpu() - c:7.3f} s CPU; load average {os.getloadavg()[0]:.1f}")
        for wall, cpu, sql in LOG:
            if wall > args.min or cpu > args.min:
                print(f"  {wall:7.3f} {cpu:7.3f}  {sql}")
        print(f"  statements: {sum(w for w, _, _ in LOG):.3f} s wall {sum(c for _, c, _ in LOG):.3f} s CPU")
        for hook in ingest_mod.AFTER_INGEST:  # as a sales deletion runs them: nothing known
            c, t = _cpu(), time.perf_counter()
            hook(None, SYSTEM, store)
            print(f"hook {hook.__module__}.{hook.__name__}: {time.perf_counter() - t:.3f} s wall {_cpu() - c:.3f} s CPU")
        c, t = _cpu(), time.perf_counter()
        with session(store):
            pass
        print(f"a session open and close: {time.perf_counter() - t:.3f} s wall {_cpu() - c:.3f} s CPU")


if __name__ == "__main__":
    main()
