"""The top of a page that acts for the signed-in user: who acts, the service, the title and its
caption, and the reads the page cannot render without (one place, so pages differ only in what
they show)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from app import state, widgets
from core.access import Actor
from core.api import Shelfcast

T = TypeVar("T")


def header(title: str, caption: str) -> tuple[Actor | None, Shelfcast]:
    """Title and caption; the acting user and the service over this server's store."""
    st.title(title)
    st.caption(caption)
    return state.actor(), widgets.api()


def need(fn: Callable[[], T]) -> T:
    """The result of a read the rest of the page depends on; on a refusal (shown by
    widgets.action) the page stops there."""
    ok, value = widgets.action(fn)
    if not ok:
        st.stop()
    return value
