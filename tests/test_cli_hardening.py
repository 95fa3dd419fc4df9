"""Issue 10 items 10 and 12, issue 13's start-up budget: every bad argument exits 2 with a
message, user text is never a template, the store is never made inside the code checkout by
default and every command names it, and `shelfcast --help` imports no command."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import config
from core.cli import main
from tests.helpers import frame_csv, run_cli

ROOT = Path(__file__).resolve().parent.parent


def cli(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    try:
        code = main(list(args))
    except SystemExit as e:  # argparse's own refusals
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


ROWS = [{"date": f"2025-01-{d:02d}", "sku": "A", "store": "S1", "units": d} for d in range(1, 11)]


@pytest.mark.parametrize("args, says", [
    (["ingest", "missing.csv"], "no such file"),
    (["share", "create", "--expires", "9999999999999999999999d"], "between 1 hour and 366 days"),
    (["share", "create", "--expires", "9" * 5000 + "h"], "between 1 hour and 366 days"),
    (["sales", "delete", "--to", "2025-99-01", "--note", "x"], "not a date"),
    (["alerts", "ack"], "Give the alert id"),
    (["promote", "abc", "--note", "x"], "invalid int value"),
])
def test_bad_arguments_exit_2_with_a_message(args, says, db, capsys, monkeypatch):
    code, out, err = cli(capsys, monkeypatch, *args)
    assert code == 2 and says in err, err
    assert "Traceback" not in err


def test_date_format_and_file_names_are_data_not_code(db, tmp_path, capsys, monkeypatch):
    good = frame_csv(tmp_path / "good.csv", ROWS)
    code, _, err = cli(capsys, monkeypatch, "ingest", str(good), "--date-format", "%Y-%m-%d') --")
    assert code == 2 and "not a date pattern" in err, err
    bad = [dict(r) for r in ROWS]
    bad[3]["units"] = "many"
    path = frame_csv(tmp_path / "fn{0}.csv", bad)
    code, _, err = cli(capsys, monkeypatch, "ingest", str(path))
    assert code == 2 and "fn{0}.csv: 1 row(s)" in err and "line 5: 'many'" in err, err


def test_store_is_named_and_not_made_in_the_checkout(tmp_path):
    """Without SHELFCAST_DB, from another working directory: the store goes to the user's data
    directory, every command says where on stderr, and nothing appears under the checkout."""
    env = {k: v for k, v in os.environ.items() if k != "SHELFCAST_DB"}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    env["PYTHONPATH"] = str(ROOT)
    exe = Path(sys.executable).parent / "shelfcast"
    before = (ROOT / "data" / "shelfcast.duckdb").exists()
    r = subprocess.run([str(exe), "user", "list"], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    where = tmp_path / "xdg" / "shelfcast" / "shelfcast.duckdb"
    assert r.stderr.splitlines()[0] == f"shelfcast: store {where} (default; set SHELFCAST_DB or --db)"
    assert where.exists()
    assert (ROOT / "data" / "shelfcast.duckdb").exists() == before
    assert not (tmp_path / "data").exists()
    r = subprocess.run([str(exe), "--help"], capture_output=True, text=True, env=env, cwd=tmp_path,
                       timeout=60)
    assert r.stdout.splitlines()[0] == f"Store: {where} (default; set SHELFCAST_DB or --db)"
    assert config.db_path(tmp_path / "x.duckdb") == tmp_path / "x.duckdb"


def _imported(argv: list[str], modules: tuple[str, ...]) -> subprocess.CompletedProcess:
    """Run `shelfcast ARGV` in a fresh interpreter; its stdout ends with the exit code and
    which of `modules` it imported (`CODE 0 HEAVY []` when none)."""
    probe = ("import sys, core.cli\n"
             f"try:\n    code = core.cli.main({argv!r})\nexcept SystemExit as e:\n    code = e.code\n"
             f"print('CODE', code, 'HEAVY', [m for m in {modules!r} if m in sys.modules])")
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))


def test_help_imports_no_command_and_is_fast(tmp_path):
    r = _imported(["--help"], ("pandas", "sqlmodel", "sqlalchemy", "scipy", "duckdb", "numpy",
                               "core.store", "core.ingest"))
    assert "CODE 0 HEAVY []" in r.stdout, r.stdout + r.stderr
    assert "ingest" in r.stdout and "sales" in r.stdout  # every command is still listed
    t0 = time.monotonic()
    r = run_cli("--help")
    assert r.returncode == 0
    # Budget 0.5 s on an idle machine; the bound here leaves room for a loaded CI box.
    assert time.monotonic() - t0 < 2.0


def test_a_store_path_that_is_not_a_store_is_refused(tmp_path, capsys, monkeypatch):
    not_db = frame_csv(tmp_path / "sales.csv", ROWS)
    for target, says in ((not_db, "not a Shelfcast store"), (tmp_path, "is a folder")):
        code, _, err = cli(capsys, monkeypatch, "--db", str(target), "user", "list")
        assert code == 2 and says in err and "Traceback" not in err, err
    assert not_db.read_text().startswith("date,sku")  # left as it was


def test_versions_imports_no_training_or_models(tmp_path):
    """`shelfcast versions --json` lists rows: it must not import the trainer, the models or
    scipy (a second of start-up a cron job or a person pays), unless a run is marked running."""
    r = _imported(["--db", str(tmp_path / "s.duckdb"), "versions", "--json"],
                  ("core.training", "core.models", "sklearn", "scipy", "statsforecast", "core.artifacts",
                   "core.quantiles"))
    assert "CODE 0 HEAVY []" in r.stdout, r.stdout + r.stderr


def test_versions_still_marks_a_dead_run_interrupted(db, capsys, monkeypatch):
    """The lazy import above must not lose `versions` marking a run whose process is gone."""
    import json
    import socket

    from core.store import session, train_jobs
    from core.store import versions as vstore

    with session(db, write=True) as s:
        v = vstore.add_version(s, vstore.Version(kind="naive", horizon=7, folds=1, freq="D",
                                                 created_by="sam"))
        train_jobs.add(s, v.id, 2**22 + 12345, socket.gethostname())  # no such pid
        vid = v.id
    code, out, err = cli(capsys, monkeypatch, "versions", "--json")
    assert code == 0, err
    assert [r["status"] for r in json.loads(out) if r["id"] == vid] == ["interrupted"]
