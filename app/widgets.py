"""Pieces several pages share: the store path, empty states, downloads, number formats."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st

from core import config, exports


def db() -> Path:
    return config.db_path()


def empty_state(message: str) -> None:
    """What to do next, where a page has nothing to show yet."""
    st.info(message)


def download_buttons(df: pd.DataFrame | Callable[[], pd.DataFrame], stem: str, key: str) -> None:
    """CSV (formula-safe) and Parquet downloads of a table (or of a function that makes it).
    The files are made only when the button is clicked: encoding 140,000 forecast rows on every
    rerun cost the Train page 2.5 s with 10,000 series (bench/render.py)."""
    frame = df if callable(df) else (lambda: df)
    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button("Download CSV", lambda: exports.to_csv_bytes(frame()), f"{stem}.csv", "text/csv",
                       key=f"{key}-csv")
    c2.download_button(
        "Download Parquet", lambda: exports.to_parquet_bytes(frame()), f"{stem}.parquet",
        "application/octet-stream", key=f"{key}-pq",
    )


def fmt_int(n: float | int | None) -> str:
    return "–" if n is None else f"{int(n):,}"


def fmt_pct(x: float | None) -> str:
    return "–" if x is None or pd.isna(x) else f"{100 * x:.1f}%"
