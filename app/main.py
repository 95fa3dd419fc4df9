"""Streamlit entry point: page config, the sign-in gate, and navigation per role."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # pages import `app.*` and `core.*` from the repo root
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import gate, nav, profiling, widgets  # noqa: E402

profiling.start_from_env()  # SHELFCAST_PROFILE=FILE: the server's CPU per function (bench/load_ws.py)

# No CSV download or copy from st.dataframe's toolbar, for anyone: it bypassed the download
# permission and the formula neutralisation (a viewer got a live =HYPERLINK cell). Downloads go
# through widgets.download_buttons, shown only to roles with "download". The option is global
# (per-session values would race), and the browser learns it at the start of a run, so the
# process's first run sets it and starts again (also setting it in .streamlit/config.toml spares that).
if not st.get_option("client.disableDataExport"):
    st.set_option("client.disableDataExport", True)
    st.rerun()
st.set_page_config(page_title="Shelfcast", layout="wide")
# One store connection for the whole run (released at its end, so a CLI process can get the
# file between runs): the page's reads reuse it instead of opening the file each time.
with widgets.api().unit():
    # Once per server process: training runs left 'running' by a previous server (killed,
    # restarted) become 'interrupted' before anyone sees them; later calls return at once.
    widgets.api().training.on_startup()

    actor = gate.current_actor()
    if actor is not None:
        # A share link gets a single page and no navigation menu.
        page = st.navigation(nav.pages_for(actor), position="hidden" if actor.via_link else "sidebar")
        gate.sidebar(actor)
        page.run()
