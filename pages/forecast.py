"""Forecast: the coming weeks of the published forecast per SKU and store, for store managers.

Weekly buckets (Monday to Sunday) of rounded units, the P10-P90 band when the version has
calibrated quantiles, the same week last year and the recent weekly average beside them, the
selection's weekly totals as a chart, and a CSV/Excel download of the whole selection (future
weeks only) for roles that may download. Filters run in the store; the table shows the first
rows of a large selection and the files are made when a download is clicked. Reading the page
writes nothing. SKU and store names are user text, shown as plain text.
"""

from __future__ import annotations

import streamlit as st

from app import forecast_charts, state, widgets
from core.text import md

ROWS = 2_000  # rows the table shows; the totals, the chart and the downloads cover the whole selection

st.title("Forecast")
widgets.freshness_banner(show_ok=True)
api = widgets.api()
plan = api.planning
weeks = int(st.slider("Weeks ahead", plan.MIN_WEEKS, plan.MAX_WEEKS, 8, key="fc-weeks"))
head = plan.weekly(weeks, limit=0, options=True)  # version, weeks and the filters' choices: no rows
if head.version is None:
    widgets.empty_state("No forecast is published yet. A data scientist promotes a version on the "
                        "Compare page; its coming weeks appear here.")
    st.stop()
opts = head.options
if opts.empty:
    widgets.empty_state(
        f"The published forecast (version {head.version}) has no dates after the last sales "
        f"({head.last_actual}): it lies in the past. A data scientist retrains and promotes a "
        "new version to plan the coming weeks.")
    st.stop()

st.caption(md(
    f"Version {head.version}, after the last sales on {head.last_actual}: "
    f"{len(head.weeks)} week(s) from {head.weeks[0]} (weeks start on Monday). "
    "Units are rounded. 'Last year' is the same week 52 weeks earlier; 'Recent' the average of "
    "the last 4 complete weeks."
    + (" P10-P90 sums each day's band, so it is wider than the week's own range." if head.has_band
       else " This version has no calibrated P10/P90.")))

c1, c2, c3 = st.columns(3)
cats = c1.multiselect("Category", sorted(opts["category"].unique()), key="fc-cats", placeholder="All categories")
stores = c2.multiselect("Store", sorted(opts["store"].unique()), key="fc-stores", placeholder="All stores")
pool = sorted((opts[opts["category"].isin(cats)] if cats else opts)["sku"].unique())
skus = c3.multiselect("SKU", pool, key="fc-skus", placeholder="All SKUs")
chosen = {"categories": cats, "stores": stores, "skus": skus}
view = plan.weekly(weeks, limit=ROWS, totals=True, **chosen)
if view.table.empty:
    widgets.empty_state("Nothing matches these filters. Clear a filter to see more.")
    st.stop()


def shown(t):
    """The table as people get it, on the page and in the files: P10/P90 only when calibrated."""
    return t if view.has_band else t.drop(columns=["p10", "p90"])


names = {"sku": "SKU", "store": "Store", "category": "Category", "week": "Week from",
         "forecast": "Forecast", "p10": "P10", "p90": "P90", "last_year": "Last year",
         "recent_avg": "Recent"}
total = view.overall
m = st.columns(3)
m[0].metric("Forecast, units", widgets.fmt_int(total["forecast"] or 0))
m[1].metric("Same weeks last year", widgets.fmt_int(total["last_year"] or 0))
m[2].metric("SKU × store rows", widgets.fmt_int(total["series"]))
st.plotly_chart(forecast_charts.weekly_totals_figure(view.by_week, view.has_band), key="fc-chart")
if total["rows"] > len(view.table):
    st.caption(f"The first {len(view.table):,} of {total['rows']:,} rows (by SKU, store and week); "
               "narrow the filters to see others. The totals, the chart and the downloads cover all of them.")
st.dataframe(shown(view.table).rename(columns=names), hide_index=True, use_container_width=True, key="fc-table")

actor = state.actor()
if actor is not None and actor.can("download"):
    stem = f"forecast-v{view.version}-{view.weeks[0]}-{weeks}w"

    def whole() -> object:
        """Every row of the selection, read when a download button is clicked (not on each rerun)."""
        return shown(plan.weekly(weeks, **chosen).table)

    d1, d2, _ = st.columns([1, 1, 3])
    d1.download_button("Download forecast CSV", lambda: plan.to_csv_bytes(whole()), f"{stem}.csv",
                       "text/csv", key="fc-csv")
    d2.download_button("Download forecast Excel", lambda: plan.to_xlsx_bytes(whole()), f"{stem}.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="fc-xlsx")
