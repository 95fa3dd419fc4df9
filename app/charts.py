"""Plotly figures of the Data, Train and Compare pages, as pure functions of core's frames.

Kept out of the pages so they can be tested without Streamlit, and so every piece of user text
(SKU, store and model names) reaches Plotly through `core.text.chart`, which HTML-escapes it:
Plotly renders tags such as `<a href>` in titles, legends and hover text.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core.text import chart

MODEL_COLORS = {"naive": "#7f7f7f", "sklearn": "#1f77b4", "prophet": "#2ca02c"}
VERSION_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def _title(text: str) -> dict:
    return {"text": text, "font": {"size": 14}}


def sales_history(h: pd.DataFrame, sku: str, store: str) -> go.Figure:
    """Units sold by date (columns ds, y) of one SKU at one store or all stores."""
    fig = go.Figure(go.Scatter(x=h["ds"], y=h["y"], mode="lines", name="Units sold", line={"width": 1.5}))
    fig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10}, yaxis_title="Units sold",
                      xaxis_title=None, title=_title(f"{chart(sku)} — {chart(store)}"))
    return fig


def series_forecast(view, label: str) -> go.Figure:
    """History, each model's backtest folds (dotted, cut-offs dashed) and the forecast with its
    80% band, of one series (a `core.forecasts.SeriesView`)."""
    hist, bt, fc = view.history, view.backtests, view.forecast
    show_from = bt["cutoff"].min() - (fc["ds"].max() - bt["cutoff"].min()) if not bt.empty else hist["ds"].min()
    h = hist[hist["ds"] >= show_from]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=h["ds"], y=h["y"], name="Actual units", mode="lines",
                             line={"color": "#222", "width": 1.4}))
    for model, g in bt.groupby("model"):
        for i, (_, gf) in enumerate(g.groupby("fold")):
            fig.add_trace(go.Scatter(x=gf["ds"], y=gf["yhat"], mode="lines", name=f"Backtest {chart(model)}",
                                     legendgroup=str(model), showlegend=i == 0,
                                     line={"color": MODEL_COLORS.get(model, "#999"), "width": 1.2, "dash": "dot"}))
    fig.add_trace(go.Scatter(x=pd.concat([fc["ds"], fc["ds"][::-1]]),
                             y=pd.concat([fc["yhat_upper"], fc["yhat_lower"][::-1]]),
                             fill="toself", fillcolor="rgba(31,119,180,0.18)", line={"width": 0},
                             name="80% interval", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=fc["ds"], y=fc["yhat"], name=f"Forecast ({chart(view.model)})",
                             mode="lines", line={"color": "#d62728", "width": 2.2}))
    # Cut-offs as layout shapes in one go: add_vline per line re-validated the whole layout each
    # time (a third of the Train page's chart time).
    cuts = [{"type": "line", "xref": "x", "yref": "paper", "x0": pd.Timestamp(c), "x1": pd.Timestamp(c),
             "y0": 0, "y1": 1, "line": {"color": "#bbb", "width": 1, "dash": "dash"}}
            for c in sorted(bt["cutoff"].unique())]
    fig.update_layout(shapes=cuts, height=420, margin={"l": 10, "r": 10, "t": 40, "b": 10}, yaxis_title="Units sold",
                      title=_title(f"{chart(label)}: history, backtests (dotted, cut-offs dashed) and forecast"),
                      legend={"orientation": "h", "y": -0.12})
    return fig


def components(comp: pd.DataFrame) -> go.Figure:
    """One line per Prophet component (columns ds + components)."""
    fig = go.Figure()
    for p in comp.columns.drop("ds"):
        fig.add_trace(go.Scatter(x=comp["ds"], y=comp[p], name=p.replace("_", " "), mode="lines"))
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10}, yaxis_title="Units (effect)",
                      legend={"orientation": "h", "y": -0.15})
    return fig


def importance(imp: pd.Series) -> go.Figure:
    """Horizontal bars of permutation importance per feature (feature names come from the
    store's regressor columns, so they are escaped too)."""
    fig = go.Figure(go.Bar(x=imp.values, y=[chart(n) for n in imp.index], orientation="h",
                           marker_color="#1f77b4"))
    fig.update_layout(height=max(260, 22 * len(imp)), margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      xaxis_title="Loss increase when the feature is shuffled")
    return fig


def wape_scatter(table: pd.DataFrame, base: int, other: int, keys: list[str], level: str) -> go.Figure:
    """Per-SKU (or series) WAPE of the baseline version against another: below the diagonal
    the other version is better. `table` is `registry.compare(...).table`."""
    xa, yb = table[f"wape_{base}"] * 100, table[f"wape_{other}"] * 100
    label = table[keys].astype(str).map(chart).agg(" @ ".join, axis=1)
    both = pd.concat([xa, yb])
    top = float(both.max(skipna=True) or 1) * 1.05
    lo = max(0.0, float(both.min(skipna=True) or 0) * 0.8)
    fig = go.Figure()
    for name, mask, color in (
        (f"v{other} better", table["winner"] == str(other), VERSION_COLORS[1]),
        (f"v{base} better", table["winner"] == str(base), VERSION_COLORS[0]),
        ("tie / other", ~table["winner"].isin([str(base), str(other)]), "#999999"),
    ):
        if mask.any():
            fig.add_trace(go.Scatter(
                x=xa[mask], y=yb[mask], mode="markers", name=name, text=label[mask],
                marker={"color": color, "size": 9, "opacity": 0.8},
                hovertemplate="%{text}<br>v" + str(base) + ": %{x:.1f}%<br>v" + str(other)
                + ": %{y:.1f}%<extra></extra>",
            ))
    fig.add_trace(go.Scatter(x=[lo, top], y=[lo, top], mode="lines", name="equal error",
                             line={"color": "#444", "dash": "dot"}, hoverinfo="skip"))
    fig.update_layout(
        title=f"Per-{'SKU' if level == 'sku' else 'series'} WAPE: v{base} vs v{other} "
              f"(below the line: v{other} is better)",
        xaxis_title=f"v{base} WAPE (%)", yaxis_title=f"v{other} WAPE (%)",
        height=460, margin={"t": 60, "b": 40}, legend={"orientation": "h", "y": -0.18},
    )
    fig.update_xaxes(range=[lo, top])
    fig.update_yaxes(range=[lo, top])
    return fig


def versions_over_time(actuals: pd.DataFrame, bt: pd.DataFrame, fc: pd.DataFrame, versions: list[int],
                       sku: str, store: str | None) -> go.Figure:
    """One SKU's actuals with each version's backtest predictions and forecasts
    (`registry.sku_chart_data`)."""
    fig = go.Figure()
    if not actuals.empty:
        # History back to twice the backtest span before the first cut-off: enough to see the
        # pattern, short enough to see the predictions.
        ds = pd.to_datetime(actuals["ds"])
        end = ds.max()
        start = pd.to_datetime(bt["ds"]).min() if not bt.empty else ds.iloc[max(0, len(ds) - 60)]
        shown = actuals[ds >= start - 2 * (end - start)]
        fig.add_trace(go.Scatter(x=shown["ds"], y=shown["y"], mode="lines", name="actual units",
                                 line={"color": "#222", "width": 2}))
    for i, v in enumerate(versions):
        color = VERSION_COLORS[i % len(VERSION_COLORS)]
        b = bt[bt["version_id"] == v]
        for j, (_fold, g) in enumerate(b.groupby("fold")):
            fig.add_trace(go.Scatter(x=g["ds"], y=g["yhat"], mode="lines", name=f"v{v} backtest",
                                     legendgroup=f"bt{v}", showlegend=j == 0,
                                     line={"color": color, "dash": "dot", "width": 1.5}))
        f = fc[fc["version_id"] == v]
        if not f.empty:
            fig.add_trace(go.Scatter(x=f["ds"], y=f["yhat"], mode="lines", name=f"v{v} forecast",
                                     line={"color": color, "width": 2.5}))
    if not actuals.empty:
        fig.add_vline(x=pd.Timestamp(actuals["ds"].max()).timestamp() * 1000, line={"color": "#888", "dash": "dash"})
    where = f"at {chart(store)}" if store else "all stores summed"
    fig.update_layout(title=f"{chart(sku)} ({where}): actuals, backtest predictions and forecasts",
                      xaxis_title="Date", yaxis_title="Units sold per period", height=440,
                      margin={"t": 60, "b": 40}, legend={"orientation": "h", "y": -0.2})
    return fig
