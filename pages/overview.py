"""Overview: what an executive sees in ten seconds (also through a read-only share link).

Headline accuracy of the active forecast against its backtest, the trend against the target,
how many SKUs are under it, open alerts and the top issues in plain words. Nothing on this page
changes anything, and rendering it writes nothing: no buttons, forms or inputs, one read of
core.monitoring. SKU names are user text and are shown literally (core.text).
"""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st

from app import monitor_charts as charts
from app import overview_chart, state, widgets
from core import text
from core.api import ACCURACY_THRESHOLD, Monitoring, describe_freq

THRESHOLD = ACCURACY_THRESHOLD
log = logging.getLogger(__name__)
st.title("Overview")
# The browser loads a chart library when the first chart of its kind arrives. An empty, invisible
# Vega-Lite element sent before the page's reads lets a share link's fresh tab fetch and compile
# it while the server reads, instead of after; it is gone before the page is complete.
early = st.empty()
with early.container():
    st.vega_lite_chart(overview_chart.PRELOAD, height=1, width="stretch")
    if not getattr(state.actor(), "via_link", True):
        # Signed in, every other page draws Plotly (4.7 MB of JavaScript): loaded while this page
        # reads and is read, not on the first click to Monitor. A share link never needs it.
        st.plotly_chart(overview_chart.PLOTLY_PRELOAD, height=10, key="ov-plotly-preload",
                        config={"staticPlot": True, "displayModeBar": False})
widgets.freshness_banner()  # w-planner: a forecast that has run out says so first


pct = widgets.fmt_acc
TOP = 5
ov = Monitoring(widgets.db()).overview(THRESHOLD, top=10_000)  # every SKU under: ranked by units below
cat, info, head = ov.catalog, ov.info, ov.headline
if cat.rows == 0:
    widgets.empty_state("No sales data yet. A data scientist or manager uploads it on the Data page.")
    early.empty()
    st.stop()
if info is None:
    widgets.empty_state(
        "No forecast is live yet. Once a data scientist promotes a forecast version, its accuracy "
        "against incoming sales, the SKUs that need attention and any alerts appear here."
    )
    c = st.columns(4)
    c[0].metric("SKUs", widgets.fmt_int(len(cat.skus)))
    c[1].metric("Stores", widgets.fmt_int(len(cat.stores)))
    c[2].metric("Latest sales", str(cat.last_date))
    c[3].metric("Frequency", describe_freq(cat.freq) if cat.freq else "–")
    early.empty()
    st.stop()


def inventory_effect() -> None:
    """The one inventory figure the Overview shows (also through a share link): what ordering by
    the live forecast did to overstock and availability against seasonal naive, replayed over
    its backtest. No orders, no SKUs. A failure hides the block; the page stays."""
    try:
        eff = widgets.api().inventory.effect(state.actor())
    except Exception:  # noqa: BLE001 - the Overview must render without it
        log.exception("overview: the inventory effect failed")
        return
    if eff is None:
        return
    st.subheader("Inventory effect")
    # Markdown, not st.metric: the headline metrics above stay the page's first four numbers.
    st.markdown(
        f"**{100 * eff.overstock_change:+.0f}%** overstock against seasonal naive · "
        f"**{100 * eff.availability:.1f}%** on-shelf availability "
        f"({100 * (eff.availability - eff.naive_availability):+.1f} pts)")
    st.caption(eff.sentence + " The replenishment policy replayed over the live version's backtest; "
               "overstock is stock above safety stock that demand until the next delivery did not use.")


st.caption(
    f"Live forecast: version {info['version_id']} ({text.md(info['kind'])}), active since "
    f"{pd.Timestamp(info['since']).strftime('%d %b %Y')}. Sales up to {cat.last_date}."
)
if info["last_failure"]:
    st.warning(text.md(info["last_failure"]))

if head.accuracy is None:
    widgets.empty_state(
        f"The live forecast starts on {info['forecast_start']}; no sales for those dates have arrived "
        "yet. Accuracy appears after the next upload of sales."
    )
    m = st.columns(3)
    m[0].metric("Backtest accuracy", pct(head.backtest_accuracy))
    m[1].metric("SKUs", widgets.fmt_int(len(cat.skus)))
    m[2].metric("Open alerts", head.open_alerts)
    early.empty()
    inventory_effect()
    st.stop()

acc, bt = head.accuracy, head.backtest_accuracy
m = st.columns(4)
m[0].metric(
    f"Forecast accuracy, {widgets.window_words(ov.window, ov.grain, head.window_start, info['forecast_start'], info['last_actual'])}",
    pct(acc),
    None if bt is None else f"{100 * (acc - bt):+.1f} pts vs expected",
    help="1 − weighted absolute percentage error of period totals per SKU; 'expected' is the backtest.",
)
m[1].metric(f"SKUs under {widgets.fmt_pct(THRESHOLD)}", f"{head.skus_below} of {head.skus}")
m[2].metric("Open alerts", head.open_alerts,
            f"{head.acknowledged_alerts} more being handled" if head.acknowledged_alerts else None,
            delta_color="off", delta_arrow="off")
bias = head.bias or 0.0
m[3].metric("Forecast vs sales", f"{100 * bias:+.1f}%",
            "over-forecast: overstock risk" if bias > 0.02 else "under-forecast: lost-sales risk" if bias < -0.02 else "balanced",
            delta_color="off", delta_arrow="off", help="Total forecast against total sales over the window.")

left, right = st.columns([3, 2])
with left:
    st.subheader("Accuracy trend")
    # Vega-Lite, not Plotly: a share link opened in a new tab loads this page's chart library
    # first, and Plotly's is 4.7 MB of JavaScript (app/overview_chart.py)
    st.vega_lite_chart(overview_chart.trend_spec(ov.trend, THRESHOLD, bt, ov.grain), width="stretch",
                       key="ov-trend")
early.empty()

with right:
    st.subheader("Top issues")
    st.caption("The SKUs under target with the most units at stake (lost sales + overstock).")
    worst = ov.worst.assign(stake=ov.worst["lost_units"] + ov.worst["over_units"]).sort_values(
        "stake", ascending=False).head(TOP)
    if worst.empty:
        st.success(f"Every SKU is at or above {widgets.fmt_pct(THRESHOLD)} accuracy.")
    for r in worst.itertuples(index=False):
        units = r.over_units if r.direction == "overstock" else r.lost_units
        st.markdown(
            f"**{charts.literal(r.sku)}** — accuracy {pct(r.accuracy)}; "
            f"{'over-forecast' if r.direction == 'overstock' else 'under-forecast'} by "
            f"{abs(100 * r.bias):.0f}% (\\~{units:,.0f} units {r.direction})"
        )
    rest = head.skus_below - len(worst)
    if rest > 0:
        st.caption(f"…and {rest} more SKU(s) under {widgets.fmt_pct(THRESHOLD)}.")

inventory_effect()
st.caption(f"Window {head.window_start} to {head.window_end}. Accuracy is measured on {ov.grain}ly "
           "totals per SKU, all stores together.")
