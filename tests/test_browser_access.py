"""First start to a working team in a real headless Chromium: the one-time first-admin screen,
adding a manager on the Access page, making a share link, signing out, a wrong password, and a
manager who sees only a manager's pages. Pictures: docs/screenshots/first_admin.png, access.png,
share_links.png, sign_in.png."""

from __future__ import annotations

import pytest

from core import sharing, users
from tests.browser import browser_page, goto, needs_chromium, running_server, settle, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]


def nav_links(page) -> list[str]:
    return [a.inner_text().strip() for a in
            page.locator('[data-testid="stSidebarNav"] a').all()]


def test_first_start_access_and_share_pages(tmp_path):
    db = tmp_path / "store.duckdb"
    with running_server(db) as url, browser_page() as page:
        page.goto(url)
        page.get_by_role("heading", name="Welcome to Shelfcast").wait_for()
        settle(page)
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
        shot(page, "first_admin")
        page.get_by_label("Admin user name").fill("alice")
        page.get_by_label("Password (at least 8 characters)").fill("alice-password")
        page.get_by_label("Repeat the password").fill("alice-password")
        page.get_by_role("button", name="Create admin and sign in").click()
        page.get_by_text("Signed in as alice (admin)").wait_for()
        settle(page)
        assert {"Overview", "Data", "Share links", "Access"} <= set(nav_links(page))

        goto(page, "Access")
        page.get_by_label("User name", exact=True).fill("maya")
        page.get_by_label("Initial password", exact=False).fill("maya-password")
        page.get_by_role("button", name="Add user").click()
        page.get_by_text("Added maya as manager.").wait_for()
        settle(page)
        shot(page, "access")
        assert users.current("maya", db).role == "manager"

        goto(page, "Share links")
        page.get_by_label("Label (who it is for)").fill("Board pack")
        page.get_by_role("button", name="Create link").click()
        page.get_by_text("Copy it now").wait_for()
        settle(page)
        link = page.locator('[data-testid="stCode"]').inner_text().strip()
        assert link.startswith(f"{url}/?share=")
        shot(page, "share_links")
        assert sharing.resolve(link.split("share=")[1], db) is not None

        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("heading", name="Sign in to Shelfcast").wait_for()
        settle(page)
        assert nav_links(page) == []  # the admin's page list does not linger
        page.get_by_role("textbox", name="User name").fill("maya")
        page.get_by_role("textbox", name="Password").fill("not-her-password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text(users.BAD_LOGIN).wait_for()
        settle(page)
        shot(page, "sign_in")
        page.get_by_role("textbox", name="Password").fill("maya-password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Signed in as maya (manager)").wait_for()
        settle(page)
        links = nav_links(page)
        assert "Overview" in links and "Access" not in links and "Share links" not in links
