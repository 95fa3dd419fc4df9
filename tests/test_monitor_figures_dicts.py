"""The Monitor and Overview figures are built from dicts in one `go.Figure(...)` (make_subplots,
add_hline, add_vline and pivot_table were most of a Monitor view's chart CPU under twenty
sessions). These tests hold them to the figures plotly's own helpers make: each reference below
is the builder as it was, and the two must serialise to the same figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from app import monitor_charts as charts
from core import text

EVIL = '<a href="http://evil.example/">x</a>'


def _same(a: go.Figure, b: go.Figure) -> None:
    def norm(o):
        if isinstance(o, float):
            return None if np.isnan(o) else round(o, 9)
        if isinstance(o, dict):  # an empty object (`title=None` made one) sets nothing
            return {k: norm(v) for k, v in o.items() if not (isinstance(v, dict) and not v)}
        if isinstance(o, (list, tuple)):
            return [norm(v) for v in o]
        if isinstance(o, np.ndarray):
            return norm(o.tolist())
        return o

    da, db = a.to_plotly_json(), b.to_plotly_json()
    assert norm(da["layout"]) == norm(db["layout"])
    assert len(da["data"]) == len(db["data"])
    for ta, tb in zip(da["data"], db["data"], strict=True):
        assert norm(ta) == norm(tb)


def _ref_monitor_trend(trend, roll, sku, window, grain, threshold, backtest):
    fleet = charts.shown(trend["accuracy"])
    mine = charts.shown(roll["accuracy"]) if len(roll) else np.empty(0)
    two = bool(np.isfinite(mine).any())
    fig = make_subplots(rows=2 if two else 1, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        row_heights=[0.6, 0.4] if two else None)
    fig.add_scatter(x=trend["period"], y=fleet, mode="lines+markers", name="All SKUs in filter",
                    line={"width": 3, "color": charts.BLUE}, marker={"size": 8},
                    hovertemplate="%{x|%d %b %Y}: %{y:.1%}<extra></extra>", row=1, col=1)
    lows = [threshold, *fleet]
    fig.add_hline(y=threshold, line_dash="dash", line_color=charts.RED, row=1, col=1,
                  annotation_text=f"threshold {100 * threshold:.1f}%", annotation_position="bottom right")
    if backtest is not None:
        bt = float(charts.shown([backtest])[0])
        fig.add_hline(y=bt, line_dash="dot", line_color=charts.GREEN, row=1, col=1,
                      annotation_text=f"backtest {100 * bt:.1f}%", annotation_position="top right")
        lows.append(bt)
    fig.update_yaxes(tickformat=".0%", title="All SKUs", range=charts.pct_range(lows), row=1, col=1)
    if two:
        fig.add_scatter(x=roll["period"], y=mine, mode="lines+markers",
                        name=text.chart(f"{sku}, rolling {window} {grain}s"),
                        line={"width": 2, "color": charts.ORANGE},
                        hovertemplate="%{x|%d %b %Y}: %{y:.1%}<extra></extra>", row=2, col=1)
        fig.add_hline(y=threshold, line_dash="dash", line_color=charts.RED, row=2, col=1)
        fig.update_yaxes(tickformat=".0%", title=text.chart(sku), range=charts.pct_range([threshold, *mine]),
                         row=2, col=1)
    weekly = grain == "week" and len(trend)
    fig.update_xaxes(tickformat="%d %b", dtick=7 * 86400000 if grain == "week" else None,
                     tick0=pd.Timestamp(trend["period"].min()) if weekly else None, showticklabels=True)
    fig.update_layout(height=460 if two else 340, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      legend={"orientation": "h", "y": -0.12})
    return fig


def _ref_heatmap(per, order, grain):
    heat = per[per["sku"].isin(order)].pivot_table(index="sku", columns="period", values="accuracy")
    heat = heat.reindex(order[::-1])
    z = charts.shown(heat.to_numpy())
    fig = go.Figure(go.Heatmap(
        z=z, x=charts.period_labels(pd.Series(heat.columns), grain), y=[text.chart(s) for s in heat.index],
        zmin=0.5, zmax=1.0, colorscale=charts.ACCURACY_SCALE,
        text=np.vectorize(lambda v: "" if np.isnan(v) else f"{100 * v:.0f}%")(z) if z.size else z,
        texttemplate="%{text}", hovertemplate="%{y}, %{x}: %{z:.1%}<extra></extra>",
        colorbar={"title": "Accuracy", "tickformat": ".0%"},
    ))
    fig.update_layout(height=max(260, 26 * len(heat) + 80), margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return fig


def _ref_fva(fva, forecast_start, title):
    band = fva.dropna(subset=["yhat"])
    fig = go.Figure()
    fig.add_scatter(x=band["ds"], y=band["yhat_upper"], mode="lines", line={"width": 0},
                    showlegend=False, hoverinfo="skip")
    fig.add_scatter(x=band["ds"], y=band["yhat_lower"], mode="lines", line={"width": 0}, fill="tonexty",
                    fillcolor="rgba(31,119,180,0.18)", name="Forecast interval")
    fig.add_scatter(x=band["ds"], y=band["yhat"], mode="lines", name="Forecast",
                    line={"color": charts.BLUE, "width": 2})
    fig.add_scatter(x=fva["ds"], y=fva["y"], mode="lines", name="Actual", line={"color": "#222", "width": 1.5})
    if forecast_start is not None:
        fig.add_vline(x=pd.Timestamp(forecast_start).timestamp() * 1000, line_dash="dot",
                      line_color=charts.GREY, annotation_text="forecast start")
    fig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10}, yaxis_title="Units",
                      legend={"orientation": "h", "y": -0.15},
                      title={"text": text.chart(title), "font": {"size": 14}})
    return fig


WEEKS = pd.to_datetime(["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"])
TREND = pd.DataFrame({"period": WEEKS, "accuracy": [0.91, -0.2, 0.87, np.nan]})


@pytest.mark.parametrize("roll_acc", [[0.5, 0.7, 1.3, 0.2], [np.nan] * 4, []])
@pytest.mark.parametrize("backtest", [0.86, -0.4, None])
@pytest.mark.parametrize("grain", ["week", "month"])
def test_monitor_trend_is_the_subplot_figure(roll_acc, backtest, grain):
    roll = pd.DataFrame({"period": WEEKS[: len(roll_acc)], "accuracy": roll_acc})
    args = (TREND, roll, EVIL, 4, grain, 0.8, backtest)
    _same(charts.monitor_trend(*args), _ref_monitor_trend(*args))


def test_heatmap_is_the_pivot_figure():
    per = pd.DataFrame({
        "sku": ["A", "A", "B", "B", "C", EVIL, EVIL, "A"],
        "period": pd.to_datetime(["2026-01-12", "2026-01-05", "2026-01-05", "2026-01-19", "2026-01-26",
                                  "2026-01-05", "2026-01-12", "2026-01-12"]),
        "accuracy": [0.9, -0.3, 0.845, np.nan, np.nan, 0.755, 0.995, 0.7]})  # A twice in a week: the mean
    for order in (["A", "B", "C", EVIL, "Z"], ["B"], ["C"], [], ["Z", "A"]):
        _same(charts.heatmap(per, order, "week"), _ref_heatmap(per, order, "week"))
    _same(charts.heatmap(per.iloc[:0], ["A"], "month"), _ref_heatmap(per.iloc[:0], ["A"], "month"))


@pytest.mark.parametrize("start", ["2026-01-07", None])
def test_forecast_vs_actual_is_the_vline_figure(start):
    fva = pd.DataFrame({"ds": pd.date_range("2026-01-01", periods=10), "y": [1.0, 2, 3, 4, 5, 6, np.nan, 8, 9, 10],
                        "yhat": [np.nan] * 6 + [5.0, 6, 7, 8], "yhat_lower": [np.nan] * 6 + [4.0, 5, 6, 7],
                        "yhat_upper": [np.nan] * 6 + [6.0, 7, 8, 9]})
    _same(charts.forecast_vs_actual(fva, start, f"{EVIL} — All stores"), _ref_fva(fva, start, f"{EVIL} — All stores"))
