"""Monitor's forecast-vs-actual chart reads the active version's rows directly unless a live
override covers the SKU; with one it shows the overridden forecast (active_forecasts), without
one exactly the version's own numbers."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from core import monitoring
from core.access import Actor
from core.demo import DemoSpec, generate, split_recent
from core.store import session
from core.store.db import raw
from tests.monitor_helpers import make_active_version

SCI = Actor("sam", "scientist")


def test_forecast_vs_actual_follows_live_overrides_only(db):
    spec = DemoSpec(n_skus=3, n_stores=2, days=120, seed=3)
    hist, recent = split_recent(generate(spec), 14)
    make_active_version(db, hist, 14, SCI, plan=recent)
    info = monitoring.active(db)
    skus = sorted(hist["sku"].unique())
    with session(db) as s:
        own = raw(s).execute(
            """SELECT se.sku, f.ds, sum(f.yhat) FROM forecasts f JOIN series se USING (series_id)
               WHERE f.version_id = ? GROUP BY ALL ORDER BY ALL""", [info["version_id"]]).fetchall()
    own = {(k, d): v for k, d, v in own}
    start = info["forecast_start"]
    with session(db, write=True) as s:  # +50% on the first SKU for the first week, and an ended one
        raw(s).execute(
            """INSERT INTO overrides (id, sku, store, start_date, end_date, mode, value, reason, note,
                   created_by, created_at, ended_by, ended_at)
               VALUES (nextval('overrides_id_seq'), ?, NULL, ?, ?, 'pct', 50, 'promo', '', 'sam', now(), NULL, NULL),
                      (nextval('overrides_id_seq'), ?, NULL, ?, ?, 'pct', 90, 'old', '', 'sam', now(), 'sam', now())""",
            [skus[0], start, start + timedelta(days=6), skus[1], start, start + timedelta(days=6)])
    for sku, factor in ((skus[0], 1.5), (skus[1], 1.0), (skus[2], 1.0)):
        fva = monitoring.forecast_vs_actual(db, sku, info=info).dropna(subset=["yhat"])
        first_week = fva["ds"].dt.date <= start + timedelta(days=6)
        want = np.array([own[(sku, d.date())] for d in fva["ds"]])
        want[first_week.to_numpy()] *= factor
        assert np.allclose(fva["yhat"].to_numpy(), want), sku
