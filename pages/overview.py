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


def trend_figure(trend: pd.DataFrame, threshold: float, expected: float | None, grain: str) -> go.Figure:
    """Accuracy per period with labelled points, the target line and the expected (backtest)
    line; the y axis starts near the data so a few points of change are visible."""
    labels = [("w/c " if grain == "week" else "") + pd.Timestamp(p).strftime("%d %b" if grain != "month" else "%b %Y")
              for p in trend["period"]]
    fig = go.Figure(go.Scatter(
        x=labels, y=trend["accuracy"], mode="lines+markers+text", line={"width": 3, "color": "#1f77b4"},
        marker={"size": 9}, text=[f"{100 * v:.0f}%" for v in trend["accuracy"]], textposition="top center",
        textfont={"size": 14}, name="Accuracy", hovertemplate="%{x}: %{y:.1%}<extra></extra>"))
    fig.add_hline(y=threshold, line_dash="dash", line_color="#d62728",
                  annotation_text=f"target {100 * threshold:.0f}%", annotation_position="right")
    lows = [threshold, *trend["accuracy"].dropna()]
    if expected is not None:
        fig.add_hline(y=expected, line_dash="dot", line_color="#2ca02c",
                      annotation_text=f"expected {100 * expected:.0f}%", annotation_position="right")
        lows.append(expected)
    fig.update_layout(height=320, margin={"l": 10, "r": 100, "t": 20, "b": 10}, showlegend=False,
                      yaxis={"tickformat": ".0%", "range": [max(0.0, min(lows) - 0.12), 1.02], "title": None},
                      xaxis={"type": "category", "title": None})
    return fig
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
trend = monitoring.trend(db, grain)
m = st.columns(4)
m[0].metric(
    f"Forecast accuracy, last {window} {grain}s", widgets.fmt_pct(acc),
    None if bt is None else f"{100 * (acc - bt):+.1f} pts vs expected",
    help="1 − weighted absolute percentage error of weekly SKU totals; 'expected' is the backtest.",
)
m[1].metric(f"SKUs under {widgets.fmt_pct(THRESHOLD)}", f"{head['skus_below']} of {head['skus']}")
m[2].metric("Open alerts", head["open_alerts"],
            f"{head['acknowledged_alerts']} more being handled" if head["acknowledged_alerts"] else None,
            delta_color="off", delta_arrow="off")
bias = head["bias"] or 0.0
m[3].metric("Forecast vs sales", f"{100 * bias:+.1f}%",
            "over-forecast: overstock risk" if bias > 0.02 else "under-forecast: lost-sales risk" if bias < -0.02 else "balanced",
            delta_color="off", delta_arrow="off", help="Total forecast against total sales over the window.")

left, right = st.columns([3, 2])
with left:
    st.subheader("Accuracy trend")
    st.plotly_chart(trend_figure(trend, THRESHOLD, bt, grain), width="stretch", key="ov-trend")

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
