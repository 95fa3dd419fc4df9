"""Issue 14 point 7 on the Overview/Monitor charts: point labels on the far side of the target
line, weekly ticks on the data's weekday, and download buttons that say which table they hold."""

from __future__ import annotations

import pandas as pd

from app import monitor_charts as charts
from app import overview_chart


def test_labels_sit_on_the_far_side_of_the_target_line():
    """The Overview draws app/overview_chart.py's Vega-Lite trend: one text layer per side."""
    trend = pd.DataFrame({"period": pd.date_range("2026-09-07", periods=3, freq="W-MON"),
                          "accuracy": [0.91, 0.86, 0.95]})
    spec = overview_chart.trend_spec(trend, 0.88, 0.9, "week")
    assert [p["below"] for p in spec["layer"][0]["data"]["values"]] == [False, True, False]
    dy = {x["transform"][0]["filter"]: x["mark"]["dy"] for x in spec["layer"][0]["layer"] if "transform" in x}
    assert dy["datum.below == true"] > 0 > dy["datum.below == false"]


def test_weekly_ticks_start_on_the_datas_weekday():
    periods = pd.date_range("2026-09-07", periods=4, freq="W-MON")  # Mondays
    trend = pd.DataFrame({"period": periods, "accuracy": [0.9, 0.8, 0.85, 0.9]})
    fig = charts.monitor_trend(trend, pd.DataFrame(columns=["period", "accuracy"]), "A", 4, "week", 0.88, 0.9)
    assert pd.Timestamp(fig.layout.xaxis.tick0).weekday() == 0
    assert fig.layout.xaxis.dtick == 7 * 86400000
