"""Sign-in sessions that survive a reload (core.browser_sessions): only a hash is stored, tokens
expire, sign-out and disabling an account end them, and garbage never resolves."""

from __future__ import annotations

import hashlib

import pytest

from core import browser_sessions as bs
from core import users
from core.access import Actor
from core.errors import PermissionDenied
from core.store import session
from core.store.db import raw
from tests.auth import ADMIN, PASSWORD, make_user


def test_token_resolves_until_signed_out_and_only_its_hash_is_stored(db):
    make_user("maya", "manager")
    a, token = bs.sign_in("maya", PASSWORD, db)
    assert a == Actor("maya", "manager")
    assert bs.resolve(token, db) == Actor("maya", "manager")
    with session(db) as s:
        stored = [r[0] for r in raw(s).execute("SELECT token_hash FROM user_sessions").fetchall()]
    assert stored == [hashlib.sha256(token.encode()).hexdigest()] and token not in stored
    assert bs.sign_out(token, db) is True
    assert bs.resolve(token, db) is None
    assert bs.sign_out(token, db) is False


def test_wrong_password_issues_nothing(db):
    make_user("maya", "manager")
    with pytest.raises(PermissionDenied):
        bs.sign_in("maya", "not-the-password", db)
    with session(db) as s:
        n = raw(s).execute("SELECT count(*) FROM user_sessions").fetchone()[0]
    assert n == 0


def test_expired_token_and_disabled_account_do_not_resolve(db, monkeypatch):
    make_user("maya", "manager")
    monkeypatch.setenv("SHELFCAST_SESSION_HOURS", "-1")
    _, old = bs.sign_in("maya", PASSWORD, db)
    assert bs.resolve(old, db) is None
    monkeypatch.setenv("SHELFCAST_SESSION_HOURS", "12")
    _, token = bs.sign_in("maya", PASSWORD, db)
    users.set_role(Actor(ADMIN, "admin"), "maya", "scientist", db)
    assert bs.resolve(token, db) == Actor("maya", "scientist")  # role changes apply at once
    users.set_disabled(Actor(ADMIN, "admin"), "maya", True, db)
    assert bs.resolve(token, db) is None


@pytest.mark.parametrize("junk", [None, "", "short", "x" * 43 + "'; drop", "ä" * 50])
def test_malformed_or_unknown_tokens_resolve_to_nobody(db, junk):
    make_user("maya", "manager")
    assert bs.resolve(junk, db) is None
    assert bs.resolve("A" * 43, db) is None


def test_first_admin_is_signed_in_at_once(db):
    a, token = bs.create_first_admin("alice", "alice-password", db)
    assert a == Actor("alice", "admin") and bs.resolve(token, db) == a
