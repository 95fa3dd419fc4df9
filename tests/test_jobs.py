"""Background training jobs: status and progress from the store, cancel, start-up recovery."""

from __future__ import annotations

import pytest

from core import jobs, training
from core.access import Actor
from core.errors import PermissionDenied
from tests.train_helpers import SCI, make_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("jobs"), n_skus=3, days=300)


def test_job_runs_in_background_and_reports_progress(store):
    vid = jobs.start(SCI, "sklearn", horizon=7, folds=2, options={"estimator": "ridge"}, db=store)
    st = jobs.status(vid, store)
    assert st.kind == "sklearn" and st.created_by == "sam"
    assert jobs.wait(vid, timeout=120)
    st = jobs.status(vid, store)
    assert st.status == "ready" and st.finished and st.fraction == 1.0 and st.eta_s is None
    assert training.mark_interrupted(store) == []


def test_cancel_stops_a_running_job(store):
    vid = jobs.start(SCI, "prophet", horizon=7, folds=3, options={"uncertainty_samples": 0}, db=store)
    with pytest.raises(PermissionDenied):
        jobs.cancel(Actor("vic", "viewer"), vid, store)
    jobs.cancel(SCI, vid, store)
    assert jobs.wait(vid, timeout=120)
    st = jobs.status(vid, store)
    assert st.status == "cancelled" and st.cancel_requested and "Cancelled" in st.error


def test_refused_request_raises_in_the_caller(store):
    with pytest.raises(PermissionDenied):
        jobs.start(Actor("maya", "manager"), "naive", db=store)


def test_on_startup_marks_orphans_once(store):
    vid = training.start(SCI, "naive", horizon=7, folds=1, db=store)  # never run: an orphan
    assert jobs.on_startup(store) == [vid]
    assert jobs.status(vid, store).status == "interrupted"
    assert jobs.on_startup(store) == []  # once per process
