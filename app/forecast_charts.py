"""Plotly figures for the Forecast page. Pure: a frame in, a figure out (no Streamlit, no store),
so the tests can check what is drawn. Only weeks and units are drawn: no user text."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

FORECAST = "#1f77b4"
LAST_YEAR = "#7f7f7f"


def weekly_totals_figure(by_week: pd.DataFrame, has_band: bool) -> go.Figure:
    """The selection's units per coming week: the forecast, its P10-P90 band (sums of each
    day's band, when the version has one) and the same weeks last year, so a manager sees at a
    glance whether the coming weeks run above or below last year. `by_week` is
    `WeeklyForecast.by_week` (week, forecast, p10, p90, last_year)."""
    x = pd.to_datetime(by_week["week"])
    fig = go.Figure()

    def units(col: str) -> pd.Series:
        return pd.to_numeric(by_week[col], errors="coerce").astype("float64")

    if has_band:
        fig.add_trace(go.Scatter(x=x, y=units("p90"), mode="lines", line={"width": 0}, hoverinfo="skip",
                                 showlegend=False))
        fig.add_trace(go.Scatter(x=x, y=units("p10"), mode="lines", line={"width": 0}, fill="tonexty",
                                 fillcolor="rgba(31,119,180,0.18)", name="P10-P90",
                                 hovertemplate="P10 %{y:,.0f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=units("forecast"), mode="lines+markers", name="Forecast",
                             line={"color": FORECAST, "width": 3},
                             hovertemplate="week from %{x|%Y-%m-%d}: %{y:,.0f} units<extra>Forecast</extra>"))
    fig.add_trace(go.Scatter(x=x, y=units("last_year"), mode="lines+markers", name="Same week last year",
                             line={"color": LAST_YEAR, "dash": "dash"},
                             hovertemplate="%{y:,.0f} units<extra>Last year</extra>"))
    fig.update_layout(title={"text": "Units per week (weeks start on Monday)"}, height=320,
                      margin={"l": 10, "r": 10, "t": 50, "b": 10}, hovermode="x unified",
                      legend={"orientation": "h", "y": -0.2}, yaxis_title="units", xaxis_title=None)
    return fig
