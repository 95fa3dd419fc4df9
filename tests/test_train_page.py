"""The Train page in AppTest: start a job, watch it, cancel one, and read the results."""

from __future__ import annotations

import pytest

from core import jobs, training
from core.access import Actor
from tests.helpers import open_page
from tests.train_helpers import make_store

SCI = Actor("sam", "scientist")


def test_empty_store_says_what_to_do(db):
    at = open_page("train", SCI)
    assert not at.exception
    assert any("Upload a sales file" in i.value for i in at.info)


def test_manager_has_no_train_page(db):
    from app import nav

    assert "train.py" not in [f for f, _, p in nav.PAGES if Actor("maya", "manager").can(p)]
    assert "train.py" in [f for f, _, p in nav.PAGES if SCI.can(p)]


@pytest.mark.slow
def test_start_job_then_results(db, tmp_path):
    make_store(tmp_path, n_skus=3, days=300)
    at = open_page("train", SCI)
    assert not at.exception
    assert any("No finished versions yet" in i.value for i in at.info)
    at.selectbox(key="train-kind").set_value("Global gradient boosting (scikit-learn)").run()
    at.number_input(key="train-horizon").set_value(7)
    at.number_input(key="train-folds").set_value(2)
    at.selectbox(key="opt-estimator").set_value("ridge")
    at.button(key="train-start").click().run()
    assert not at.exception, at.exception
    vid = at.session_state["train_watch"][-1]
    assert jobs.wait(vid, timeout=120)
    at.run()  # the panel sees the job finished and reruns the page onto its results
    assert not at.exception, at.exception
    assert jobs.status(vid, db).status == "ready"
    assert at.selectbox(key="res-version").value == vid
    labels = [m.label for m in at.metric]
    assert "Accuracy (1 − WAPE)" in labels and "80% interval coverage" in labels
    assert len(at.dataframe) >= 1
    assert len(at.get("plotly_chart")) == 2  # series chart + feature importance


@pytest.mark.slow
def test_cancel_from_the_page_and_prophet_components(db, tmp_path):
    make_store(tmp_path, n_skus=2, days=300)
    pv = training.train(SCI, "prophet", horizon=7, folds=1, options={"uncertainty_samples": 20}, db=db)
    vid = training.start(SCI, "prophet", horizon=7, folds=3, db=db)  # shown as running
    with training._live_lock:
        training._live.add(vid)
    try:
        at = open_page("train", SCI)
        assert not at.exception, at.exception
        assert any(f"v{vid} · prophet" in p.proto.text for p in at.get("progress"))
        at.button(key=f"train-cancel-{vid}").click().run()
        assert jobs.status(vid, db).cancel_requested
    finally:
        with training._live_lock:
            training._live.discard(vid)
    assert at.selectbox(key="res-version").value == pv  # the only ready version
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 2  # series chart + Prophet components


def test_form_offers_core_choices_best_first(db, tmp_path):
    """Kinds, candidates, the horizon cap and option defaults come from core; 'best' leads."""
    from core import models
    from core.training import MAX_HORIZON

    make_store(tmp_path, n_skus=2, days=60)
    at = open_page("train", SCI)
    assert not at.exception, at.exception
    kind = at.selectbox(key="train-kind")
    assert kind.value == models.LABELS["best"] and len(kind.options) == len(models.KINDS)
    assert at.multiselect(key="train-candidates").value == models.default_candidates()
    assert at.multiselect(key="train-candidates").options == [models.LABELS[k] for k in models.CANDIDATES]
    assert at.number_input(key="train-horizon").max == MAX_HORIZON["D"]
    assert at.number_input(key="opt-max-iter").value == models.make("sklearn", "D").OPTIONS["max_iter"]
    assert not [n for n in at.number_input if n.key == "opt-samples"]  # Prophet is not a default candidate


def test_one_series_is_picked_by_sku_then_store(db, tmp_path):
    """At 100,000 series one list of every series was 100,000 options per view: a SKU, then
    one of its stores; the chart is that series'."""
    make_store(tmp_path, n_skus=3, days=120)
    vid = training.train(SCI, "naive", horizon=7, folds=1, db=db)
    at = open_page("train", SCI)
    assert not at.exception, at.exception
    skus = at.selectbox(key=f"res-sku-{vid}").options
    assert len(skus) == 3
    at.selectbox(key=f"res-sku-{vid}").set_value(skus[-1]).run()
    store = at.selectbox(key=f"res-series-{vid}-{skus[-1]}")
    assert store.options and all("(naive)" in o for o in store.options)
    sid = store.value
    assert not at.exception, at.exception
    fig = at.get("plotly_chart")[0].proto.spec
    assert skus[-1] in fig and "history, backtests" in fig
    assert isinstance(sid, int)
