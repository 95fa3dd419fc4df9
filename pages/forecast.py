"""Forecast: the coming weeks of the published forecast per SKU and store, for store managers.

Weekly buckets (Monday to Sunday) of rounded units, the P10-P90 band when the version has
calibrated quantiles, the same week last year and the recent weekly average beside them, and a
CSV/Excel download of exactly what is shown (future weeks only) for roles that may download.
Reading the page writes nothing. SKU and store names are user text, shown as plain text.
"""

from __future__ import annotations

import streamlit as st

from app import state, widgets
from core.text import md

st.title("Forecast")
widgets.freshness_banner(show_ok=True)
api = widgets.api()
plan = api.planning
weeks = int(st.slider("Weeks ahead", plan.MIN_WEEKS, plan.MAX_WEEKS, 8, key="fc-weeks"))
view = plan.weekly(weeks)
if view.version is None:
    widgets.empty_state("No forecast is published yet. A data scientist promotes a version on the "
                        "Compare page; its coming weeks appear here.")
    st.stop()
t = view.table
if t.empty:
    widgets.empty_state(
        f"The published forecast (version {view.version}) has no dates after the last sales "
        f"({view.last_actual}): it lies in the past. A data scientist retrains and promotes a "
        "new version to plan the coming weeks.")
    st.stop()

st.caption(md(
    f"Version {view.version}, after the last sales on {view.last_actual}: "
    f"{t['week'].nunique()} week(s) from {t['week'].min()} (weeks start on Monday). "
    "Units are rounded. 'Last year' is the same week 52 weeks earlier; 'Recent' the average of "
    "the last 4 complete weeks."
    + (" P10-P90 sums each day's band, so it is wider than the week's own range." if view.has_band
       else " This version has no calibrated P10/P90.")))

c1, c2, c3 = st.columns(3)
cats = c1.multiselect("Category", sorted(t["category"].unique()), key="fc-cats", placeholder="All categories")
stores = c2.multiselect("Store", sorted(t["store"].unique()), key="fc-stores", placeholder="All stores")
pool = sorted((t[t["category"].isin(cats)] if cats else t)["sku"].unique())
skus = c3.multiselect("SKU", pool, key="fc-skus", placeholder="All SKUs")
sel = t
if cats:
    sel = sel[sel["category"].isin(cats)]
if stores:
    sel = sel[sel["store"].isin(stores)]
if skus:
    sel = sel[sel["sku"].isin(skus)]
if sel.empty:
    widgets.empty_state("Nothing matches these filters. Clear a filter to see more.")
    st.stop()

shown = sel if view.has_band else sel.drop(columns=["p10", "p90"])
names = {"sku": "SKU", "store": "Store", "category": "Category", "week": "Week from",
         "forecast": "Forecast", "p10": "P10", "p90": "P90", "last_year": "Last year",
         "recent_avg": "Recent"}
m = st.columns(3)
m[0].metric("Forecast, units", widgets.fmt_int(int(sel["forecast"].sum())))
m[1].metric("Same weeks last year", widgets.fmt_int(int(sel["last_year"].sum())))
m[2].metric("SKU × store rows", widgets.fmt_int(len(sel.groupby(["sku", "store"]))))
st.dataframe(shown.rename(columns=names), hide_index=True, use_container_width=True, key="fc-table")

actor = state.actor()
if actor is not None and actor.can("download"):
    stem = f"forecast-v{view.version}-{t['week'].min()}-{weeks}w"
    d1, d2, _ = st.columns([1, 1, 3])
    d1.download_button("Download forecast CSV", lambda: plan.to_csv_bytes(shown), f"{stem}.csv",
                       "text/csv", key="fc-csv")
    d2.download_button("Download forecast Excel", lambda: plan.to_xlsx_bytes(shown), f"{stem}.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="fc-xlsx")
