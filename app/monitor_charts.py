"""Plotly figures of the Overview and Monitor pages: pure functions of core's frames, so they are
tested without a browser. Every user-supplied text (SKU, store and column names) goes through
core.text.chart: Plotly renders <a> and <b> in titles and labels. Accuracy is drawn floored at 0
(core.metrics.display_accuracy, the one display floor); the data below stays as it is.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core import text

BLUE, ORANGE, GREY, RED, GREEN = "#1f77b4", "#ff7f0e", "#888", "#d62728", "#2ca02c"
# Blue (good) to orange (poor): readable for red-green colour blindness.
ACCURACY_SCALE = [[0, "#b35806"], [0.5, "#fdb863"], [0.75, "#d8daeb"], [1, "#2d004b"]]


def literal(value: object) -> str:
    """User text for a Markdown string as an inline code span: shown character for character
    and never a link, not even a bare URL (GFM turns `http://…` into a link even after
    core.text.md escaped it, because its autolinks are found in the unescaped text). The fence
    is longer than any run of backticks in the text."""
    s = text.strip_bidi(value).replace("\n", " ")
    fence = "`" * (max((len(m) for m in re.findall("`+", s)), default=0) + 1)
    return f"{fence} {s} {fence}"


def shown(acc: pd.Series | np.ndarray) -> np.ndarray:
    """Accuracy as drawn: floored at 0, missing stays missing."""
    return np.clip(np.asarray(acc, dtype=float), 0, None)


def period_labels(periods: pd.Series, grain: str) -> list[str]:
    fmt = "%b %Y" if grain == "month" else "%d %b"
    return [("w/c " if grain == "week" else "") + pd.Timestamp(p).strftime(fmt) for p in periods]


def pct_range(values: list[float]) -> list[float]:
    """A y range that starts near the data, so a few points of change are visible."""
    vals = [v for v in values if v is not None and not np.isnan(v)] or [0.0]
    return [max(0.0, min(vals) - 0.12), 1.02]


def _hline(y: float, color: str, dash: str, axis: str = "") -> dict:
    """A horizontal line across one panel: what `Figure.add_hline` makes, written as the dict it
    makes (add_hline and make_subplots were most of a Monitor view's chart CPU under load)."""
    return {"type": "line", "line": {"color": color, "dash": dash}, "x0": 0, "x1": 1,
            "xref": f"x{axis} domain", "y0": y, "y1": y, "yref": f"y{axis}"}


def _label(y: float, text_: str, yanchor: str, xanchor: str = "right") -> dict:
    """The annotation add_hline puts at the right end of its line (first panel)."""
    return {"showarrow": False, "text": text_, "x": 1, "xanchor": xanchor, "xref": "x domain",
            "y": y, "yanchor": yanchor, "yref": "y"}


def monitor_trend(trend: pd.DataFrame, roll: pd.DataFrame, sku: str, window: int, grain: str,
                  threshold: float, backtest: float | None) -> go.Figure:
    """All SKUs in the filter per period with threshold and backtest lines and, in a panel of its
    own below, one SKU's rolling accuracy. The preselected SKU is the worst one (often near 0%):
    on one axis it stretched the range to 0-100% and flattened the fleet's few points of change
    into a line; each panel's range now fits its own data (and the threshold). No SKU point at
    all (no units in any window): one panel, no legend entry. Built as one Figure from dicts
    (the layout make_subplots(rows=2, vertical_spacing=0.08, row_heights=[0.6, 0.4]) makes)."""
    fleet = shown(trend["accuracy"])
    mine = shown(roll["accuracy"]) if len(roll) else np.empty(0)
    two = bool(np.isfinite(mine).any())
    hover = "%{x|%d %b %Y}: %{y:.1%}<extra></extra>"
    data = [{"type": "scatter", "x": trend["period"], "y": fleet, "mode": "lines+markers",
             "name": "All SKUs in filter", "line": {"width": 3, "color": BLUE}, "marker": {"size": 8},
             "hovertemplate": hover, "xaxis": "x", "yaxis": "y"}]
    lows = [threshold, *fleet]
    shapes = [_hline(threshold, RED, "dash")]
    notes = [_label(threshold, f"threshold {100 * threshold:.1f}%", "top")]
    if backtest is not None:
        bt = float(shown([backtest])[0])
        shapes.append(_hline(bt, GREEN, "dot"))
        notes.append(_label(bt, f"backtest {100 * bt:.1f}%", "bottom"))
        lows.append(bt)
    # weekly ticks on the data's own weekday (a Monday week is not ticked on Sundays)
    weekly = grain == "week" and len(trend)
    xticks = {"tickformat": "%d %b", "dtick": 7 * 86400000 if grain == "week" else None,
              "tick0": pd.Timestamp(trend["period"].min()) if weekly else None, "showticklabels": True}
    layout = {
        "xaxis": {"anchor": "y", "domain": [0.0, 1.0], **xticks},
        "yaxis": {"anchor": "x", "domain": [0.448, 1.0] if two else [0.0, 1.0], "tickformat": ".0%",
                  "title": {"text": "All SKUs"}, "range": pct_range(lows)},
        "shapes": shapes, "annotations": notes, "height": 460 if two else 340,
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10}, "legend": {"orientation": "h", "y": -0.12}}
    if two:
        data.append({"type": "scatter", "x": roll["period"], "y": mine, "mode": "lines+markers",
                     "name": text.chart(f"{sku}, rolling {window} {grain}s"),
                     "line": {"width": 2, "color": ORANGE}, "hovertemplate": hover, "xaxis": "x2", "yaxis": "y2"})
        shapes.append(_hline(threshold, RED, "dash", "2"))
        layout["xaxis"]["matches"] = "x2"
        layout["xaxis2"] = {"anchor": "y2", "domain": [0.0, 1.0], **xticks}
        layout["yaxis2"] = {"anchor": "x2", "domain": [0.0, 0.368], "tickformat": ".0%",
                            "title": {"text": text.chart(sku)}, "range": pct_range([threshold, *mine])}
    return go.Figure(data=data, layout=layout)


