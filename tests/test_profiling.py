"""app/profiling.py (bench/load_ws.py --profile): CPU per page charged to the stacks of the
threads that used it, each thread sampling only its own stack (reading other threads' running
frames from a sampler thread crashed the server), in a child process so a crash fails the test
instead of ending the test run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import sys, threading, time
sys.path.insert(0, sys.argv[2])
from app import profiling

out = sys.argv[1]
profiling.start(out, every=0.002, write_every=0.2)
PAGE = '''
def spin(n):
    x = 0
    for i in range(n):
        x += i
    return x

t0 = time.thread_time()
while time.thread_time() - t0 < 0.6:
    spin(2000)
'''


def page():  # a script run of a page, as Streamlit's script thread runs it
    exec(compile(PAGE, "/srv/repo/pages/busy.py", "exec"), {"time": time})


def short():  # threads that start, work and end while sampled: the pattern that crashed
    sum(i * i for i in range(3000))


runner = threading.Thread(target=page, name="ScriptRunner.scriptThread")
runner.start()
n = 0
while runner.is_alive():
    ts = [threading.Thread(target=short) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    n += len(ts)
time.sleep(0.6)  # the next write
print(n)
"""


def _page_cpu(text: str) -> dict[str, float]:
    line = next(x for x in text.splitlines() if x.startswith("CPU s by page: "))
    return {k: float(v) for k, v in (p.rsplit(" ", 1) for p in line[len("CPU s by page: "):].split(", "))}


def test_cpu_is_charged_to_the_page_and_functions_that_used_it(tmp_path):
    out = tmp_path / "profile.txt"
    r = subprocess.run([sys.executable, "-c", CHILD, str(out), str(ROOT)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]  # a segfault is -11
    assert int(r.stdout.strip()) >= 8  # short threads came and went during the page run
    text = out.read_text()
    pages = _page_cpu(text)
    assert 0.4 <= pages["pages/busy.py"] <= 0.75, pages  # the page thread used 0.6 CPU-s
    assert pages.get("Thread", 0) < pages["pages/busy.py"]
    total = text.split("total CPU s:", 1)[1]
    spin = next(float(x.split()[0]) for x in total.splitlines() if "pages/busy.py:2(spin)" in x)
    assert spin >= 0.3
    folded = (tmp_path / "profile.txt.folded").read_text()
    assert "pages/busy.py:1(<module>);pages/busy.py:2(spin)" in folded


def test_a_reset_forgets_what_was_counted(tmp_path):
    out = tmp_path / "profile.txt"
    code = CHILD.replace("time.sleep(0.6)  # the next write",
                         "open(out + '.reset', 'w').close(); time.sleep(0.8)")
    r = subprocess.run([sys.executable, "-c", code, str(out), str(ROOT)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "pages/busy.py" not in _page_cpu(out.read_text())
