"""Per-browser-session state: who is signed in. The login gate sets it; pages read it."""

from __future__ import annotations

import streamlit as st

from core.access import Actor


def actor() -> Actor | None:
    return st.session_state.get("actor")


def set_actor(a: Actor | None) -> None:
    st.session_state["actor"] = a
