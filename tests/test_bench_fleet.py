"""bench/fleet.py and its generator: a tiny end-to-end run through the real CLI, and the
generated fleet's statistics."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import fleet  # noqa: E402
import fleet_data  # noqa: E402

from app.nav import LINK_PAGES, PAGES  # noqa: E402

PROCESS_STEPS = ["generate", "cli --help", "read_csv (DuckDB)", "user add (admin)", "ingest",
                 "cli train --help", "train naive", "train global", "train best-of", "promote",
                 "ingest new week", "monitor", "orders (proposal)", "simulate", "share create", "render (all pages)"]


def test_fleet_data_looks_like_retail(tmp_path: Path) -> None:
    info = fleet_data.write(tmp_path / "h.csv", series=200, days=364)
    week = fleet_data.write(tmp_path / "w.csv", series=200, days=7, offset=364)
    assert (info["series"], info["skus"], info["stores"], info["rows"]) == (200, 40, 5, 200 * 364)
    c = duckdb.connect()
    h = f"read_csv('{tmp_path / 'h.csv'}')"
    zeros, promo, n_series = c.sql(f"SELECT avg((units = 0)::INT), avg(promo), count(DISTINCT (sku, store)) FROM {h}").fetchone()
    assert 0.2 < zeros < 0.8 and 0.04 < promo < 0.14 and n_series == 200
    # weekly season: Saturdays sell more than Tuesdays; promotions lift demand and cut the price
    by_dow = dict(c.sql(f"SELECT isodow(date), avg(units) FROM {h} GROUP BY 1").fetchall())
    assert by_dow[6] > 1.2 * by_dow[2]
    lift, cut = c.sql(f"""SELECT avg(units) FILTER (promo = 1) / avg(units) FILTER (promo = 0),
                                 avg(price) FILTER (promo = 1) / avg(price) FILTER (promo = 0)
                          FROM {h}""").fetchone()
    assert lift > 1.2 and cut < 0.95
    # slow movers: most series sell under 2 a day, a few carry the volume
    means = [m for (m,) in c.sql(f"SELECT avg(units) FROM {h} GROUP BY sku, store").fetchall()]
    assert sum(m < 2 for m in means) > len(means) / 2 and max(means) > 10 * sorted(means)[len(means) // 2]
    # the new week continues the same series on the next 7 days
    w = f"read_csv('{tmp_path / 'w.csv'}')"
    first, last, nw = c.sql(f"SELECT min(date), max(date), count(DISTINCT (sku, store)) FROM {w}").fetchone()
    (hist_last,) = c.sql(f"SELECT max(date) FROM {h}").fetchone()
    assert (first - hist_last).days == 1 and (last - first).days == 6 and nw == 200 and week["rows"] == 1400


def test_fleet_data_chunks_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fleet_data, "ROWS_PER_CHUNK", 5_000)
    f = fleet_data.Fleet(fleet_data.Shape.for_series(400), 100)
    sizes = [t.num_rows for t in f.chunks(0, 100)]
    assert sum(sizes) == 400 * 100 and max(sizes) <= 5_000


def test_a_failed_step_is_reported(tmp_path: Path) -> None:
    run = fleet.Run(fleet.argparse.Namespace(quick=True), tmp_path, [], {})
    s, _ = run.step("boom", [sys.executable, "-c", "import sys; print('bad input', file=sys.stderr); sys.exit(2)"])
    assert not s.ok and "exit 2" in s.note and "bad input" in s.note
    assert "FAILED" in fleet.table(run.rows, 0, 0)


@pytest.mark.slow
def test_fleet_bench_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "fleet.json"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "fleet.py"), "--series", "40", "--days", "120",
                        "--quick", "--json", str(out)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rep = json.loads(out.read_text())
    steps = {s["step"]: s for s in rep["steps"]}
    assert rep["failed"] == [] and rep["series"] == 40 and rep["rows"] == 40 * 120
    pages = [f"render {t} (admin)" for _f, t, _p in PAGES]
    pages += [f"render {t} (share link)" for f, t, _p in PAGES if f in LINK_PAGES]
    for name in [*PROCESS_STEPS, *pages, "store size"]:
        assert name in steps, name
        assert steps[name]["ok"], steps[name]
    for name in PROCESS_STEPS:  # each ran as a child process: time, CPU and memory measured
        s = steps[name]
        # `shelfcast --help` imports next to nothing now (0.05 s): its RSS can be caught at 2-3 MiB
        assert 0 < s["seconds"] < 600 and s["cpu"] > 0 and 0 < s["rss_mib"] < 4096, s
    for name in pages:
        assert 0 < steps[name]["seconds"] < 60
    assert steps["ingest"]["baseline"] == "read_csv" and steps["ingest"]["ratio"] > 0
    for name in ("train naive", "train global", "train best-of"):
        assert steps[name]["per_cpu_s"] > 0 and steps[name]["note"].startswith("version ")
    assert "models=naive,sklearn,croston" in steps["train best-of"]["note"]  # the fleet's statistical pick
    assert 0 < rep["store_bytes"] < 200 * 2**20
    assert "SKUs" in steps["monitor"]["note"]
    assert "load average before" in r.stdout and "train best-of" in r.stdout


def test_a_share_token_starting_with_a_dash_reaches_the_render_child(monkeypatch, tmp_path):
    """Regression: `--token -abc` made argparse refuse the render step (a random token starts
    with '-' about 1 time in 64); the token now travels as one word."""
    import argparse

    seen: dict = {}
    run = fleet.Run(argparse.Namespace(quick=True), tmp_path, [], {})
    monkeypatch.setattr(run, "step", lambda name, argv: (seen.setdefault("argv", argv) and None)
                        or (fleet.Step(name, 0.0, 0.0), ""))
    run.render("-abc")
    monkeypatch.setattr(fleet, "render_child", lambda db, repeat, token: seen.update(token=token))
    monkeypatch.setattr(sys, "argv", seen["argv"][1:])
    assert fleet.main() == 0
    assert seen["token"] == "-abc"
