"""Per-series tables on a page: the rows a person reads, found by SKU or store, not the fleet.

st.dataframe ships every row to the browser on every view: with 100,000 series the Data page
sent 7 MB and the Train page 10 MB per view (bench/browser_pages.py), seconds of Arrow encoding
and browser work for a grid nobody scrolls to its end. Above SHOWN rows a page shows the first
SHOWN of its order and a search box; the download buttons still hold every row.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

SHOWN = 1_000


def shown(df: pd.DataFrame, key: str, what: str, order: str) -> pd.DataFrame:
    """At most SHOWN rows of `df` (columns sku and, if present, store), narrowed by what the
    user types: a case-insensitive part of the SKU or store name, taken as plain text."""
    if len(df) <= SHOWN:
        return df
    total = len(df)
    find = st.text_input(f"Find a SKU or store among the {total:,} {what}", key=f"{key}-find",
                         placeholder="part of a SKU or store name").strip()
    if find:
        hit = df["sku"].astype(str).str.contains(find, case=False, regex=False)
        if "store" in df.columns:
            hit |= df["store"].astype(str).str.contains(find, case=False, regex=False)
        df = df[hit]
    n = min(len(df), SHOWN)
    if find:
        st.caption(f"{len(df):,} of {total:,} {what} match; showing {n:,} ({order}).")
    else:
        st.caption(f"Showing the first {n:,} of {total:,} {what} ({order}); find one above, or "
                   "download the whole table.")
    return df.head(SHOWN)
