"""CPU profile of a running server, for bench/load_ws.py (SHELFCAST_PROFILE=FILE): py-spy is not
installed and cProfile sees one thread, while the server's CPU goes to every session's script
thread and to Tornado's loop (protobuf, websocket). A sampler thread looks at every thread's
stack every few milliseconds and charges it the CPU that thread used since the last look
(its own CPU clock), so waiting threads cost nothing. Written to FILE every few seconds as
CPU seconds per page (the pages/*.py file on the stack; "shell" for the rest of a script run),
per thread, then `self` and `total` CPU seconds per function, heaviest first; FILE.folded holds
the whole stacks (flame-graph "folded" format: `a;b;c seconds`) to see who calls what.

Signals: `kill -USR1 PID` writes every thread's stack to FILE.stacks (a hung page, a lock wait);
creating FILE.reset forgets what was counted so far (the bench measures one wave, not start-up and
its baseline; a signal handler cannot be set from a script thread).

A sample is taken when the sampler gets the GIL, which favours moments a thread gives it up (a
system call, the end of its switch interval): trust `total` and the per-page figures more than
the `self` column of one small function."""

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

    faulthandler.register(signal.SIGUSR1, open(out + ".stacks", "w"), all_threads=True)  # noqa: SIM115
    threading.Thread(target=_sample, args=(out,), name="shelfcast-profiler", daemon=True).start()


_CUTS = ("site-packages/", "lib/python3.11/")


def _where(code) -> str:
    f = code.co_filename
    for cut in _CUTS:
        if cut in f:
            f = f.split(cut, 1)[1]
            break
    else:
        for top in ("/app/", "/core/", "/pages/", "/bench/"):  # the repo's own files, whichever checkout
            if top in f:
                f = top[1:] + f.rsplit(top, 1)[1]
                break
    return f"{f}:{code.co_firstlineno}({code.co_name})"


def _page(stack: list[str], thread: str) -> str:
    """What the CPU was for: the page file on the stack, the rest of a script run ('shell': the
    gate, navigation, Streamlit's runner), or the thread (Tornado's loop is 'MainThread')."""
    for w in stack:
        if w.startswith("pages/") and w.endswith("(<module>)"):
            return w.split(":", 1)[0]
    return "shell" if thread == "ScriptRunner" else thread


def _sample(out: str, every: float = 0.003) -> None:
    """Stacks are kept as tuples of code objects (cheap to take while holding the GIL, which every
    other thread waits for) and named only when written."""
    me = threading.get_ident()
    last: dict[threading.Thread, float] = {}  # by thread object: idents are reused
    stacks: Counter = Counter()  # (thread name, code objects innermost first) -> CPU s
    written = checked = time.monotonic()
    while True:
        time.sleep(every)
        if time.monotonic() - checked > 0.1:
            checked = time.monotonic()
            if os.path.exists(out + ".reset"):
                os.remove(out + ".reset")
                stacks.clear()
        frames = sys._current_frames()
        alive = threading.enumerate()
        for t in list(last):
            if not t.is_alive():
                del last[t]
        for t in alive:
            if t.ident is None or t.ident == me or t.ident not in frames:
                continue
            try:
                cpu = time.clock_gettime(time.pthread_getcpuclockid(t.ident))
            except (OSError, ProcessLookupError):
                continue
            # a thread seen for the first time is charged all its CPU so far: a page run's script
            # thread lives a few tens of milliseconds, and its start would otherwise go uncounted
            used = cpu - last.get(t, 0.0)
            last[t] = cpu
            if used <= 0:
                continue
            f = frames[t.ident]
            codes = []
            while f is not None:
                codes.append(f.f_code)
                f = f.f_back
            stacks[(t.name.split("-")[0].split(".")[0], tuple(codes))] += used
        del frames
        if time.monotonic() - written > 5:
            written = time.monotonic()
            _write(out, stacks)


def _write(out: str, stacks: Counter) -> None:
    names: dict = {}
    own: Counter = Counter()
    total: Counter = Counter()
    by_thread: Counter = Counter()
    by_page: Counter = Counter()
    folded: Counter = Counter()
    for (thread, codes), used in list(stacks.items()):
        stack = [names.get(c) or names.setdefault(c, _where(c)) for c in codes]
        by_thread[thread] += used
        by_page[_page(stack, thread)] += used
        if stack:
            own[stack[0]] += used
        for w in set(stack):
            total[w] += used
        folded[";".join(reversed(stack[:80]))] += used
    _write_text(out, own, total, by_thread, by_page, folded)


def _write_text(out: str, own: Counter, total: Counter, by_thread: Counter, by_page: Counter,
                folded: Counter) -> None:
    lines = ["CPU s by page: " + ", ".join(f"{k} {v:.2f}" for k, v in by_page.most_common(20)),
             "CPU s by thread: " + ", ".join(f"{k} {v:.1f}" for k, v in by_thread.most_common(8)), "",
             "self CPU s:"]
    lines += [f"{v:8.2f}  {k}" for k, v in own.most_common(60)]
    lines += ["", "total CPU s:"]
    lines += [f"{v:8.2f}  {k}" for k, v in total.most_common(150)]
    for name, text in ((out, "\n".join(lines) + "\n"),
                       (out + ".folded", "".join(f"{k} {v:.4f}\n" for k, v in folded.most_common()))):
        tmp = name + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(text)
        os.replace(tmp, name)
