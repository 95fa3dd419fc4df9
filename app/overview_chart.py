"""The Overview's accuracy trend as a Vega-Lite specification (a plain dict for
`st.vega_lite_chart`), a pure function of core's frame so it is tested without a browser.

Why not Plotly like the other pages: the Overview is what a share link opens in a fresh tab, and
there the browser's part dominated: Streamlit loads its Plotly chunk (4.7 MB of JavaScript) only
when a page draws a Plotly chart, and fetching and compiling it took longer than the server's
whole view (issue 13, <= 2 s to the first chart). Vega-Lite's chunks are a fifth of that. The
chart shows what the Plotly one did: the accuracy per period with a label on each point (on the
far side of the target line from it, never struck through by it), the target and expected
(backtest) lines with their labels, percent ticks and the value on hover. No user text is in it
(periods and percentages only); Vega draws text as text, never as HTML.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from app.monitor_charts import BLUE, GREEN, RED, pct_range, period_labels, shown

HEIGHT = 320
# Nothing to draw (no data item, no frame, no axis), for the Overview's early element: the
# browser starts loading Vega-Lite's code when it arrives
PRELOAD = {"data": {"values": []}, "mark": "point", "config": {"view": {"stroke": None}},
           "usermeta": {"embedOptions": {"renderer": "svg"}}}
# The same for Plotly, which every other page draws with: an empty trace without axes
PLOTLY_PRELOAD = {"data": [{"type": "scatter", "x": [], "y": [], "hoverinfo": "skip"}], "layout": {"xaxis": {"visible": False}, "yaxis": {"visible": False},
                                         "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "height": 10,
                                         "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}}


def trend_spec(trend: pd.DataFrame, threshold: float, expected: float | None, grain: str) -> dict:
    """Accuracy per period (`trend`: period, accuracy) against the target and the expected line."""
    y = shown(trend["accuracy"])
    periods = period_labels(trend["period"], grain)
    points = [{"period": p, "accuracy": None if np.isnan(v) else float(v),
               "label": "" if np.isnan(v) else f"{100 * v:.0f}%", "below": bool(v < threshold)}
              for p, v in zip(periods, y, strict=True)]
    lines = [{"name": f"target {100 * threshold:.0f}%", "y": float(threshold), "color": RED, "dash": [6, 4]}]
    if expected is not None:
        exp = float(shown([expected])[0])
        lines.append({"name": f"expected {100 * exp:.0f}%", "y": exp, "color": GREEN, "dash": [2, 3]})
    top = max(lines, key=lambda ln: ln["y"])  # the target on a tie
    lo, hi = pct_range([ln["y"] for ln in lines] + list(y))
    x = {"field": "period", "type": "ordinal", "sort": None, "title": None,
         "axis": {"labelAngle": 0, "labelOverlap": True}}
    yenc = {"field": "accuracy", "type": "quantitative", "title": None,
            "scale": {"domain": [lo, hi], "nice": False, "zero": False},
            "axis": {"format": ".0%", "tickCount": 6}}
    tip = [{"field": "period", "title": "Period"},
           {"field": "accuracy", "title": "Accuracy", "format": ".1%"}]

    def label(below: bool) -> dict:
        # one layer per side of the target line: a text mark's offset is not an encoding
        return {"transform": [{"filter": f"datum.below == {str(below).lower()}"}],
                "mark": {"type": "text", "fontSize": 14, "dy": 18 if below else -14},
                "encoding": {"x": x, "y": yenc, "text": {"field": "label"}}}

    return {
        "height": HEIGHT,
        "padding": {"left": 5, "right": 5, "top": 10, "bottom": 5},
        # SVG, not Vega's canvas: crisp in screenshots, and a bench sees the marks being drawn
        "usermeta": {"embedOptions": {"renderer": "svg"}},
        "layer": [
            {"data": {"values": points}, "layer": [
                {"mark": {"type": "line", "color": BLUE, "strokeWidth": 3},
                 "encoding": {"x": x, "y": yenc}},
                {"mark": {"type": "point", "filled": True, "color": BLUE, "size": 90, "opacity": 1},
                 "encoding": {"x": x, "y": yenc, "tooltip": tip}},
                label(False), label(True),
            ]},
            # one datum each: a layer without data draws nothing
            *({"data": {"values": [{}]},
               "mark": {"type": "rule", "color": ln["color"], "strokeDash": ln["dash"], "strokeWidth": 1.5},
               "encoding": {"y": {"datum": ln["y"], "type": "quantitative"}}} for ln in lines),
            # each line's label at its right end, above it; the lower line's below it, so two
            # close lines' labels do not overlap
            *({"data": {"values": [{}]},
               "mark": {"type": "text", "align": "right", "x": "width", "fontSize": 12, "color": ln["color"],
                        "text": ln["name"], **({"baseline": "top", "dy": 3} if ln is not top else
                                               {"baseline": "bottom", "dy": -3})},
               "encoding": {"y": {"datum": ln["y"], "type": "quantitative"}}} for ln in lines),
        ],
        "resolve": {"scale": {"y": "shared"}},
    }
