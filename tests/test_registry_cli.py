"""`shelfcast promote / rollback / history` as separate processes, as a scheduler or two people at
two terminals would run them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import hold_store, run_cli
from tests.registry_fixtures import fake_version, load_demo, registry_snapshot


@pytest.fixture
def store(db, tmp_path, scientist):
    load_demo(db, tmp_path, scientist, n_skus=3, n_stores=1, days=40)
    good = fake_version(db, 0.1)
    bad = fake_version(db, 0.3)
    return db, good, bad


def _viewer_env(db) -> tuple[list[str], dict]:
    """Act as a viewer on the CLI: a stored account once accounts exist, else SHELFCAST_ROLE."""
    from core import users
    from core.access import Actor

    if hasattr(users, "add_user"):
        admin = Actor("root", "admin")
        users.add_user(admin, "root", "admin", "correct horse battery", db=db)
        users.add_user(admin, "vic", "viewer", "correct horse battery", db=db)
    return ["--user", "vic"], {"SHELFCAST_ROLE": "viewer"}


def test_cli_promote_history_rollback(store):
    db, good, bad = store
    p = run_cli("promote", str(good), "--note", "first", "--json", db=db)
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout)
    assert (rec["action"], rec["to_version"], rec["from_version"], rec["note"]) == ("promote", good, None, "first")
    p = run_cli("promote", str(bad), "--note", "try", "--override-reason", "seasonal test", db=db)
    assert p.returncode == 0, p.stderr
    assert f"Version {bad} is now active (was version {good}) (gate overridden)" in p.stdout
    p = run_cli("rollback", "--note", "worse in practice", "--json", db=db)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["to_version"] == good
    h = run_cli("history", "--json", db=db)
    log = json.loads(h.stdout)
    assert [r["action"] for r in log] == ["rollback", "promote", "promote"]
    assert log[1]["override"] is True and log[1]["override_reason"] == "seasonal test"
    assert log[1]["metrics"]["to"]["wape"] == pytest.approx(0.3)
    text = run_cli("history", db=db).stdout
    assert "OVERRIDE: seasonal test" in text and '"worse in practice"' in text


def test_cli_refusals_exit_nonzero_and_change_nothing(store):
    db, good, bad = store
    running = fake_version(db, 0.05, status="running")
    assert run_cli("promote", str(good), "--note", "first", db=db).returncode == 0
    before = registry_snapshot(db)
    user, env = _viewer_env(db)
    cases = [
        (["promote", str(bad), "--note", "x"], "worse than active version"),
        (["promote", "424242", "--note", "x"], "no version 424242"),
        (["promote", str(running), "--note", "x"], "running, not ready"),
        (["promote", str(good), "--note", "x"], "already the active version"),
        (["promote", str(bad), "--note", "  "], "note is required"),
        ([*user, "promote", str(bad), "--note", "x", "--override-reason", "y"], "needs the scientist role"),
        ([*user, "rollback", "--note", "x"], "needs the scientist role"),
        (["rollback", "--note", "x"], "Nothing to roll back to"),
    ]
    for args, message in cases:
        p = run_cli(*args, db=db, env_extra=env if args[0] == "--user" else None)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert message in p.stderr, (args, p.stderr)
        assert "Traceback" not in p.stderr
    assert registry_snapshot(db) == before


@pytest.mark.slow
@pytest.mark.parametrize("override", [False, True])
def test_two_cli_processes_promote_at_once(store, override):
    """Both start while a third process holds the file, so both are in the lock-retry loop when
    it is released and then race for it: exactly one active version, each attempt recorded or
    cleanly refused, and the audit chain unbroken."""
    db, good, bad = store
    holder = hold_store(db, 3)
    extra = ["--override-reason", "race test"] if override else []
    procs = [
        subprocess.Popen(
            [str(Path(sys.executable).parent / "shelfcast"), "promote", str(v), "--note", f"race {v}", "--json", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**__import__("os").environ, "SHELFCAST_DB": str(db)},
        )
        for v in (bad, good)
    ]
    t0 = time.monotonic()
    outs = [p.communicate(timeout=120) for p in procs]
    holder.wait()
    assert time.monotonic() - t0 > 1.0  # they really waited for the held file
    codes = [p.returncode for p in procs]
    assert set(codes) <= {0, 2}, outs
    for code, (_out, err) in zip(codes, outs, strict=True):
        if code == 2:
            assert "Promotion refused" in err and "Traceback" not in err
    active, log, _ = registry_snapshot(db)
    assert len(active) == 1
    assert len(log) == codes.count(0) >= 1
    assert log[0][2] is None
    if len(log) == 2:
        assert log[1][2] == log[0][3]
    assert active[0][1] == log[-1][3]
    if override:
        assert codes == [0, 0]
    recorded = {json.loads(out)["to_version"] for (out, _), c in zip(outs, codes, strict=True) if c == 0}
    assert recorded == {r[3] for r in log}
