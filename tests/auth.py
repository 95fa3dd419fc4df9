"""Signing tests in: accounts in the test store and an AppTest that has passed the login gate.

Usage in a page test (the `db` fixture has set SHELFCAST_DB to a tmp store):

    from tests.auth import signed_in_app
    at = signed_in_app("scientist")          # admin + a scientist exist; logged in as the latter
    at.switch_page(page("train.py")); at.run()

or, step by step: `make_user("sam", "scientist")`, `at = new_app()`, `login(at, "sam")`.
For a share-link session: `at = link_app(token)` (token from `core.sharing.create(...).url`).
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core import users
from core.access import Actor
from core.store import session
from core.store import users as user_store

ROOT = Path(__file__).resolve().parent.parent
MAIN = str(ROOT / "app" / "main.py")
PASSWORD = "test-password-1"  # test stores only; the app has no default password
ADMIN = "root-admin"
TIMEOUT = 60


def page(file: str) -> str:
    """Path for AppTest.switch_page: pages/ relative to app/main.py."""
    return f"../pages/{file}"


def make_user(name: str, role: str, password: str = PASSWORD, db=None) -> Actor:
    """Create an account in the test store (the first one is always an admin named ADMIN, the
    way a real store starts)."""
    with session(db) as s:
        first = user_store.count_users(s) == 0
    if first:
        users.create_first_admin(ADMIN, PASSWORD, db)
    if name == ADMIN:
        return Actor(ADMIN, "admin")
    admin = Actor(ADMIN, "admin")
    users.add_user(admin, name, role, password, db)
    return Actor(name, role)


def new_app() -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.run()
    return at


def login(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    """Fill the sign-in form and submit it (the app reruns into the first page)."""
    at.text_input(key="login-name").set_value(name)
    at.text_input(key="login-pw").set_value(password)
    at.button[0].click()  # the form's only button: "Sign in"
    at.run()
    return at


def signed_in_app(role: str, name: str | None = None) -> AppTest:
    """An AppTest signed in as a fresh user with `role` (default name: the role itself)."""
    name = name or f"test-{role}"
    make_user(name, role)
    at = login(new_app(), name)
    assert not at.exception, at.exception
    return at


def link_app(token: str) -> AppTest:
    """An AppTest opened through a share link."""
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.query_params["share"] = token
    at.run()
    return at


def nav_titles(at: AppTest) -> list[str]:
    """Titles of the pages st.navigation offered in the last run (in order)."""
    return [
        info["page_name"] for info in at._registered_pages.values()
        if info.get("script_path") != MAIN  # without st.navigation only the main script is listed
    ]
