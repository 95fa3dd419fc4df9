"""The Forecast page's weekly chart: the selection's forecast, its P10-P90 band only when the
version has one, and the same weeks last year, week by week as the totals give them."""

from __future__ import annotations

from datetime import date

import pandas as pd

from app.forecast_charts import weekly_totals_figure


def _weeks(band: bool) -> pd.DataFrame:
    return pd.DataFrame({"week": [date(2026, 1, 5), date(2026, 1, 12)],
                         "forecast": pd.array([120, 90], dtype="Int64"),
                         "p10": pd.array([80, 60] if band else [None, None], dtype="Int64"),
                         "p90": pd.array([160, 130] if band else [None, None], dtype="Int64"),
                         "last_year": pd.array([100, None], dtype="Int64")})


def test_band_forecast_and_last_year_by_week():
    fig = weekly_totals_figure(_weeks(True), has_band=True)
    by_name = {t.name: t for t in fig.data if t.name}
    assert set(by_name) == {"P10-P90", "Forecast", "Same week last year"}
    assert list(by_name["Forecast"].y) == [120.0, 90.0]
    assert list(by_name["P10-P90"].y) == [80.0, 60.0]
    ly = list(by_name["Same week last year"].y)
    assert ly[0] == 100.0 and pd.isna(ly[1])  # a week without last year's sales is a gap, not 0
    assert [pd.Timestamp(x) for x in by_name["Forecast"].x] == [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-12")]


def test_no_band_without_calibrated_quantiles():
    fig = weekly_totals_figure(_weeks(False), has_band=False)
    assert [t.name for t in fig.data] == ["Forecast", "Same week last year"]
