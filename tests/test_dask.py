"""Per-series fits on a Dask cluster through joblib's Dask backend (a LocalCluster here)."""

from __future__ import annotations

import pandas as pd
import pytest

from core import parallel
from core.models import make
from core.models.base import FitContext
from core.models.data import complete
from tests.train_helpers import demo_frame, long_frame


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as c:
        yield c


def test_prophet_fleet_on_dask_matches_local(cluster, monkeypatch):
    y = complete(long_frame(demo_frame(n_skus=3, days=300)), "D")
    opts = {"uncertainty_samples": 50}
    local = make("prophet", "D", opts).fit_predict(y, 7, None, FitContext())
    monkeypatch.setenv("SHELFCAST_DASK_SCHEDULER", cluster.scheduler_address)
    seen = []
    with parallel.backend() as name:
        assert name == "dask"
    on_dask = make("prophet", "D", opts).fit_predict(y, 7, None, FitContext(progress=seen.append))
    pd.testing.assert_frame_equal(local, on_dask)
    assert sum(seen) == 3
    # the work really ran on the cluster's worker
    from distributed import Client

    with Client(cluster.scheduler_address) as client:
        counts = client.run(lambda dask_worker: dask_worker.state.executed_count)
        assert sum(counts.values()) >= 3
