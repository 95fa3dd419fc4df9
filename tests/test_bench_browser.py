"""bench/browser_pages.py on a tiny store: every page and the share link get a figure, and a page
that shows an exception makes the bench fail (exit 1), not a number."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.browser import ROOT, needs_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]
BENCH = ROOT / "bench" / "browser_pages.py"


def bench(tmp_path, *args: str, pre: list[str] = (), **env_extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([*pre, str(ROOT)]), **env_extra)
    env.pop("SHELFCAST_DB", None)
    return subprocess.run([sys.executable, str(BENCH), "--series", "10", "--days", "60", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)


def test_every_page_gets_a_figure(tmp_path):
    from app.nav import PAGES

    out = tmp_path / "pages.json"
    r = bench(tmp_path, "--repeat", "1", "--json", str(out))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    got = json.loads(out.read_text())
    rows = {x["page"]: x for x in got["summary"]}
    assert set(rows) == {t for _f, t, _p in PAGES} | {"Overview (share link)", "Sign in -> Overview"}
    signin = rows.pop("Sign in -> Overview")  # timed once: the server's first view
    assert not signin["errors"] and signin["has_chart"] and 0 < signin["cold_shown"] < 120
    for name, x in rows.items():
        assert not x["errors"], name
        for k in ("cold_shown", "warm_shown", "cold_ready", "warm_ready"):
            assert 0 < x[k] < 120, (name, k, x[k])
        assert x["kib"] > 0 and x["warm_server_cpu"] >= 0 and x["warm_browser_cpu"] > 0, name
    # pages that draw a chart on this store are timed to it, the rest to their content
    assert rows["Overview"]["has_chart"] and rows["Data"]["has_chart"] and rows["Overview (share link)"]["has_chart"]
    assert not rows["Access"]["has_chart"] and not rows["Share links"]["has_chart"]
    views = got["views"]
    assert {v["phase"] for v in views} == {"cold", "warm"}
    assert all(v["chart"] is None or v["chart"] <= v["ready"] + 60 for v in views)
    # no chart is drawn before its message arrived: the Overview's early, empty Vega-Lite element
    # (sent first so the browser loads the library) is neither the chart on the wire nor on screen
    timed = [v for v in views if v["chart"] is not None and v["sent"] is not None]
    assert timed and all(v["chart"] >= v["sent"] for v in timed)
    # a share link's fresh tab fetches its JavaScript (the cache is empty), but not Plotly's
    # chunk (4.6 MiB alone): the Overview's trend is Vega-Lite
    link = rows["Overview (share link)"]
    assert 500 < link["cold_js_kib"] < 4600, link["cold_js_kib"]
    assert "load average before" in r.stdout and "load average after" in r.stdout


def test_a_page_that_raises_fails_the_bench(tmp_path):
    """The server (and its streamlit child) import a sitecustomize that breaks the Data page's chart."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import os\n"
        "if os.environ.get('BENCH_BREAK_DATA'):\n"
        "    import app.charts\n"
        "    def _boom(*a, **k):\n"
        "        raise RuntimeError('injected by the test')\n"
        "    app.charts.sales_history = _boom\n")
    r = bench(tmp_path, "--repeat", "1", "--pages", "Data,Access",
              pre=[str(hook)], BENCH_BREAK_DATA="1")
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
    table = r.stdout[r.stdout.index("page "):]
    data = next(line for line in table.splitlines() if line.startswith("Data "))
    access = next(line for line in table.splitlines() if line.startswith("Access "))
    assert "ERROR" in data and "RuntimeError" in data  # the server redacts the message itself
    assert "ERROR" not in access
