"""Streamlit entry point: page config, the sign-in gate, and navigation per role."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # pages import `app.*` and `core.*` from the repo root
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import gate, nav, widgets  # noqa: E402

st.set_page_config(page_title="Shelfcast", layout="wide")
# Once per server process: training runs left 'running' by a previous server (killed, restarted)
# become 'interrupted' before anyone sees them; later calls return at once.
widgets.api().training.on_startup()

actor = gate.current_actor()
if actor is not None:
    # A share link gets a single page and no navigation menu.
    page = st.navigation(nav.pages_for(actor), position="hidden" if actor.via_link else "sidebar")
    gate.sidebar(actor)
    page.run()
