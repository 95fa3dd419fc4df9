"""bench/render.py --first: each page's first render in a fresh process, one JSON line per page
(the figures bench/repl_first.py and bench/monitor_first.py printed before they were folded in),
and with --share the Overview through a share link (the figure of issue 13's share-link target)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench_db(tmp_path_factory) -> Path:
    """One bench store for the module (each run below opens it in processes of its own)."""
    db = tmp_path_factory.mktemp("render") / "bench.duckdb"
    build = ("import sys; sys.path.insert(0, sys.argv[2]); from pathlib import Path; "
             "sys.argv[0] = 'render'; import bench.render as r; r.build(Path(sys.argv[1]), 20, 40)")
    subprocess.run([sys.executable, "-c", build, str(db), str(ROOT)], check=True, timeout=600,
                   capture_output=True)
    return db


def _render(db: Path, *args: str) -> list[str]:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "render.py"), "--db", str(db),
                          "--repeat", "1", "--cold", *args],
                         capture_output=True, text=True, timeout=600, check=True).stdout
    return out.splitlines()


def test_first_render_of_each_page_in_its_own_process(bench_db):
    lines = _render(bench_db, "--first", "monitor.py,replenishment.py")
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


def test_share_link_first_render_is_timed_through_the_link(bench_db):
    """--first overview.py --cold --share: its cold run timed in a process that has served it before."""
    rows = [json.loads(x) for x in _render(bench_db, "--first", "overview.py", "--share") if x.startswith("{")]
    assert [r["page"] for r in rows] == ["overview.py (share link)"]
    (r,) = rows
    assert r["errors"] == [] and r["tabs"] == [], r
    assert len(r["metrics"]) == 4, r  # the headline: the link reached the Overview, not "not valid"
    assert 0 < r["first_chart"] <= r["first"] and r["first_cpu"] > 0, r  # the trend, not a preload
