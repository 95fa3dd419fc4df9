"""The global model on a fleet larger than its training sample."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from core.models import make
from core.models.base import FitContext


def test_series_left_out_of_the_sample_get_a_forecast_and_no_warning():
    """With more series than sampled rows some series have no residuals: their band is zero-wide,
    and numpy's "All-NaN slice" warning no longer reaches the CLI user (it printed in the 100k
    fleet's best-of run)."""
    rng = np.random.default_rng(0)
    n, days = 100, 120
    df = pd.DataFrame({"series_id": np.repeat(np.arange(n), days),
                       "ds": np.tile(pd.date_range("2024-01-01", periods=days, freq="D"), n),
                       "y": rng.poisson(5, n * days).astype(float)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = make("sklearn", "D", {"max_rows": 50}).fit_predict(df, 7, None, FitContext())
    assert out["series_id"].nunique() == n
    assert out[["yhat", "yhat_lower", "yhat_upper"]].notna().all().all()
