"""The trainer's sales read streams batches into arrays made once: it must give exactly the rows,
order and types of the plain query."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.store import session, training_reads
from core.store.db import raw
from tests.train_helpers import make_store


def test_sales_arrays_equal_the_ordered_query_across_batches(tmp_path, monkeypatch):
    db = make_store(tmp_path, n_skus=5, n_stores=2, days=150)
    with session(db) as s:
        want = raw(s).execute("SELECT series_id, ds, y FROM sales ORDER BY series_id, ds").df()
        real = raw(s).execute

        class Small:  # batches of 7 rows, so the copy into the arrays crosses many batches
            def __init__(self, con):
                self.con = con

            def execute(self, sql, *a):
                r = real(sql, *a)
                if "ORDER BY" in sql:
                    return type("R", (), {"to_arrow_reader": lambda _self, _n: r.to_arrow_reader(7)})()
                return r

        monkeypatch.setattr(training_reads, "raw", lambda _s: Small(raw(_s)))
        got = training_reads.sales_arrays(s)
    assert len(got) == len(want) == 10 * 150
    assert got["series_id"].dtype == np.int32 and got["ds"].dtype == "datetime64[ns]"
    pd.testing.assert_series_equal(got["series_id"], want["series_id"].astype(np.int32))
    assert (got["ds"].to_numpy() == pd.to_datetime(want["ds"]).to_numpy()).all()
    assert np.array_equal(got["y"].to_numpy(), want["y"].to_numpy())
