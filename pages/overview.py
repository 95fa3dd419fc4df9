"""Overview: what an executive sees in ten seconds. Monitoring adds accuracy and alerts."""

from __future__ import annotations

import streamlit as st

from app import widgets
from core import ingest as ing
from core.store import datasets, sales, session

st.title("Overview")
with session(widgets.db()) as s:
    counts = sales.counts(s)
    freq = datasets.get_setting(s, "freq")
if counts["rows"] == 0:
    widgets.empty_state("No sales data yet. A data scientist or manager uploads it on the Data page.")
    st.stop()
c = st.columns(4)
c[0].metric("SKUs", widgets.fmt_int(counts["skus"]))
c[1].metric("Stores", widgets.fmt_int(counts["stores"]))
c[2].metric("Latest actuals", str(counts["last_date"]))
c[3].metric("Frequency", ing.describe_freq(freq) if freq else "–")
