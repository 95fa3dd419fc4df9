"""CPU profile of a running server, for bench/load_ws.py (SHELFCAST_PROFILE=FILE): py-spy is not
installed and cProfile sees one thread, while the server's CPU goes to every session's script
thread and to Tornado's loop (protobuf, websocket). Every few milliseconds a ticker thread moves
a clock hand; each thread, in its own profile hook (`sys.setprofile`, installed in every new
thread by `threading.setprofile` and in Tornado's loop by a callback on it), notices the hand
moved at its next call or return and charges its own current stack the CPU it used since its
last sample (its own CPU clock), so waiting threads cost nothing. A thread only ever reads its
own frames: the first version read every thread's frames from the sampler thread
(sys._current_frames) while they ran, and crashed the server in 2 of 4 profiled 20-session runs.
Written to FILE every few seconds as CPU seconds per page (the pages/*.py file on the stack;
"shell" for the rest of a script run), per thread, then `self` and `total` CPU seconds per
function, heaviest first; FILE.folded holds the whole stacks (flame-graph "folded" format:
`a;b;c seconds`) to see who calls what.

Signals: `kill -USR1 PID` writes every thread's stack to FILE.stacks (a hung page, a lock wait);
creating FILE.reset forgets what was counted so far (the bench measures one wave, not start-up and
its baseline; a signal handler cannot be set from a script thread).

CPU used inside one long C call (a DuckDB query) is charged at the call's return, to the Python
frame that made it. The hook runs on every call and return, which slows Python-heavy code (3-7x
in a call-heavy loop; pandas work is unchanged): a 6-session bench/load_ws.py run cost the server
0.076 CPU-s per view profiled against 0.050 unprofiled, so the per-page figures are for comparing
pages and runs with each other, not for absolute budgets."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter

_started = False
_lock = threading.Lock()
_tick = [0]  # the clock hand the ticker moves; a thread samples itself when it has moved
_stacks: Counter = Counter()  # (thread name, code objects innermost first) -> CPU s


def start_from_env() -> None:
    out = os.environ.get("SHELFCAST_PROFILE")
    if out:
        start(out)


def start(out: str, every: float = 0.003, write_every: float = 5.0) -> None:
    """Profile this process from now on (once), writing to `out`."""
    global _started
    with _lock:
        if _started:
            return
        _started = True
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1, open(out + ".stacks", "w"), all_threads=True)  # noqa: SIM115
    threading.setprofile(_install)  # every thread started from now on
    sys.setprofile(_hook_for_this_thread())
    _hook_main_loop()
    threading.Thread(target=_ticker, args=(out, every, write_every), name="shelfcast-profiler",
                     daemon=True).start()


def _install(frame, event, arg) -> None:
    """The first profile call of a new thread: give it its own hook."""
    sys.setprofile(_hook_for_this_thread())


def _hook_for_this_thread():
    name = threading.current_thread().name.split("-")[0].split(".")[0]
    last = [_tick[0], time.thread_time()]  # the hand at the last sample, the CPU clock then
    tick, stacks, lock, clock = _tick, _stacks, _lock, time.thread_time

    def hook(frame, event, arg) -> None:
        if tick[0] == last[0]:  # the common case: as cheap as a hook can be
            return
        last[0] = tick[0]
        cpu = clock()
        used, last[1] = cpu - last[1], cpu
        if used <= 0:
            return
        codes = []
        f = frame  # this thread's own stack, read by this thread
        while f is not None:
            codes.append(f.f_code)
            f = f.f_back
        with lock:
            stacks[(name, tuple(codes))] += used

    return hook


def _hook_main_loop() -> None:
    """Tornado's loop runs in the main thread, which started before the hook was set: ask the
    loop to install it in its own thread."""
    try:
        from streamlit.runtime import Runtime

        loop = Runtime.instance()._get_async_objs().eventloop
    except Exception:  # noqa: BLE001 - not under a Streamlit server (a test, a script)
        return
    loop.call_soon_threadsafe(lambda: sys.setprofile(_hook_for_this_thread()))


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


def _ticker(out: str, every: float, write_every: float) -> None:
    """Moves the hand, looks for FILE.reset and writes FILE; never touches another thread."""
    written = checked = time.monotonic()
    while True:
        time.sleep(every)
        _tick[0] += 1
        if time.monotonic() - checked > 0.1:
            checked = time.monotonic()
            if os.path.exists(out + ".reset"):
                os.remove(out + ".reset")
                with _lock:
                    _stacks.clear()
        if time.monotonic() - written > write_every:
            written = time.monotonic()
            with _lock:
                counted = Counter(_stacks)
            _write(out, counted)


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
