"""Screenshots of every page on the demo data, for the README tour.

    .venv/bin/python scripts/screenshots.py [--db PATH]

Seeds the demo into an empty store (or uses the one given), makes a `tour` scientist account,
starts the server and saves docs/screenshots/tour_<page>.png with headless Chromium.
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
from tests.browser import browser_page, goto, running_server, settle, shot, sign_in  # noqa: E402

PASSWORD = "tour-password-123"
PAGES = ["Overview", "Monitor", "Data", "Train"]  # Compare: docs/screenshots/compare.png (its browser test)


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
    if users.current("tour", db) is None:
        users.add_user(Actor("admin", "admin"), "tour", "scientist", PASSWORD, db)
    with running_server(db) as url, browser_page(1400, 2400) as page:
        sign_in(page, url, "tour", PASSWORD)
        settle(page, 3000)
        for title in PAGES:
            goto(page, title)
            settle(page, 2500)
            print(trim(shot(page, f"tour_{title.lower()}")))


if __name__ == "__main__":
    main()
