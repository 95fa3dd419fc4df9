"""Sign-in hashes at OWASP's argon2id minimum (cheap enough for 20 people signing in at once on
one server); accounts hashed with the old, heavier parameters still sign in and are rehashed."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from core import users
from core.access import Actor
from core.errors import PermissionDenied
from core.store import session
from core.store import users as store

ADMIN = Actor("boss", "admin")
PW = "right-password-1"
OLD = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)  # argon2-cffi's default


def stored_hash(db, name: str) -> str:
    with session(db) as s:
        return store.get_user(s, name).password_hash


def test_new_hashes_use_the_owasp_minimum(db):
    users.create_first_admin("boss", "boss-password-1", db)
    users.add_user(ADMIN, "maya", "manager", PW, db)
    h = stored_hash(db, "maya")
    assert h.startswith("$argon2id$") and "m=19456,t=2,p=1" in h


def test_an_old_hash_still_signs_in_and_is_rehashed(db):
    users.create_first_admin("boss", "boss-password-1", db)
    users.add_user(ADMIN, "maya", "manager", PW, db)
    old = OLD.hash(PW)
    with session(db, write=True) as s:
        u = store.get_user(s, "maya")
        u.password_hash = old
        store.save(s, u)
    with pytest.raises(PermissionDenied):  # a wrong password does not rehash
        users.authenticate("maya", "wrong-password", db)
    assert stored_hash(db, "maya") == old
    assert users.authenticate("maya", PW, db) == Actor("maya", "manager")
    new = stored_hash(db, "maya")
    assert new != old and "m=19456,t=2,p=1" in new
    OLD.verify(new, PW)  # the new hash is of the same password
    with pytest.raises(VerifyMismatchError):
        OLD.verify(new, "wrong-password")
    assert users.authenticate("maya", PW, db) == Actor("maya", "manager")
    assert stored_hash(db, "maya") == new  # already current: not rehashed again
