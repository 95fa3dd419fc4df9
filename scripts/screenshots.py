"""Screenshots of every page on the demo data, for the README tour.

    .venv/bin/python scripts/screenshots.py [--db PATH]

Seeds the demo into an empty store (or uses the one given), signs in as its admin (who sees every
page), starts the server and saves docs/screenshots/tour_<page>.png with headless Chromium, plus
tour_monitor_worklist.png: the Alerts tab with the first worklist row clicked open.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import users  # noqa: E402
from core.access import SYSTEM  # noqa: E402
from core.seed import is_empty, seed_demo  # noqa: E402
from tests.browser import browser_page, goto, running_server, settle, shot, sign_in  # noqa: E402

PASSWORD = "tour-password-123"
PAGES = ["Overview", "Monitor", "Forecast", "Data", "Train", "Compare", "Replenishment", "Share links", "Access"]


def trim(path: Path, margin: int = 40) -> Path:
    """Cut the empty space below the page's content (the window is tall so nothing is cut off)."""
    from PIL import Image, ImageChops

    img = Image.open(path).convert("RGB")
    main = img.crop((img.width // 4, 0, img.width, img.height))  # right of the sidebar
    bbox = ImageChops.difference(main, Image.new("RGB", main.size, main.getpixel((main.width - 1, main.height - 1)))).getbbox()
    if bbox:
        img.crop((0, 0, img.width, min(img.height, bbox[3] + margin))).save(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path)
    args = ap.parse_args()
    db = args.db or Path(tempfile.mkdtemp()) / "tour.duckdb"
    if is_empty(db):
        seed_demo(SYSTEM, db)
    if not users.has_users(db):
        users.create_first_admin("admin", PASSWORD, db)
    with running_server(db) as url, browser_page(1400, 2400) as page:
        sign_in(page, url, "admin", PASSWORD)
        settle(page, 3000)
        for title in PAGES:
            goto(page, title)
            settle(page, 4000)
            print(trim(shot(page, f"tour_{title.lower().replace(' ', '_')}")))
        goto(page, "Monitor")
        page.get_by_role("tab", name="Alerts").click()
        page.get_by_text("Select a row to open its SKU's chart").wait_for()
        grid = page.locator('[data-testid="stDataFrame"]:visible').first
        grid.scroll_into_view_if_needed()
        box = grid.locator("canvas").first.bounding_box()
        page.mouse.click(box["x"] + 17, box["y"] + 35 * 1.5)  # the first row's selection box
        settle(page, 4000)
        print(trim(shot(page, "tour_monitor_worklist")))


if __name__ == "__main__":
    main()
