"""Monitor and Overview pages in AppTest on a real store with an active version and shifted
actuals: charts render, the worst SKUs lead, acknowledging works for a manager and is absent for
a viewer, the drill-down from an alert, the rule editor for scientists, and an Overview with no
mutating controls (also through a share link)."""

from __future__ import annotations

import shutil
from urllib.parse import parse_qs, urlparse

import pytest

from app.monitor_charts import literal
from core import monitoring
from core.access import Actor
from core.demo import DemoSpec, generate, split_recent
from tests.helpers import open_page
from tests.monitor_helpers import MONITORED_SPEC, ingest_frame, make_active_version

SPEC = MONITORED_SPEC
SCI = Actor("sam", "scientist")
MUTATING = ("button", "form_submit_button", "text_input", "text_area", "file_uploader",
            "number_input", "checkbox", "toggle", "selectbox", "multiselect", "radio",
            "date_input", "slider", "download_button")


@pytest.fixture
def store(monitored):
    return monitored


def _frame(at, column: str):
    """The first dataframe on the page with this column (AppTest does not expose their keys)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [f"{m.label}={m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


@pytest.mark.slow
def test_monitor_page_shows_accuracy_drift_and_alerts(store):
    at = open_page("monitor", Actor("maya", "manager"))
    assert not at.exception, at.exception
    assert [m.label for m in at.metric][:3] == ["Accuracy, last 4 weeks", "Backtest accuracy", "SKUs under 88.0%"]
    assert len(at.get("plotly_chart")) >= 3  # trend, heatmap, forecast vs actual
    shifted = SPEC.shifted_skus[0]
    assert at.selectbox(key="mon-sku").value == shifted  # the worst SKU is drilled into first
    attn = _frame(at, "lost_units")
    assert attn["sku"].iloc[0] in SPEC.shifted_skus and attn["direction"].iloc[0] == "overstock"
    assert not any("n_ref" in d.value.columns for d in at.dataframe)  # Drift runs when opened
    at.session_state["mon-tab"] = "Drift"
    at.run()
    assert not at.exception, at.exception
    drift = _frame(at, "n_ref")
    assert shifted in set(drift["sku"])
    assert len(at.get("plotly_chart")) >= 4  # ... with its distribution chart
    alerts = _frame(at, "ack_note")
    assert set(alerts["sku"]) >= set(SPEC.shifted_skus)

    # acknowledge the first open alert with a note
    pick = at.selectbox(key="mon-alert-pick")
    aid = pick.value
    at.text_input(key="mon-ack-note").set_value("order cut, watching")
    at.get("form_submit_button")[0].click()  # the acknowledge form comes before the rule form
    at.run()
    assert not at.exception, at.exception
    acked = [a for a in monitoring.alerts(store, ["acknowledged"]) if a["id"] == aid]
    assert acked and acked[0]["acknowledged_by"] == "maya" and acked[0]["ack_note"] == "order cut, watching"
    assert not at.get("form_submit_button") or all(
        "Save rule" not in b.label for b in at.get("form_submit_button"))  # managers edit no rules


def test_filters_and_drill_down_from_an_alert(store):
    at = open_page("monitor", Actor("maya", "manager"))
    other = next(a for a in monitoring.alerts(store, ["open"]) if a["sku"] != at.selectbox(key="mon-sku").value)
    at.selectbox(key="mon-alert-pick").set_value(other["id"]).run()
    at.button(key="mon-drill").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="mon-sku").value == other["sku"]
    at.toggle(key="mon-attn-level").set_value(True).run()
    assert not at.exception, at.exception
    per_store = _frame(at, "lost_units")
    assert len(per_store) == SPEC.n_skus * SPEC.n_stores and set(per_store["store"]) == {"Leeds", "Bristol"}
    at.toggle(key="mon-attn-level").set_value(False).run()
    cat = other["sku"].split("-")[0]
    at.multiselect(key="mon-cats").set_value([cat]).run()
    assert not at.exception, at.exception
    assert set(_frame(at, "lost_units")["category"]) == {cat}
    at.multiselect(key="mon-stores").set_value(["Leeds"]).run()
    assert not at.exception, at.exception


def test_viewer_cannot_acknowledge_or_edit(store):
    at = open_page("monitor", Actor("vic", "viewer"))
    assert not at.exception, at.exception
    labels = [b.label for b in at.button] + [b.label for b in at.get("form_submit_button")]
    assert "Acknowledge" not in labels and "Save rule" not in labels and "Check rules now" not in labels


def test_scientist_edits_a_rule_in_the_page(store):
    at = open_page("monitor", SCI)
    assert not at.exception, at.exception
    rule = next(r for r in monitoring.rules(store) if r.kind == "accuracy")
    at.selectbox(key="mon-rule-pick").set_value(rule.id).run()
    at.number_input(key=f"rule-thr-accuracy-{rule.id}").set_value(0.5)
    next(b for b in at.get("form_submit_button") if b.label == "Save rule").click()
    at.run()
    assert not at.exception, at.exception
    assert next(r for r in monitoring.rules(store) if r.id == rule.id).threshold == pytest.approx(0.5)
    assert any("Saved" in s.value for s in at.success)


def test_a_quality_rule_takes_its_own_threshold_range(store):
    """The threshold input follows the kind: 'zero periods in a row' counts periods (default 7),
    which a 0-1 input could not hold (it broke the form for every data-quality kind)."""
    at = open_page("monitor", SCI)
    at.selectbox(key="rule-kind-0").set_value("series_stopped").run()
    assert not at.exception, at.exception
    thr = at.number_input(key="rule-thr-series_stopped-0")
    assert thr.value == 7
    thr.set_value(10)
    at.text_input(key="rule-name-0").set_value("Stopped for ten")
    next(b for b in at.get("form_submit_button") if b.label == "Save rule").click()
    at.run()
    assert not at.exception, at.exception
    made = next(r for r in monitoring.rules(store) if r.name == "Stopped for ten")
    assert made.kind == "series_stopped" and made.threshold == 10


def test_overview_is_readable_and_has_no_controls(store):
    at = open_page("overview", Actor("vic", "viewer"))
    assert not at.exception, at.exception
    labels = [m.label for m in at.metric]
    assert labels == ["Forecast accuracy, last 4 weeks", "SKUs under 88.0%", "Open alerts", "Forecast vs sales"]
    head = monitoring.Monitoring(store).overview().headline
    assert at.metric[1].value == f"{head.skus_below} of {SPEC.n_skus}"
    assert at.metric[2].value == str(head.open_alerts) == str(len(monitoring.alerts(store, ["open"])))
    assert literal(SPEC.shifted_skus[0]) in _texts(at)  # named among the top issues, literally
    assert len(at.get("vega_lite_chart")) == 1 and not at.get("plotly_chart")  # the trend, Vega-Lite
    for kind in MUTATING:
        assert not at.main.get(kind), f"Overview has a {kind}"


def test_overview_through_a_share_link(store):
    from core import sharing
    from tests.auth import link_app, make_user

    make_user("sam-link", "scientist")
    link = sharing.create(Actor("sam-link", "scientist"), "board", "7d", store)
    token = parse_qs(urlparse(link.url).query)["share"][0]
    at = link_app(token)
    assert not at.exception, at.exception
    assert [m.label for m in at.metric][0] == "Forecast accuracy, last 4 weeks"
    for kind in MUTATING:
        assert not at.get(kind), f"Overview via link has a {kind}"  # sidebar included


def test_empty_states_without_an_active_version(db):
    ingest_frame(db, generate(DemoSpec(n_skus=2, n_stores=1, days=30)), SCI)
    at = open_page("overview", Actor("vic", "viewer"))
    assert not at.exception, at.exception
    assert any("No forecast is live yet" in i.value for i in at.info)
    at = open_page("monitor", Actor("vic", "viewer"))
    assert not at.exception, at.exception
    assert any("No forecast version is active" in i.value for i in at.info)


HOSTILE = ("[Reset your password](http://evil.example/login)", "![p](http://evil.example/x.png)")


def hostile_frames(worst: list[str]) -> tuple:
    """The demo with its two worst SKUs renamed to Markdown that would be a link and an image
    (so both appear among the Overview's top issues)."""
    hist, recent = split_recent(generate(SPEC), SPEC.shift_days)
    names = dict(zip(worst[:2], HOSTILE, strict=True))
    return hist.replace({"sku": names}), recent.replace({"sku": names})


@pytest.fixture(scope="module")
def hostile(monitored_file, tmp_path_factory):
    path = tmp_path_factory.mktemp("mon-hostile") / "hostile.duckdb"
    hist, recent = hostile_frames(list(monitoring.sku_accuracy(monitored_file)["sku"]))
    make_active_version(path, hist, SPEC.shift_days, SCI, plan=recent)
    ingest_frame(path, recent, SCI)
    return path


def test_hostile_sku_names_are_plain_text(hostile, db):
    """Issue 10 item 4 on Overview and Monitor: the names reach Markdown only escaped."""
    from app.monitor_charts import literal

    shutil.copy(hostile, db)
    for page, actor in (("overview", Actor("vic", "viewer")), ("monitor", Actor("maya", "manager"))):
        at = open_page(page, actor)
        assert not at.exception, at.exception
        md = "\n".join(str(m.value) for m in [*at.markdown, *at.caption])
        if page == "overview":
            assert all(literal(h) in md for h in HOSTILE)  # named in Top issues, as code spans
        for h in HOSTILE:  # anywhere else it would be Markdown: it must not be there at all
            md = md.replace(literal(h), "")
        assert "evil.example" not in md, page
        titles = [str(c.proto.spec) for c in at.get("plotly_chart")]
        assert not any("<a " in t or "<img" in t for t in titles), page  # Plotly reads HTML tags


def test_viewing_writes_nothing_and_sends_nothing(store, monkeypatch):
    """Overview (as a viewer and through a share link) and Monitor leave every row of the store
    as it was, even when monitoring lags an upload (the old reads then rebuilt tables, evaluated
    rules and sent webhooks), and send no webhook."""
    from core import sharing, webhook
    from core.store import datasets, session
    from tests.auth import link_app, make_user
    from tests.helpers import ensure_account
    from tests.monitor_helpers import content_hash

    sent = []
    monkeypatch.setattr(webhook, "notify_async", lambda *a, **k: sent.append(a))
    with session(store, write=True) as s:  # as if an upload had not been reflected yet
        datasets.set_setting(s, "monitor.err_dataset", "0")
    make_user("sam-link", "scientist")
    link = sharing.create(Actor("sam-link", "scientist"), "board", "7d", store)
    token = parse_qs(urlparse(link.url).query)["share"][0]
    ensure_account(Actor("vic", "viewer"))  # the test's own accounts, made before the snapshot
    ensure_account(Actor("maya", "manager"))
    before = content_hash(store)
    at = open_page("overview", Actor("vic", "viewer"))
    assert not at.exception, at.exception
    at = open_page("monitor", Actor("maya", "manager"))
    assert not at.exception, at.exception
    assert any("not reflected yet" in i.value for i in at.info)
    for tab_key in ("mon-attn-level",):
        at.toggle(key=tab_key).set_value(True).run()
    assert not at.exception, at.exception
    at = link_app(token)
    assert not at.exception, at.exception
    assert content_hash(store) == before
    assert sent == []
