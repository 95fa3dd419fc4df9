"""Issue 14 item 1: after the store holds price / promo / temperature, an ordinary units-only
upload (date, SKU, store, units) broke drift (`float()` of NA), so the evaluation after the
ingest failed silently, Monitor showed a traceback and `shelfcast monitor` crashed."""

from __future__ import annotations

import json

from core import monitoring
from core.access import Actor
from core.demo import DemoSpec, generate, split_recent
from tests.monitor_helpers import make_active_version

SCI = Actor("sam", "scientist")
SPEC = DemoSpec(n_skus=6, n_stores=2, days=420, seed=7)


def test_units_only_upload_after_regressors_is_monitored(db, capsys, tmp_path):
    from core.ingest import ingest

    hist, recent = split_recent(generate(SPEC), SPEC.shift_days)
    make_active_version(db, hist, SPEC.shift_days, SCI, plan=recent)
    units_only = recent[["date", "sku", "store", "units"]]
    path = tmp_path / "units.csv"
    units_only.to_csv(path, index=False)
    result = ingest(path, SCI, db=db)
    assert result.monitoring_error is None  # the evaluation after the upload worked
    info = monitoring.active(db)
    assert info["last_failure"] is None and info["errors_current"]
    dd = monitoring.data_drift(db, keep_values=True)
    assert set(dd["column"]) == {"units"}  # regressors have no current values: not tested
    assert {a["sku"] for a in monitoring.alerts(db, ["open"]) if a["kind"] == "data_drift"} == set(SPEC.shifted_skus)

    from tests.helpers import open_page

    at = open_page("monitor", Actor("maya", "manager"))  # Monitor, its Alerts and Rules tabs
    assert not at.exception, at.exception
    frames = [d.value for d in at.dataframe]
    assert any("ack_note" in f.columns for f in frames) and any("Kind" in f.columns for f in frames)

    from core.cli import main

    assert main(["--db", str(db), "--user", "maya", "monitor", "--json"]) == 0  # accounts exist now
    rep = json.loads(capsys.readouterr().out)
    assert rep["evaluation"]["skipped"] is None and rep["alerts"]


def test_missing_regressor_values_are_left_out_of_the_samples():
    """The root: a sample with missing values (None, NaN, pd.NA, a NULL list) loses them."""
    import numpy as np
    import pandas as pd

    from core.monitoring.drift import _values

    assert _values(None).size == 0 and _values(pd.NA).size == 0 and _values(np.nan).size == 0
    got = _values([1.0, None, pd.NA, np.nan, "2.5", 3])
    assert got.tolist() == [1.0, 2.5, 3.0]
