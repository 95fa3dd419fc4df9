"""The sign-in gate, navigation per role, the Access and Share links pages, and share links,
driven through the real app with AppTest on a real store."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from core import sharing, users
from core.access import Actor
from core.errors import PermissionDenied
from core.store import session
from core.store import users as user_store
from core.store.base import now
from tests.auth import (
    ADMIN,
    PASSWORD,
    link_app,
    login,
    make_user,
    nav_titles,
    new_app,
    page,
    signed_in_app,
)
from tests.helpers import shown

ADMIN_ACTOR = Actor(ADMIN, "admin")


def texts(at) -> str:
    """Everything rendered as text in the main area and sidebar, for 'is it shown' checks."""
    parts = [e.value for e in (*at.title, *at.markdown, *at.caption, *at.error, *at.success,
                               *at.info, *at.warning, *at.code)]
    parts += [str(e.value) for e in at.sidebar.caption]
    return "\n".join(shown(p) for p in parts)


def test_fresh_store_shows_only_first_admin_screen_then_signs_in(db):
    at = new_app()
    assert [t.value for t in at.title] == ["Welcome to Shelfcast"]
    assert set(nav_titles(at)) == {"Welcome"}  # every address shows the one screen: nothing else is reachable
    at.text_input(key="fa-name").set_value("alice")
    at.text_input(key="fa-pw").set_value("long-password")
    at.text_input(key="fa-pw2").set_value("long-password")
    at.button[0].click()
    at.run()
    assert not at.exception
    assert "Access" in nav_titles(at)
    assert "Signed in as alice (admin)" in texts(at)
    with pytest.raises(PermissionDenied):  # one time only
        users.create_first_admin("mallory", "long-password", db)


def test_first_admin_screen_refuses_mismatch_and_short_password(db):
    at = new_app()
    at.text_input(key="fa-name").set_value("alice")
    at.text_input(key="fa-pw").set_value("short")
    at.text_input(key="fa-pw2").set_value("short")
    at.button[0].click()
    at.run()
    assert "at least 8 characters" in shown(at.error[0].value)
    assert not users.has_users(db)


def test_login_success_and_failure(db):
    make_user("maya", "manager")
    at = new_app()
    assert at.title[0].value == "Sign in to Shelfcast"
    login(at, "maya", "wrong-password")
    assert shown(at.error[0].value) == users.BAD_LOGIN
    assert set(nav_titles(at)) == {"Sign in"}
    login(at, "nobody", PASSWORD)
    assert shown(at.error[0].value) == users.BAD_LOGIN  # same message: names are not revealed
    login(at, "maya", PASSWORD)
    assert not at.error
    assert "Signed in as maya (manager)" in texts(at)
    at.sidebar.button(key="sign-out").click()
    at.run()
    assert at.title[0].value == "Sign in to Shelfcast"
    assert set(nav_titles(at)) == {"Sign in"}  # the signed-in page list is gone from the sidebar


def test_lockout_after_repeated_failures(db, monkeypatch):
    monkeypatch.setenv("SHELFCAST_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("SHELFCAST_LOGIN_LOCK_SECONDS", "2")
    make_user("vic", "viewer")
    at = new_app()
    for _ in range(3):
        login(at, "vic", "bad-guess-000")
    login(at, "vic", PASSWORD)  # even the right password waits out the lock
    assert "Too many failed sign-ins" in shown(at.error[0].value)
    with session(db) as s:
        assert user_store.aware(user_store.get_user(s, "vic").locked_until) > now()
    time.sleep(2.2)
    login(at, "vic", PASSWORD)
    assert not at.error and "Signed in as vic (viewer)" in texts(at)


def test_disabled_account_cannot_sign_in_and_open_session_ends(db):
    make_user("maya", "manager")
    at = signed_in_app("viewer", name="vic")
    users.set_disabled(ADMIN_ACTOR, "vic", True, db)
    at.run()
    assert at.title[0].value == "Sign in to Shelfcast"
    login(at, "vic", PASSWORD)
    assert "disabled" in shown(at.error[0].value)


@pytest.mark.parametrize(
    "role, expected",
    [
        ("viewer", ["Overview", "Data"]),
        ("manager", ["Overview", "Data"]),
        ("scientist", ["Overview", "Data", "Share links"]),
        ("admin", ["Overview", "Data", "Share links", "Access"]),
    ],
)
def test_navigation_per_role(db, role, expected):
    from app.nav import PAGES
    from core.access import PERMISSIONS, ROLES

    at = signed_in_app(role)
    titles = nav_titles(at)
    # Exactly the pages whose permission the role holds (pages added later included) ...
    holds = [t for _f, t, p in PAGES if ROLES.index(role) >= ROLES.index(PERMISSIONS[p])]
    assert titles == holds
    # ... and the ones this issue adds are where they belong.
    assert [t for t in titles if t in ("Overview", "Data", "Share links", "Access")] == expected


def test_viewer_cannot_upload_through_page_or_core(db, tmp_path):
    """The Data page hides the uploader from a viewer, and core refuses the viewer anyway."""
    from core.ingest import ingest
    from tests.helpers import demo_csv

    at = signed_in_app("viewer", name="vic")
    at.switch_page(page("data.py")).run()
    assert not at.exception
    assert at.title[0].value == "Data"
    assert not [b for b in at.button if b.key == "do-ingest"]
    assert "Upload sales history" not in [s.value for s in at.subheader]
    with pytest.raises(PermissionDenied):
        ingest(demo_csv(tmp_path / "x.csv", n_skus=1, n_stores=1, days=30), at.session_state["actor"])


def test_viewer_cannot_promote_calling_core(db, tmp_path):
    """A ready version exists; the viewer's own session actor is refused by core.registry and
    nothing is put into service."""
    from core import registry
    from tests.registry_fixtures import fake_version, load_demo

    load_demo(db, tmp_path, ADMIN_ACTOR, n_skus=2, n_stores=1, days=40)
    vid = fake_version(db, 0.1)
    at = signed_in_app("viewer", name="vic")
    a = at.session_state["actor"]
    assert a == Actor("vic", "viewer")
    with pytest.raises(PermissionDenied, match="may not promote"):
        registry.promote(a, vid, "not allowed", db=db)
    with pytest.raises(PermissionDenied):
        registry.rollback(a, "not allowed", db)
    assert registry.active_version(db) is None


def test_admin_adds_changes_and_disables_users_on_access_page(db, monkeypatch):
    at = signed_in_app("admin", name="boss")
    at.switch_page(page("admin.py")).run()
    assert at.title[0].value == "Access"
    at.text_input(key="add-name").set_value("sam")
    at.selectbox(key="add-role").set_value("scientist")
    at.text_input(key="add-pw").set_value("sam-password")
    next(b for b in at.button if b.label == "Add user").click()
    at.run()
    assert "Added sam as scientist." in texts(at)
    assert users.authenticate("sam", "sam-password", db) == Actor("sam", "scientist")
    at.selectbox(key="toggle-user").set_value("sam")
    at.run()

    at.selectbox(key="role-new").set_value("manager")
    at.run()
    at.button(key="role-do").click()
    at.run()
    assert "sam is now manager." in texts(at)
    assert users.current("sam", db) == Actor("sam", "manager")

    monkeypatch.setenv("SHELFCAST_LOGIN_MAX_FAILURES", "1")
    with pytest.raises(PermissionDenied):
        users.authenticate("sam", "forgotten-it", db)  # now locked
    at.text_input(key="pw-new").set_value("sam-new-password")
    at.button(key="pw-do").click()
    at.run()
    assert "New password set for sam." in texts(at)
    assert users.authenticate("sam", "sam-new-password", db) == Actor("sam", "manager")

    at.button(key="toggle-do").click()
    at.run()
    assert "Disabled sam." in texts(at)
    assert users.current("sam", db) is None


def test_last_admin_cannot_be_disabled_or_demoted(db):
    make_user(ADMIN, "admin")
    from core.errors import ValidationError

    with pytest.raises(ValidationError, match="last enabled admin"):
        users.set_disabled(ADMIN_ACTOR, ADMIN, True, db)
    with pytest.raises(ValidationError, match="last enabled admin"):
        users.set_role(ADMIN_ACTOR, ADMIN, "scientist", db)
    make_user("second", "admin")
    users.set_role(ADMIN_ACTOR, ADMIN, "scientist", db)  # another admin remains
    assert users.current(ADMIN, db) == Actor(ADMIN, "scientist")


def test_scientist_creates_link_on_page_shown_once_and_revokes(db):
    at = signed_in_app("scientist", name="sam")
    at.switch_page(page("share.py")).run()
    at.text_input(key="share-label").set_value("Board")
    next(b for b in at.button if b.label == "Create link").click()
    at.run()
    url = at.code[0].value
    assert url.startswith("http://localhost:8501/?share=")
    token = url.split("share=")[1]
    assert len(token) >= 43  # 32 random bytes
    with session(db) as s:  # only the hash is stored
        row = user_store.list_links(s)[0]
        assert row.token_hash == sharing.hash_token(token) and token not in str(row)
    at.run()  # shown once: gone at the next click
    assert not at.code
    at.button(key="share-revoke").click()
    at.run()
    assert sharing.resolve(token, db) is None


def _link(db, **kw) -> tuple[str, int]:
    make_user(ADMIN, "admin")
    made = sharing.create(ADMIN_ACTOR, "exec", db=db, **kw)
    return made.url.split("share=")[1], made.info.id


def test_share_link_valid_shows_overview_only(db):
    token, link_id = _link(db)
    at = link_app(token)
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert nav_titles(at) == ["Overview"]
    assert not at.sidebar.button and not at.sidebar.caption  # no sign-out, no controls
    assert not at.button and not at.file_uploader
    assert token not in texts(at)
    assert at.session_state["actor"].via_link
    with pytest.raises(ValueError):  # other pages are not routed for a link session
        at.switch_page(page("data.py"))
    at.run()  # later clicks re-check the link
    with pytest.raises(PermissionDenied):
        sharing.create(at.session_state["actor"], "escalate", db=db)


def test_share_link_revoked_while_open_stops_at_next_click(db):
    token, link_id = _link(db)
    at = link_app(token)
    assert at.title[0].value == "Overview"
    sharing.revoke(ADMIN_ACTOR, link_id, db)
    at.run()
    assert [t.value for t in at.title] == ["This link is not valid"]
    assert set(nav_titles(at)) == {"Link not valid"} and "Overview" not in texts(at)


def test_share_link_expired(db):
    token, link_id = _link(db)
    with session(db, write=True) as s:
        row = user_store.get_link(s, link_id)
        row.expires_at = now() - timedelta(seconds=1)
        user_store.save(s, row)
    at = link_app(token)
    assert [t.value for t in at.title] == ["This link is not valid"]
    assert not at.button and not at.text_input


def test_share_link_revoked(db):
    token, link_id = _link(db)
    sharing.revoke(ADMIN_ACTOR, link_id, db)
    at = link_app(token)
    assert [t.value for t in at.title] == ["This link is not valid"]


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character changed
    lambda t: t[:20],  # truncated
    lambda t: t + "'; DROP TABLE users; --",  # junk appended
    lambda t: "",
])
def test_share_link_tampered(db, mangle):
    token, _ = _link(db)
    at = link_app(mangle(token))
    assert [t.value for t in at.title] == ["This link is not valid"]
    assert users.has_users(db)


def test_share_link_expiry_parsing():
    assert sharing.parse_duration("30d") == timedelta(days=30)
    assert sharing.parse_duration("12h") == timedelta(hours=12)
    assert sharing.parse_duration("2w") == timedelta(weeks=2)
    from core.errors import ValidationError

    for bad in ("0d", "forever", "400d", "-1d"):
        with pytest.raises(ValidationError):
            sharing.parse_duration(bad)
