"""`shelfcast user ...` and `shelfcast share ...` as an operator or a script runs them.

One run goes through the installed console script with the password piped on stdin (what a
provisioning script does); the rest call `core.cli.main` in-process, which is the same parser and
code without a few seconds of start-up per command.
"""

from __future__ import annotations

import io
import json

import pytest

from core import sharing, users
from core.access import Actor
from core.cli import main
from tests.helpers import run_cli


def cli(capsys, monkeypatch, *args: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))  # not a tty: the password is read from it
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow  # two console-script start-ups (each imports the whole CLI)
def test_first_admin_through_console_script_with_piped_password(db):
    r = run_cli("--user", "ops", "user", "add", "vic", "--role", "viewer", db=db, input="viewer-pass\n")
    assert r.returncode == 2 and "first account must be an admin" in r.stderr
    assert not users.has_users(db)
    r = run_cli("--user", "ops", "user", "add", "alice", "--role", "admin", db=db, input="alice-pass-1\n")
    assert r.returncode == 0, r.stderr
    assert users.authenticate("alice", "alice-pass-1", db) == Actor("alice", "admin")


def test_user_and_share_commands(db, capsys, monkeypatch):
    assert cli(capsys, monkeypatch, "user", "add", "alice", "--role", "admin", stdin="alice-pass-1\n")[0] == 0

    # From now on the CLI acts as a named account with its stored role.
    code, _, err = cli(capsys, monkeypatch, "--user", "nobody", "user", "list")
    assert code == 2 and "No account named 'nobody'" in err
    code, _, err = cli(capsys, monkeypatch, "--user", "alice", "user", "add", "vic", "--role", "viewer",
                       stdin="short\n")
    assert code == 2 and "at least 8 characters" in err
    assert cli(capsys, monkeypatch, "--user", "alice", "user", "add", "vic", "--role", "viewer",
               stdin="viewer-pass\n")[0] == 0
    code, out, _ = cli(capsys, monkeypatch, "--user", "alice", "user", "list", "--json")
    rows = json.loads(out)
    assert [(u["name"], u["role"]) for u in rows] == [("alice", "admin"), ("vic", "viewer")]
    assert "argon2" not in out and "pass" not in out

    # A viewer cannot share on the command line either.
    code, _, err = cli(capsys, monkeypatch, "--user", "vic", "share", "create")
    assert code == 2 and "may not share" in err

    monkeypatch.setenv("SHELFCAST_BASE_URL", "https://shelfcast.example.com")
    code, out, _ = cli(capsys, monkeypatch, "--user", "alice", "share", "create", "--expires", "7d",
                       "--label", "Board", "--json")
    made = json.loads(out)
    assert made["url"].startswith("https://shelfcast.example.com/?share=")
    token = made["url"].split("share=")[1]
    assert sharing.resolve(token, db) is not None
    code, out, _ = cli(capsys, monkeypatch, "--user", "alice", "share", "list", "--json")
    [listed] = json.loads(out)
    assert listed["status"] == "active" and token not in out
    code, out, _ = cli(capsys, monkeypatch, "--user", "alice", "share", "revoke", str(made["id"]))
    assert code == 0 and "revoked" in out
    assert sharing.resolve(token, db) is None
    code, _, err = cli(capsys, monkeypatch, "--user", "alice", "share", "create", "--expires", "forever")
    assert code == 2 and "12h, 30d or 2w" in err

    assert cli(capsys, monkeypatch, "--user", "alice", "user", "role", "vic", "manager")[0] == 0
    assert cli(capsys, monkeypatch, "--user", "alice", "user", "passwd", "vic", stdin="vic-new-pass\n")[0] == 0
    assert users.authenticate("vic", "vic-new-pass", db) == Actor("vic", "manager")
    assert cli(capsys, monkeypatch, "--user", "alice", "user", "disable", "vic")[0] == 0
    assert users.current("vic", db) is None
    code, _, err = cli(capsys, monkeypatch, "--user", "vic", "share", "list")
    assert code == 2 and "disabled" in err
    code, _, err = cli(capsys, monkeypatch, "--user", "alice", "user", "disable", "alice")
    assert code == 2 and "last enabled admin" in err


@pytest.mark.parametrize("role", ["viewer", "manager", "scientist"])
def test_only_admins_manage_users_on_the_cli(db, capsys, monkeypatch, role):
    users.create_first_admin("alice", "alice-pass-1", db)
    users.add_user(Actor("alice", "admin"), "bob", role, "bob-pass-1", db)
    code, _, err = cli(capsys, monkeypatch, "--user", "bob", "user", "add", "eve", "--role", "admin",
                       stdin="eve-pass-1\n")
    assert code == 2 and "may not manage users" in err
    assert users.current("eve", db) is None


def test_serve_says_how_to_get_in_on_first_start(db):
    from core.cli.serve import how_to_get_in

    first = how_to_get_in(db, "http://localhost:8501")
    assert "create the first admin" in first and "shelfcast user add NAME --role admin" in first
    users.create_first_admin("alice", "alice-pass-1", db)
    assert "Sign in with your account" in how_to_get_in(db, "http://localhost:8501")
