"""Monitoring benchmark: 10M rows of forecasts and actuals (5,000 series × 2,000 days), per-SKU
accuracy and data drift for every series, Shelfcast's DuckDB path versus the same computation in
pandas, in one run. Targets (issue 5): DuckDB >= 3x faster, accuracy query <= 0.5 s.

    .venv/bin/python bench/monitor.py [--series 5000] [--days 2000]

The store is built in a temporary file through the real schema (an active version with its
forecasts, backtest rows and metrics). pandas gets its frames already in memory (loading them is
not timed), so the comparison is computation against computation: both start from the stored
errors (joined once per promotion, timed separately). Both paths must agree."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import monitoring  # noqa: E402
from core.store import monitoring as ms  # noqa: E402
from core.store import registry, session  # noqa: E402
from core.store.db import raw  # noqa: E402
from core.store.versions import Version  # noqa: E402

START = date(2021, 1, 4)  # a Monday
LEAD = 56  # days of history before the forecasts start (the drift reference)


def build(db: Path, n_series: int, days: int) -> None:
    """series (5 stores per SKU), sales for LEAD + days, forecasts for `days`; a tenth of the
    SKUs lose half their demand in the last 28 days."""
    with session(db, write=True) as s:
        con = raw(s)
        con.execute(
            """INSERT INTO series SELECT i + 1,
                 ['BEV','SNK','DRY','HOU'][i // 5 % 4 + 1] || '-' || lpad((i // 5)::VARCHAR, 4, '0'),
                 'Store ' || (i % 5)::VARCHAR FROM range(?) t(i)""",
            [n_series],
        )
        con.execute(
            """CREATE TEMP TABLE base AS SELECT series_id, 5 + (hash(series_id) % 40)::DOUBLE AS lvl,
                      (series_id // 5) % 10 = 0 AS shifted FROM series"""
        )
        con.execute(
            """INSERT INTO sales (series_id, ds, y, dataset_id) SELECT b.series_id, ?::DATE + d::INT AS ds,
                 greatest(0, round(b.lvl * (1 + 0.25 * sin(2 * pi() * d / 7))
                   * (0.75 + 0.5 * random())
                   * CASE WHEN b.shifted AND d >= ? THEN 0.5 ELSE 1 END)), 1
               FROM base b, range(?) r(d)""",
            [START, LEAD + days - 28, LEAD + days],
        )
        v = Version(kind="bench", horizon=days, folds=1, freq="D", created_by="bench", status="ready",
                    metrics='{"wape": 0.2, "accuracy": 0.8}', n_series=n_series)
        s.add(v)
        s.flush()
        con.execute(
            """INSERT INTO forecasts SELECT ?, b.series_id, ?::DATE + d::INT,
                 b.lvl * (1 + 0.25 * sin(2 * pi() * d / 7)) AS yhat,
                 0.8 * b.lvl * (1 + 0.25 * sin(2 * pi() * d / 7)),
                 1.2 * b.lvl * (1 + 0.25 * sin(2 * pi() * d / 7)), 'bench'
               FROM base b, range(?, ?) r(d)""",
            [v.id, START, LEAD, LEAD + days],
        )
        con.execute(
            """INSERT INTO backtests SELECT ?, s.series_id, 'bench', 0, ?::DATE, s.ds, s.y,
                 b.lvl * (1 + 0.25 * sin(2 * pi() * (s.ds - ?::DATE) / 7)), NULL, NULL
               FROM sales s JOIN base b USING (series_id) WHERE s.ds < ?::DATE + ?::INT""",
            [v.id, START, START, START, LEAD],
        )
        con.execute(
            """INSERT INTO series_metrics SELECT ?, series_id, 'bench', NULL,
                 sum(abs(yhat - y)) / sum(y), NULL, NULL, NULL, NULL, NULL, NULL,
                 sum(abs(yhat - y)), sum(y), count(*) FROM backtests GROUP BY series_id""",
            [v.id],
        )
        registry.set_active(s, v.id)


def pandas_frames(db: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    with session(db) as s:
        con = raw(s)
        sales = con.execute("SELECT series_id, ds, y FROM sales").df()
        fc = con.execute("SELECT series_id, ds, yhat FROM forecasts").df()
        series = con.execute("SELECT series_id, sku, store FROM series").df()
        errors = con.execute(
            "SELECT e.series_id, sku, store, ds, y, yhat FROM monitor_errors e JOIN series USING (series_id)"
        ).df()
    return sales, fc, series, errors


def pandas_join(sales: pd.DataFrame, fc: pd.DataFrame, series: pd.DataFrame) -> pd.DataFrame:
    """What sync_errors does after a promotion: forecasts joined to actuals, with sku and store."""
    return fc.merge(sales, on=["series_id", "ds"]).merge(series, on="series_id")


def pandas_accuracy(m: pd.DataFrame, start) -> pd.Series:
    """Per SKU: 1 − WAPE of weekly totals, stores summed — the same definition as the store's."""
    m = m[m["ds"] >= pd.Timestamp(start)]
    m = m.assign(week=m["ds"].dt.to_period("W-SUN").dt.start_time)
    w = m.groupby(["sku", "week"], sort=False)[["y", "yhat"]].sum()
    w["ae"] = (w["yhat"] - w["y"]).abs()
    g = w.groupby(level="sku")[["ae", "y"]].sum()
    return (1 - g["ae"] / g["y"]).clip(lower=0).sort_index()


def pandas_drift_samples(sales: pd.DataFrame, series: pd.DataFrame, ref, cur) -> tuple[pd.Series, pd.Series]:
    """Per SKU: reference and current units (one value per store and day), as arrays."""
    s = sales.merge(series[["series_id", "sku"]], on="series_id")
    r = s[(s["ds"] >= pd.Timestamp(ref[0])) & (s["ds"] <= pd.Timestamp(ref[1]))].groupby("sku")["y"]
    c = s[(s["ds"] >= pd.Timestamp(cur[0])) & (s["ds"] <= pd.Timestamp(cur[1]))].groupby("sku")["y"]
    return r.apply(np.asarray), c.apply(np.asarray)


def drift_tests(ref: pd.Series, cur: pd.Series) -> pd.Series:
    """The statistical test per SKU (core.monitoring.drift_test: KS here), the same for both paths."""
    return pd.Series({k: monitoring.drift_test(ref[k], cur[k])["score"] for k in ref.index}).sort_index()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=5000)
    ap.add_argument("--days", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        os.environ["SHELFCAST_DB"] = str(db)
        t = time.perf_counter()
        build(db, args.series, args.days)
        with session(db) as s:
            n_fc = raw(s).execute("SELECT count(*) FROM forecasts").fetchone()[0]
            n_y = raw(s).execute("SELECT count(*) FROM sales").fetchone()[0]
        print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"built {n_fc:,} forecast rows and {n_y:,} actuals ({args.series:,} series) in "
              f"{time.perf_counter() - t:.1f} s")

        start = START + timedelta(days=LEAD)
        t = time.perf_counter()
        monitoring.sync(db)  # what a promotion costs: forecasts joined to actuals, stored
        t_sync = time.perf_counter() - t
        t = time.perf_counter()
        with session(db) as s:  # the accuracy query: every SKU, stores summed, weekly errors
            acc_db = ms.window_accuracy(s, start, "week", "sku")
        t_acc = time.perf_counter() - t
        t = time.perf_counter()
        with session(db) as s:
            acc_series = ms.window_accuracy(s, start, "week", "series")
        t_acc_series = time.perf_counter() - t
        w = monitoring.drift_windows(db, 4, "week")
        t = time.perf_counter()
        with session(db) as s:  # reference and current values of every SKU, as lists
            samples = ms.drift_samples(s, w["reference"], w["current"], "sku")
        t_extract = time.perf_counter() - t
        units = samples[samples["col"] == "units"].set_index("sku")
        t = time.perf_counter()
        drift_db = drift_tests(units["ref"], units["cur"])
        t_tests = time.perf_counter() - t

        sales, fc, series, errors = pandas_frames(db)
        t = time.perf_counter()
        joined = pandas_join(sales, fc, series)
        t_join_pd = time.perf_counter() - t
        assert len(joined) == len(errors)
        del joined
        t = time.perf_counter()
        acc_pd = pandas_accuracy(errors, start)
        t_acc_pd = time.perf_counter() - t
        t = time.perf_counter()
        ref_pd, cur_pd = pandas_drift_samples(sales, series, w["reference"], w["current"])
        t_extract_pd = time.perf_counter() - t
        drift_pd = drift_tests(ref_pd, cur_pd)

    got = acc_db.set_index("sku")["accuracy"].sort_index()
    assert np.allclose(got.to_numpy(), acc_pd.to_numpy()), "accuracy differs between the paths"
    assert np.allclose(drift_db.to_numpy(), drift_pd.to_numpy()), "drift differs between the paths"
    flagged = int((drift_db < 0.05).sum())

    print(f"join forecasts to actuals (once per promotion): DuckDB {t_sync:6.2f} s   pandas {t_join_pd:6.2f} s   "
          f"ratio {t_join_pd / t_sync:5.1f}x")
    print(f"per-SKU accuracy ({len(acc_db):,} SKUs):        DuckDB {t_acc:6.2f} s   pandas {t_acc_pd:6.2f} s   "
          f"ratio {t_acc_pd / t_acc:5.1f}x   (target <= 0.5 s)")
    print(f"per-series accuracy ({len(acc_series):,} series): DuckDB {t_acc_series:6.2f} s")
    print(f"drift samples, all SKUs:             DuckDB {t_extract:6.2f} s   pandas {t_extract_pd:6.2f} s   "
          f"ratio {t_extract_pd / t_extract:5.1f}x")
    print(f"drift tests (scipy KS, same code):   {t_tests:6.2f} s   ({flagged} SKUs drifted; "
          f"{len(drift_db) // 10} shifted by design)")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    total_db, total_pd = t_acc + t_extract + t_tests, t_acc_pd + t_extract_pd + t_tests
    print(f"accuracy + drift:                    DuckDB {total_db:6.2f} s   pandas {total_pd:6.2f} s   "
          f"ratio {total_pd / total_db:5.1f}x   (target >= 3x)")


if __name__ == "__main__":
    main()
