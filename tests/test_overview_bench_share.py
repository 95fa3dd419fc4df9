"""bench/render.py --first overview.py --cold --share: the Overview through a share link, its cold
run timed in a process that has served it before (the figure of issue 13's share-link target)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_share_link_first_render_is_timed_through_the_link(tmp_path):
    db = tmp_path / "bench.duckdb"
    build = ("import sys; sys.path.insert(0, sys.argv[2]); from pathlib import Path; "
             "sys.argv[0] = 'render'; import bench.render as r; r.build(Path(sys.argv[1]), 20, 40)")
    subprocess.run([sys.executable, "-c", build, str(db), str(ROOT)], check=True, timeout=600,
                   capture_output=True)
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "render.py"), "--db", str(db),
                          "--first", "overview.py", "--repeat", "1", "--cold", "--share"],
                         capture_output=True, text=True, timeout=600, check=True).stdout
    rows = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    assert [r["page"] for r in rows] == ["overview.py (share link)"]
    (r,) = rows
    assert r["errors"] == [] and r["tabs"] == [], r
    assert len(r["metrics"]) == 4, r  # the headline: the link reached the Overview, not "not valid"
    assert 0 < r["first_chart"] <= r["first"] and r["first_cpu"] > 0, r  # the trend, not a preload