def heatmap(per: pd.DataFrame, order: list[str], grain: str) -> go.Figure:
    """Accuracy per SKU (rows, in `order` from the top) and period: the periods with a value
    (sorted), a row for every SKU of `order` (blank without one). Laid out with numpy, not
    pivot_table (a fifth of the chart's CPU), and one Figure from dicts."""
    sub = per[per["sku"].isin(order) & per["accuracy"].notna()]
    periods = np.sort(sub["period"].unique())
    rows = order[::-1]
    r = pd.Index(rows).get_indexer(sub["sku"])
    c = np.searchsorted(periods, sub["period"].to_numpy())
    total, count = np.zeros((len(rows), len(periods))), np.zeros((len(rows), len(periods)))
    np.add.at(total, (r, c), sub["accuracy"].to_numpy(dtype=float))
    np.add.at(count, (r, c), 1)
    # the mean where a SKU has two rows for a period; blank where it has none
    z = shown(np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0))
    labels = np.where(np.isnan(z), "", np.char.add(np.round(100 * np.nan_to_num(z)).astype(int).astype(str), "%"))
    return go.Figure(data=[{
        "type": "heatmap", "z": z, "x": period_labels(pd.Series(periods), grain), "y": [text.chart(x) for x in rows],
        "zmin": 0.5, "zmax": 1.0, "colorscale": ACCURACY_SCALE, "text": labels if z.size else z,
        "texttemplate": "%{text}", "hovertemplate": "%{y}, %{x}: %{z:.1%}<extra></extra>",
        "colorbar": {"title": {"text": "Accuracy"}, "tickformat": ".0%"}}],
        layout={"height": max(260, 26 * len(rows) + 80), "margin": {"l": 10, "r": 10, "t": 10, "b": 10}})


def forecast_vs_actual(fva: pd.DataFrame, forecast_start, title: str) -> go.Figure:
    """The forecast with its 80% interval, the actuals, and where the forecast starts (one
    Figure from dicts: the vline as the shape and label add_vline makes)."""
    band = fva.dropna(subset=["yhat"])
    data = [
        {"type": "scatter", "x": band["ds"], "y": band["yhat_upper"], "mode": "lines", "line": {"width": 0},
         "showlegend": False, "hoverinfo": "skip"},
        {"type": "scatter", "x": band["ds"], "y": band["yhat_lower"], "mode": "lines", "line": {"width": 0},
         "fill": "tonexty", "fillcolor": "rgba(31,119,180,0.18)", "name": "Forecast interval"},
        {"type": "scatter", "x": band["ds"], "y": band["yhat"], "mode": "lines", "name": "Forecast",
         "line": {"color": BLUE, "width": 2}},
        {"type": "scatter", "x": fva["ds"], "y": fva["y"], "mode": "lines", "name": "Actual",
         "line": {"color": "#222", "width": 1.5}},
    ]
    layout = {"height": 360, "margin": {"l": 10, "r": 10, "t": 30, "b": 10}, "yaxis": {"title": {"text": "Units"}},
              "legend": {"orientation": "h", "y": -0.15}, "title": {"text": text.chart(title), "font": {"size": 14}}}
    if forecast_start is not None:
        x = pd.Timestamp(forecast_start).timestamp() * 1000
        layout["shapes"] = [{"type": "line", "line": {"color": GREY, "dash": "dot"}, "x0": x, "x1": x,
                             "xref": "x", "y0": 0, "y1": 1, "yref": "y domain"}]
        layout["annotations"] = [{"showarrow": False, "text": "forecast start", "x": x, "xanchor": "left",
                                  "xref": "x", "y": 1, "yanchor": "top", "yref": "y domain"}]
    return go.Figure(data=data, layout=layout)


def drift_histogram(row: pd.Series, sku: str, column: str, per: str) -> go.Figure:
    """Reference and current distributions of one SKU's column (a drift row with values)."""
    fig = go.Figure()
    fig.add_histogram(x=row["ref_values"], name=f"Reference (n={row['n_ref']})", histnorm="probability",
                      opacity=0.6, marker_color="#7f7f7f")
    fig.add_histogram(x=row["cur_values"], name=f"Current (n={row['n_cur']})", histnorm="probability",
                      opacity=0.6, marker_color=ORANGE if row["drifted"] else BLUE)
    verdict = "drift" if row["drifted"] else "no drift"
    fig.update_layout(barmode="overlay", height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      xaxis_title=text.chart(f"{column} per store and {per}"), yaxis_title="Share",
                      yaxis_tickformat=".0%", legend={"orientation": "h", "y": -0.2},
                      title={"text": text.chart(f"{sku} · {column}: {row['test']} {row['score']:.3g} ({verdict})"),
                             "font": {"size": 14}})
    return fig
