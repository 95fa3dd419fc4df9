"""A window says how much data it covers: two weeks of actuals under a four-week window read
"last 2 weeks", on the Monitor and Overview pages alike."""

from __future__ import annotations

from datetime import date, timedelta

from app.widgets import window_words
from core.access import Actor
from core.demo import DemoSpec, generate, split_recent
from tests.helpers import open_page
from tests.monitor_helpers import ingest_frame, make_active_version

SPEC = DemoSpec(n_skus=4, n_stores=1, days=400, seed=7)


def test_words():
    fs, last = date(2026, 10, 5), date(2026, 11, 1)  # Monday to Sunday: four whole weeks
    assert window_words(4, "week", fs, fs, last) == "last 4 weeks"
    assert window_words(4, "week", fs, fs, fs + timedelta(days=13)).startswith("last 2 weeks (all there is")
    assert window_words(4, "week", fs, fs, fs + timedelta(days=2)).startswith("last 1 week (")
    assert window_words(4, "week", None, fs, last) == "last 4 weeks"


def test_pages_say_two_weeks_over_two_weeks_of_actuals(db):
    sci = Actor("sam", "scientist")
    hist, recent = split_recent(generate(SPEC), SPEC.shift_days)
    make_active_version(db, hist, SPEC.shift_days, sci, plan=recent)
    ingest_frame(db, recent[recent["date"] < recent["date"].min() + timedelta(days=14)], sci)
    mon = open_page("monitor", sci)
    assert not mon.exception, mon.exception
    assert any(m.label.startswith("Accuracy, last 2 weeks (all there is") for m in mon.metric)
    ov = open_page("overview", sci)
    assert any(m.label.startswith("Forecast accuracy, last 2 weeks") for m in ov.metric)
