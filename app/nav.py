"""The pages and who sees them. A page is listed only for roles that hold its permission."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.access import Actor

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"

# (file in pages/, title, permission needed to see the page). No icons: Streamlit's Material
# icons load from the internet.
PAGES: list[tuple[str, str, str]] = [
    ("overview.py", "Overview", "view"),
    ("monitor.py", "Monitor", "view"),
    ("forecast.py", "Forecast", "view"),
    ("data.py", "Data", "view"),
    ("train.py", "Train", "train"),
    ("compare.py", "Compare", "view"),
    ("replenishment.py", "Replenishment", "view"),
    ("share.py", "Share links", "share"),
    ("admin.py", "Access", "manage_users"),
]


# What a share link (an executive without an account) may open: nothing else is routed.
LINK_PAGES = ("overview.py",)


def pages_for(a: Actor) -> list:
    return [
        st.Page(str(PAGES_DIR / f), title=title, url_path=f.removesuffix(".py"))
        for f, title, perm in PAGES
        if a.can(perm) and (not a.via_link or f in LINK_PAGES)
    ]
