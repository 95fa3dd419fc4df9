"""app/main.py with the Replenishment page in the navigation, for the Chromium journey and the
screenshot until app/nav.py lists the page (then this only runs main.py)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app import nav  # noqa: E402

if not any(f == "replenishment.py" for f, _t, _p in nav.PAGES):
    nav.PAGES.append(("replenishment.py", "Replenishment", "view"))
runpy.run_path(str(ROOT / "app" / "main.py"), run_name="__main__")
