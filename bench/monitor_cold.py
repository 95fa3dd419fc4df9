"""Cold Monitor on the demo store (issue 14: <= 3 s to first chart). Seeds the default demo into
a temporary store in one process, then, in a fresh Python process (cold imports and caches),
signs in through AppTest and times the first run of the Monitor page: to its first chart (when
`st.plotly_chart` is first called: a server streams that delta to the browser at once) and to the
end of the run (every tab, drift tests included). CPU seconds are printed
beside the wall time: on a shared machine they are the steadier number.

    .venv/bin/python bench/monitor_cold.py [--db PATH]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

COLD = """
import os, sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
from streamlit.testing.v1 import AppTest
from core import users
from core.access import Actor
os.environ["SHELFCAST_DB"] = {db!r}
if not users.has_users({db!r}):
    users.create_first_admin("bench-admin", "bench-password", {db!r})
at = AppTest.from_file({main!r}, default_timeout=120)
at.session_state["actor"] = Actor("bench-admin", "admin")
at.switch_page("../pages/monitor.py")
import streamlit as st
first = []
_chart = st.plotly_chart
def _timed(*a, **k):  # the moment the first chart's delta would leave for the browser
    first.append((time.perf_counter(), time.process_time()))
    return _chart(*a, **k)
st.plotly_chart = _timed
t1, c1 = time.perf_counter(), time.process_time()
at.run()
t2, c2 = time.perf_counter(), time.process_time()
assert not at.exception, at.exception
print(f"imports {{t1 - t0:.2f}} s, cold Monitor: first chart {{first[0][0] - t1:.2f}} s "
      f"({{first[0][1] - c1:.2f}} s CPU), whole run {{t2 - t1:.2f}} s ({{c2 - c1:.2f}} s CPU), "
      f"charts {{len(at.get('plotly_chart'))}}, load {{os.getloadavg()[0]:.1f}}")
"""


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--db", type=Path)
    args = p.parse_args()
    db = args.db or Path(tempfile.mkdtemp()) / "demo.duckdb"
    if not db.exists():
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r});"
                        "from core import seed; from core.access import SYSTEM;"
                        f"seed.seed_demo(SYSTEM, {str(db)!r})"], check=True)
        print(f"seeded {db} in {time.perf_counter() - t:.0f} s")
    code = COLD.format(root=str(ROOT), db=str(db), main=str(ROOT / "app" / "main.py"))
    for _ in range(2):  # the first after seeding, then one more cold process
        subprocess.run([sys.executable, "-c", code], check=True)


if __name__ == "__main__":
    main()
