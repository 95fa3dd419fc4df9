"""docs/screenshots/replenishment.png: the Replenishment page on the demo data, as a manager.

    .venv/bin/python scripts/screenshot_replenishment.py [--db PATH]

Seeds the demo into an empty store (or uses the one given: the demo seed loads stock and
policies), makes a `planner` manager account, starts the app and shoots the page.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import users  # noqa: E402
from core.access import SYSTEM, Actor  # noqa: E402
from core.seed import is_empty, seed_demo  # noqa: E402
from scripts.screenshots import trim  # noqa: E402
from tests.browser import (  # noqa: E402
    browser_page,
    goto,
    running_server,  # noqa: E402
    settle,
    shot,
    sign_in,
)

PASSWORD = "tour-password-123"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path)
    args = ap.parse_args()
    db = args.db or Path(tempfile.mkdtemp()) / "tour.duckdb"
    if is_empty(db):
        seed_demo(SYSTEM, db)
    if not users.has_users(db):
        users.create_first_admin("admin", PASSWORD, db)
    if users.current("planner", db) is None:
        users.add_user(Actor("admin", "admin"), "planner", "manager", PASSWORD, db)
    with running_server(db) as url, browser_page(1400, 2400) as page:
        sign_in(page, url, "planner", PASSWORD)
        settle(page, 2000)
        goto(page, "Replenishment")
        page.get_by_text("overstock by").wait_for()
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 1")
        settle(page, 2500)
        print(trim(shot(page, "replenishment")))


if __name__ == "__main__":
    main()
