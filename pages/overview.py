"""Overview: what an executive sees in ten seconds (also through a read-only share link).

Headline accuracy of the active forecast against its backtest, the weekly trend against the 88%
threshold, how many SKUs are under it, open alerts and the top issues in plain words. Nothing on
this page changes anything: no buttons, forms or inputs, so a share link can show it as is.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import widgets
from core import config, monitoring
from core import ingest as ing
from core.store import datasets, sales, session

db = widgets.db()
THRESHOLD = config.ACCURACY_THRESHOLD
st.title("Overview")

with session(db) as s:
    counts = sales.counts(s)
    freq = datasets.get_setting(s, "freq")
if counts["rows"] == 0:
    widgets.empty_state("No sales data yet. A data scientist or manager uploads it on the Data page.")
    st.stop()

info = monitoring.active(db)
if info is None:
    widgets.empty_state(
        "No forecast is live yet. Once a data scientist promotes a forecast version, its accuracy "
        "against incoming sales, the SKUs that need attention and any alerts appear here."
    )
    c = st.columns(4)
    c[0].metric("SKUs", widgets.fmt_int(counts["skus"]))
    c[1].metric("Stores", widgets.fmt_int(counts["stores"]))
    c[2].metric("Latest sales", str(counts["last_date"]))
    c[3].metric("Frequency", ing.describe_freq(freq) if freq else "–")
    st.stop()

grain, window = monitoring.default_grain(freq)
head = monitoring.overall(db, window, grain, THRESHOLD)
st.caption(
    f"Live forecast: version {info['version_id']} ({info['kind']}), active since "
    f"{pd.Timestamp(info['since']).strftime('%d %b %Y')}. Sales up to {counts['last_date']}."
)

if head["accuracy"] is None:
    widgets.empty_state(
        f"The live forecast starts on {info['forecast_start']}; no sales for those dates have arrived "
        "yet. Accuracy appears after the next upload of sales."
    )
    m = st.columns(3)
    m[0].metric("Backtest accuracy", widgets.fmt_pct(head["backtest_accuracy"]))
    m[1].metric("SKUs", widgets.fmt_int(counts["skus"]))
    m[2].metric("Open alerts", head["open_alerts"])
    st.stop()

acc, bt = head["accuracy"], head["backtest_accuracy"]
m = st.columns(4)
m[0].metric(
    f"Forecast accuracy, last {window} {grain}s", widgets.fmt_pct(acc),
    None if bt is None else f"{100 * (acc - bt):+.1f} pts vs expected",
    help="1 − weighted absolute percentage error of weekly SKU totals; 'expected' is the backtest.",
)
m[1].metric(f"SKUs under {widgets.fmt_pct(THRESHOLD)}", f"{head['skus_below']} of {head['skus']}")
m[2].metric("Open alerts", head["open_alerts"],
            f"{head['acknowledged_alerts']} being handled" if head["acknowledged_alerts"] else None,
            delta_color="off")
bias = head["bias"] or 0.0
m[3].metric("Forecast vs sales", f"{100 * bias:+.1f}%",
            "over-forecast: overstock risk" if bias > 0.02 else "under-forecast: lost-sales risk" if bias < -0.02 else "balanced",
            delta_color="off", help="Total forecast against total sales over the window.")

left, right = st.columns([3, 2])
with left:
    st.subheader("Accuracy trend")
    trend = monitoring.trend(db, grain)
    fig = go.Figure()
    fig.add_scatter(x=trend["period"], y=trend["accuracy"], mode="lines+markers+text",
                    text=[f"{100 * v:.0f}%" for v in trend["accuracy"]], textposition="top center",
                    line={"width": 3, "color": "#1f77b4"}, name="Accuracy")
    fig.add_hline(y=THRESHOLD, line_dash="dash", line_color="#d62728",
                  annotation_text=f"target {widgets.fmt_pct(THRESHOLD)}", annotation_position="bottom right")
    if bt is not None:
        fig.add_hline(y=bt, line_dash="dot", line_color="#2ca02c",
                      annotation_text=f"expected {widgets.fmt_pct(bt)}", annotation_position="top left")
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 10, "b": 10}, showlegend=False,
                      yaxis={"tickformat": ".0%", "range": [0, 1.08], "title": None}, xaxis_title=None)
    st.plotly_chart(fig, width="stretch", key="ov-trend")

with right:
    st.subheader("Top issues")
    worst = monitoring.sku_accuracy(db, window, grain, threshold=THRESHOLD)
    worst = worst[worst["below_threshold"]].head(5)
    if worst.empty:
        st.success(f"Every SKU is at or above {widgets.fmt_pct(THRESHOLD)} accuracy.")
    else:
        for r in worst.itertuples(index=False):
            units = r.over_units if r.direction == "overstock" else r.lost_units
            st.markdown(
                f"**{r.sku}** — accuracy {widgets.fmt_pct(r.accuracy)}; "
                f"{'over-forecast' if r.direction == 'overstock' else 'under-forecast'} by "
                f"{abs(100 * r.bias):.0f}% (~{units:,.0f} units {r.direction})"
            )
        rest = head["skus_below"] - len(worst)
        if rest > 0:
            st.caption(f"…and {rest} more SKU(s) under {widgets.fmt_pct(THRESHOLD)}.")

st.caption(f"Window {head['window_start']} to {head['window_end']}. Accuracy is measured on weekly "
           "totals per SKU, all stores together.")
