"""bench/render.py --first: each page's first render in a fresh process, one JSON line per page
(the figures bench/repl_first.py and bench/monitor_first.py printed before they were folded in)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_first_render_of_each_page_in_its_own_process(tmp_path):
    db = tmp_path / "bench.duckdb"
    build = ("import sys; sys.path.insert(0, sys.argv[2]); from pathlib import Path; "
             "sys.argv[0] = 'render'; import bench.render as r; r.build(Path(sys.argv[1]), 20, 40)")
    subprocess.run([sys.executable, "-c", build, str(db), str(ROOT)], check=True, timeout=600,
                   capture_output=True)
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "render.py"), "--db", str(db),
                          "--first", "monitor.py,replenishment.py", "--repeat", "1", "--cold"],
                         capture_output=True, text=True, timeout=600, check=True).stdout
    lines = out.splitlines()
    assert lines[0].startswith("load average")
    rows = [json.loads(x) for x in lines[1:]]
    assert [r["page"] for r in rows] == ["monitor.py", "replenishment.py"]
    for r in rows:
        assert r["errors"] == [], r
        assert 0 < r["landing_first"] and 0 < r["first"] and 0 < r["warm"], r
        assert r["first_cpu"] > 0 and r["peak_rss_mib"] > 0, r
    monitor = rows[0]
    assert monitor["first_chart"] is not None and 0 < monitor["first_chart"] <= monitor["first"]
    assert monitor["tabs"], monitor
