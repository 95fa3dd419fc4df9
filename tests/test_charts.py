"""app/charts.py: pure figure builders. User text is HTML-escaped wherever Plotly shows it, and
the figures carry the data they are given."""

from __future__ import annotations

import pandas as pd

from app import charts
from core.forecasts import SeriesView

EVIL = '<a href="http://evil.example">x</a>'


def _strings(fig) -> str:
    return fig.to_json()


def test_sales_history_escapes_names():
    h = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=3), "y": [1.0, 2.0, 3.0]})
    fig = charts.sales_history(h, EVIL, "Leeds")
    assert fig.layout.title.text.startswith("&lt;a href=")
    assert list(fig.data[0].y) == [1.0, 2.0, 3.0]


def test_series_forecast_shows_history_folds_band_and_forecast():
    ds = pd.date_range("2024-01-01", periods=20)
    hist = pd.DataFrame({"ds": ds[:14], "y": range(14)})
    bt = pd.DataFrame({"model": "naive", "fold": [0] * 3 + [1] * 3, "cutoff": [ds[7]] * 3 + [ds[10]] * 3,
                       "ds": list(ds[8:11]) + list(ds[11:14]), "y": 1.0, "yhat": 2.0,
                       "yhat_lower": 1.0, "yhat_upper": 3.0})
    fc = pd.DataFrame({"ds": ds[14:], "yhat": 5.0, "yhat_lower": 4.0, "yhat_upper": 6.0, "model": "naive"})
    fig = charts.series_forecast(SeriesView(EVIL, "s", "naive", hist, bt, fc), f"{EVIL} · s")
    names = [t.name for t in fig.data]
    assert names[0] == "Actual units" and names.count("Backtest naive") == 2
    assert "80% interval" in names and names[-1] == "Forecast (naive)"
    assert len(fig.layout.shapes) == 2  # one dashed line per cut-off
    assert "<a href" not in fig.layout.title.text


def test_wape_scatter_splits_winners_and_escapes_hover_labels():
    t = pd.DataFrame({"sku": [EVIL, "B", "C"], "wape_1": [0.2, 0.1, 0.3], "wape_2": [0.1, 0.2, 0.3],
                      "winner": ["2", "1", "tie"]})
    fig = charts.wape_scatter(t, 1, 2, ["sku"], "sku")
    by = {tr.name: tr for tr in fig.data}
    assert list(by["v2 better"].x) == [20.0] and list(by["v1 better"].y) == [20.0]
    assert "tie / other" in by and "&lt;a href" in by["v2 better"].text[0]


def test_importance_escapes_feature_names():
    fig = charts.importance(pd.Series({EVIL: 0.5, "lag_7": 0.1}).sort_values())
    assert all("<a" not in y for y in fig.data[0].y)
