"""CPU profile of a running server, for bench/load_ws.py (SHELFCAST_PROFILE=FILE): py-spy is not
installed and cProfile sees one thread, while the server's CPU goes to every session's script
thread and to Tornado's loop (protobuf, websocket). A sampler thread looks at every thread's
stack every few milliseconds and charges it the CPU that thread used since the last look
(its own CPU clock), so waiting threads cost nothing. Written to FILE every few seconds as
`self` and `total` CPU seconds per function, heaviest first."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter

_started = False
_lock = threading.Lock()


def start_from_env() -> None:
    global _started
    out = os.environ.get("SHELFCAST_PROFILE")
    if not out or _started:
        return
    with _lock:
        if _started:
            return
        _started = True
    import faulthandler
    import signal

    # `kill -USR1 PID`: every thread's stack to FILE.stacks (a hung page, a lock wait)
    faulthandler.register(signal.SIGUSR1, open(out + ".stacks", "w"), all_threads=True)  # noqa: SIM115
    threading.Thread(target=_sample, args=(out,), name="shelfcast-profiler", daemon=True).start()


def _where(code) -> str:
    f = code.co_filename
    for cut in ("site-packages/", "/g-load/", "/main/", "lib/python3.11/"):
        if cut in f:
            f = f.split(cut, 1)[1]
            break
    return f"{f}:{code.co_firstlineno}({code.co_name})"


def _sample(out: str, every: float = 0.003) -> None:
    me = threading.get_ident()
    last: dict[int, float] = {}
    own: Counter = Counter()
    total: Counter = Counter()
    by_thread: Counter = Counter()
    written = time.monotonic()
    while True:
        time.sleep(every)
        frames = sys._current_frames()
        for t in threading.enumerate():
            if t.ident is None or t.ident == me or t.ident not in frames:
                continue
            try:
                cpu = time.clock_gettime(time.pthread_getcpuclockid(t.ident))
            except (OSError, ProcessLookupError):
                continue
            used = cpu - last.get(t.ident, cpu)
            last[t.ident] = cpu
            if used <= 0:
                continue
            f = frames[t.ident]
            by_thread[t.name.split("-")[0]] += used
            own[_where(f.f_code)] += used
            seen = set()
            while f is not None:
                w = _where(f.f_code)
                if w not in seen:
                    seen.add(w)
                    total[w] += used
                f = f.f_back
        if time.monotonic() - written > 5:
            written = time.monotonic()
            _write(out, own, total, by_thread)


def _write(out: str, own: Counter, total: Counter, by_thread: Counter) -> None:
    lines = ["CPU s by thread: " + ", ".join(f"{k} {v:.1f}" for k, v in by_thread.most_common(8)), "",
             "self CPU s:"]
    lines += [f"{v:8.2f}  {k}" for k, v in own.most_common(60)]
    lines += ["", "total CPU s:"]
    lines += [f"{v:8.2f}  {k}" for k, v in total.most_common(150)]
    tmp = out + ".tmp"
    with open(tmp, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, out)
