"""Who is using this browser session. Until accounts exist, a local session acts as admin."""

from __future__ import annotations

import streamlit as st

from app import state
from core.access import Actor


def current_actor() -> Actor | None:
    a = state.actor()
    if a is None:
        a = Actor("local", "admin")
        state.set_actor(a)
    return a


def sidebar(a: Actor) -> None:
    st.sidebar.caption(f"Signed in as {a.name} ({a.role})")
