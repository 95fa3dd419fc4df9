"""The Overview's accuracy trend as Vega-Lite (app/overview_chart.py): a valid specification that
shows the numbers of core.monitoring's overview (floored for display like every accuracy chart),
labels off the target line, the target and expected lines, and the page (signed in and through a
share link) draws it with no Plotly chart, so a share link's tab never loads Plotly's chunk."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import altair as alt
import pandas as pd
import pytest

from app import overview_chart
from core import monitoring, sharing
from core.access import Actor
from core.api import ACCURACY_THRESHOLD
from core.demo import DemoSpec, generate, split_recent
from tests.auth import link_app, make_user
from tests.helpers import open_page
from tests.monitor_helpers import content_hash, ingest_frame, make_active_version

TREND = pd.DataFrame({"period": pd.date_range("2026-09-07", periods=5, freq="W-MON"),
                      "accuracy": [0.91, 0.86, float("nan"), -0.2, 0.95]})


def _layers(spec: dict) -> list[dict]:
    out = []
    for x in spec.get("layer", []):
        out += _layers(x) if "layer" in x else [x]
    return out


def _points(spec: dict) -> list[dict]:
    return next(x for x in spec["layer"] if "data" in x)["data"]["values"]


def test_spec_is_valid_vega_lite_with_the_numbers_floored_and_gaps_kept():
    spec = overview_chart.trend_spec(TREND, 0.88, 0.9, "week")
    alt.LayerChart.from_dict(spec)  # raises on anything Vega-Lite's schema rejects
    pts = _points(spec)
    assert [p["period"] for p in pts] == ["w/c 07 Sep", "w/c 14 Sep", "w/c 21 Sep", "w/c 28 Sep", "w/c 05 Oct"]
    assert [p["accuracy"] for p in pts] == [0.91, 0.86, None, 0.0, 0.95]  # floored at 0; a gap stays a gap
    assert [p["label"] for p in pts] == ["91%", "86%", "", "0%", "95%"]
    json.dumps(spec, allow_nan=False)  # no NaN reaches the browser's JSON


def test_labels_sit_on_the_far_side_of_the_target_line():
    spec = overview_chart.trend_spec(TREND, 0.88, 0.9, "week")
    assert [p["below"] for p in _points(spec)] == [False, True, False, True, False]
    texts = [x for x in _layers(spec) if x["mark"]["type"] == "text" and "transform" in x]
    by_side = {x["transform"][0]["filter"]: x["mark"]["dy"] for x in texts}
    assert by_side["datum.below == true"] > 0 > by_side["datum.below == false"]  # below: under the point


def test_target_and_expected_lines_with_labels_and_percent_axis():
    spec = overview_chart.trend_spec(TREND, 0.88, 0.9, "week")
    rules = [x for x in _layers(spec) if x["mark"]["type"] == "rule"]
    assert [r["encoding"]["y"]["datum"] for r in rules] == [0.88, 0.9]
    names = [x["mark"]["text"] for x in _layers(spec) if x["mark"]["type"] == "text" and "text" in x["mark"]]
    assert names == ["target 88%", "expected 90%"]
    line = next(x for x in _layers(spec) if x["mark"]["type"] == "line")
    y = line["encoding"]["y"]
    assert y["axis"]["format"] == ".0%" and y["scale"]["domain"][0] <= 0.0 and y["scale"]["domain"][1] > 0.95
    tip = next(x for x in _layers(spec) if x["mark"]["type"] == "point")["encoding"]["tooltip"]
    assert {"field": "accuracy", "title": "Accuracy", "format": ".1%"} in tip
    no_expected = overview_chart.trend_spec(TREND, 0.88, None, "month")
    assert [x["mark"]["text"] for x in _layers(no_expected) if "text" in x["mark"]] == ["target 88%"]
    assert _points(no_expected)[0]["period"] == "Sep 2026"


def test_expected_below_zero_is_drawn_at_zero():
    spec = overview_chart.trend_spec(TREND, 0.88, -0.1, "week")
    assert [r["encoding"]["y"]["datum"] for r in _layers(spec) if r["mark"]["type"] == "rule"] == [0.88, 0.0]


@pytest.fixture
def in_service(db):
    spec = DemoSpec(n_skus=4, n_stores=2, days=300, seed=3)
    sci = Actor("sam", "scientist")
    hist, recent = split_recent(generate(spec), spec.shift_days)
    make_active_version(db, hist, spec.shift_days, sci, plan=recent)
    ingest_frame(db, recent[recent["date"] <= recent["date"].max() - timedelta(days=3)], sci)
    return db


def _chart(at) -> dict:
    assert not at.exception, at.exception
    assert not at.get("plotly_chart")  # Plotly's 4.7 MB chunk is never loaded for the Overview
    (chart,) = at.get("vega_lite_chart")
    return json.loads(chart.proto.spec)


@pytest.mark.slow
def test_overview_draws_the_monitoring_trend_signed_in_and_through_a_link(in_service, monkeypatch):
    db = in_service
    ov = monitoring.Monitoring(db).overview(ACCURACY_THRESHOLD, top=10)
    assert len(ov.trend) >= 2
    want = [None if math.isnan(a) else max(0.0, a) for a in ov.trend["accuracy"]]

    import streamlit

    sent, plotly_chart = [], streamlit.plotly_chart
    monkeypatch.setattr(streamlit, "plotly_chart", lambda fig, *a, **k: sent.append(fig) or plotly_chart(fig, *a, **k))
    spec = _chart(open_page("overview", Actor("vic", "viewer")))
    assert [p["accuracy"] for p in _points(spec)] == pytest.approx(want)
    # signed in, the next pages' library (Plotly) is sent early and gone by the end (see _chart)
    assert sent and all(f == overview_chart.PLOTLY_PRELOAD for f in sent)
    sent.clear()

    make_user("sam-link", "scientist")
    link = sharing.create(Actor("sam-link", "scientist"), "board", "7d", db)
    before = content_hash(db, skip=("share_links",))
    at = link_app(parse_qs(urlparse(link.url).query)["share"][0])
    assert _chart(at) == spec  # one chart definition serves both
    assert sent == []  # a share link never loads Plotly
    assert content_hash(db, skip=("share_links",)) == before


def test_the_early_library_element_draws_nothing_and_is_gone_on_every_store(db):
    """The Overview sends an empty Vega-Lite element first (the browser loads the library while
    the server reads); no page state keeps it: not the empty store, not sales without a live
    forecast, not the full page (one chart, above)."""
    assert _points({"layer": [overview_chart.PRELOAD]}) == []
    viewer = Actor("vic", "viewer")
    at = open_page("overview", viewer)
    assert not at.exception and at.info and not at.get("vega_lite_chart")
    ingest_frame(db, generate(DemoSpec(n_skus=2, n_stores=1, days=30)), Actor("sam", "scientist"))
    at = open_page("overview", viewer)
    assert not at.exception and at.metric and not at.get("vega_lite_chart")
