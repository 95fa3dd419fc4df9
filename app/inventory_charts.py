"""Plotly figures for the Replenishment page. Pure: a frame in, a figure out (no Streamlit, no
store), so the tests can check what is drawn. Names in titles pass through `core.text.chart`."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core.text import chart

STOCK = "#1f77b4"
DEMAND = "#7f7f7f"
SAFETY = "#d62728"
REORDER = "#ff7f0e"
OVERRIDE = "#9467bd"


def projection_figure(proj: pd.DataFrame, sku: str, store: str, periods: int | None = None) -> go.Figure:
    """Projected stock of one SKU × store if the proposed order is placed now, with the range
    the forecast band allows, the demand forecast and its band, and the proposal's reorder point
    and safety stock as lines: where the stock line crosses the red line, the shelf is at risk.

    `proj` is `core.inventory.proposals.projection`'s frame. `periods` (the policy's lead time +
    review period) cuts the picture where the next order could arrive: past it the projection
    places no further order, and its ever-falling line would squash what this order decides."""
    if periods is not None:
        proj = proj.iloc[: max(int(periods), 1)]
    ds = pd.to_datetime(proj["ds"])
    fig = go.Figure()
    # Stock range: demand at the top of the forecast band empties the shelf fastest.
    fig.add_trace(go.Scatter(x=ds, y=proj["on_hand_high"].round(1), mode="lines", line={"width": 0},
                             hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(x=ds, y=proj["on_hand_low"].round(1), mode="lines", line={"width": 0},
                             fill="tonexty", fillcolor="rgba(31,119,180,0.18)",
                             name="Stock if demand runs at the band's edges", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=ds, y=proj["on_hand"].round(1), mode="lines+markers", name="Projected stock",
                             line={"color": STOCK, "width": 3}))
    fig.add_trace(go.Scatter(x=ds, y=proj["forecast_upper"].round(1), mode="lines", line={"width": 0},
                             hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(x=ds, y=proj["forecast_lower"].round(1), mode="lines", line={"width": 0},
                             fill="tonexty", fillcolor="rgba(127,127,127,0.18)",
                             name="Forecast demand, 80% band", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=ds, y=proj["forecast"].round(1), mode="lines", name="Forecast demand per period",
                             line={"color": DEMAND, "dash": "dot"}))
    for col, name, color in (("reorder_point", "Reorder point", REORDER), ("safety_stock", "Safety stock", SAFETY)):
        fig.add_trace(go.Scatter(x=ds, y=proj[col].round(1), mode="lines", name=name,
                                 line={"color": color, "dash": "dash"}))
    arrives = proj[proj["order_arrives"] > 0]
    if not arrives.empty:
        fig.add_trace(go.Scatter(x=pd.to_datetime(arrives["ds"]), y=arrives["on_hand"].round(1), mode="markers",
                                 name="Proposed order arrives", marker={"symbol": "triangle-up", "size": 14,
                                                                        "color": "#2ca02c"},
                                 text=[f"+{q:,.0f} units" for q in arrives["order_arrives"]],
                                 hovertemplate="%{text}<extra></extra>"))
    over = proj[proj["overridden"].astype(bool)]
    if not over.empty:
        fig.add_trace(go.Scatter(x=pd.to_datetime(over["ds"]), y=over["forecast"].round(1), mode="markers",
                                 name="Planner override", marker={"symbol": "diamond", "size": 10,
                                                                  "color": OVERRIDE}))
    if float(proj["on_hand_low"].min()) < 0:  # stock cannot go below zero: that is unserved demand
        fig.add_hline(y=0, line={"color": "#444", "width": 1},
                      annotation_text="empty shelf: below this line, demand goes unserved",
                      annotation_position="bottom left", annotation_font={"size": 11, "color": "#444"})
    fig.update_layout(
        title=f"{chart(sku)} at {chart(store)}: projected stock with the proposed order",
        xaxis={"title": "Date", "tickformat": "%d %b", **({"tickvals": ds} if len(ds) <= 16 else {})},
        yaxis_title="Units", hovermode="x unified", height=420,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.15, "x": 0},
    )
    return fig
