"""The pure figure builders of Overview and Monitor: user text is escaped for Plotly, accuracy is
drawn floored at 0 while the data keeps its sign, and `literal` makes any text a code span."""

from __future__ import annotations

import pandas as pd

from app import monitor_charts as charts

EVIL = '<a href="http://evil.example/">x</a>'


def test_user_text_in_figures_is_escaped():
    fva = pd.DataFrame({"ds": pd.date_range("2026-01-05", periods=3), "y": [1.0, 2, 3],
                        "yhat": [1.0, 2, 2], "yhat_lower": [0.5, 1, 1], "yhat_upper": [2.0, 3, 3]})
    fig = charts.forecast_vs_actual(fva, "2026-01-06", f"{EVIL} — All stores")
    assert "<a " not in fig.layout.title.text and "&lt;a href" in fig.layout.title.text
    per = pd.DataFrame({"sku": [EVIL, "B"], "period": pd.to_datetime(["2026-01-05"] * 2),
                        "accuracy": [-0.5, 0.9]})
    heat = charts.heatmap(per, [EVIL, "B"], "week")
    assert all("<a " not in y for y in heat.data[0].y)
    assert float(pd.DataFrame(heat.data[0].z).min().min()) == 0.0  # drawn floored
    assert per["accuracy"].min() == -0.5  # the data is not


def test_literal_is_a_code_span_whatever_the_text():
    assert charts.literal("[x](http://evil.example)") == "` [x](http://evil.example) `"
    assert charts.literal("a`b") == "`` a`b ``"
    assert charts.literal("r\u202eevil") == "` revil `"  # direction controls removed


def _visible(fig, trace) -> list[float]:
    """The trace's y values inside its y axis's range (what a reader actually sees)."""
    axis = fig.layout["yaxis" + (trace.yaxis or "y")[1:]]
    lo, hi = axis.range
    return [v for v in trace.y if v is not None and v == v and lo <= v <= hi]


def test_monitor_trend_draws_the_preselected_skus_line():
    """Regression: Monitor preselects the worst SKU; its rolling accuracy (here 20-35%) lay below
    the y range built from the fleet's 85-90%, so the legend named a line nobody could see."""
    periods = pd.to_datetime(["2026-01-05", "2026-01-12", "2026-01-19"])
    trend = pd.DataFrame({"period": periods, "accuracy": [0.86, 0.88, 0.90]})
    roll = pd.DataFrame({"period": periods, "accuracy": [0.2, -0.4, 0.35]})
    fig = charts.monitor_trend(trend, roll, "DRY-015", 4, "week", 0.88, 0.87)
    line = next(t for t in fig.data if t.name == "DRY-015, rolling 4 weeks")
    assert _visible(fig, line) == [0.2, 0.0, 0.35]  # every point on the chart, floored at 0


def test_monitor_trend_keeps_the_fleet_readable_beside_a_0_percent_sku():
    """Issue 13: the worst SKU at 0% on the fleet's axis stretched it to 0-100%, and the fleet's
    few points of change became a flat line. The fleet keeps an axis fitted to it."""
    periods = pd.to_datetime(["2026-01-05", "2026-01-12", "2026-01-19"])
    trend = pd.DataFrame({"period": periods, "accuracy": [0.74, 0.77, 0.76]})
    roll = pd.DataFrame({"period": periods, "accuracy": [0.0, 0.01, 0.0]})
    fig = charts.monitor_trend(trend, roll, "HOU-01185", 4, "week", 0.88, 0.734)
    fleet = next(t for t in fig.data if t.name == "All SKUs in filter")
    sku = next(t for t in fig.data if t.name == "HOU-01185, rolling 4 weeks")
    assert fleet.yaxis != sku.yaxis
    lo, hi = fig.layout.yaxis.range
    assert lo >= 0.5 and hi - lo <= 0.5  # the fleet's axis spans its own points and the lines
    assert _visible(fig, fleet) == [0.74, 0.77, 0.76] and _visible(fig, sku) == [0.0, 0.01, 0.0]


def test_monitor_trend_has_no_legend_entry_without_points():
    periods = pd.to_datetime(["2026-01-05", "2026-01-12"])
    trend = pd.DataFrame({"period": periods, "accuracy": [0.86, 0.88]})
    roll = pd.DataFrame({"period": periods, "accuracy": [float("nan")] * 2})  # no units sold
    fig = charts.monitor_trend(trend, roll, "DRY-015", 4, "week", 0.88, None)
    assert [t.name for t in fig.data] == ["All SKUs in filter"]
    empty = charts.monitor_trend(trend, roll.iloc[:0], "DRY-015", 4, "week", 0.88, None)
    assert [t.name for t in empty.data] == ["All SKUs in filter"]
