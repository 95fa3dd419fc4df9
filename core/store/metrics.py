"""The SQL twin of core.metrics: one DuckDB macro per metric, so no query in core/store writes
WAPE, accuracy, bias or coverage out by hand (they had drifted apart: `sum(y)` here, `sum(abs(y))`
there, floored in some places). tests/test_metrics_sql.py holds each macro to its Python twin.

Aggregate macros take the (actual, forecast) rows of a group; a pair with either side missing is
ignored, as core.metrics.compute drops it. `metric_wape_of` takes already summed parts (series
metrics, rolling windows). Accuracy is 1 − WAPE and never floored here: only the display floors.

"The model that serves a series" is defined once too: `serving_models(ids)` (the model whose
forecast a version publishes for each series); `chosen_backtests(ids)` keeps only the backtest
rows of those models, and `active_serving` / `active_backtests` apply both to the active version.
"""

from __future__ import annotations

from core.store import sales, versions  # noqa: F401 - their tables' DDL must come before ours
from core.store.schema import DDL

# (name, arguments, body) of each aggregate macro; core.metrics has the Python twin.
MACROS = [
    ("metric_abs_err", "y, yhat", "sum(abs(yhat - y))"),
    ("metric_abs_y", "y, yhat", "sum(abs(y) * (yhat IS NOT NULL)::INTEGER)"),
    ("metric_wape_of", "abs_err, abs_y", "abs_err / nullif(abs_y, 0)"),
    ("metric_wape", "y, yhat", "metric_wape_of(metric_abs_err(y, yhat), metric_abs_y(y, yhat))"),
    ("metric_accuracy", "y, yhat", "1 - metric_wape(y, yhat)"),
    ("metric_bias", "y, yhat", "sum(yhat - y) / nullif(metric_abs_y(y, yhat), 0)"),
    ("metric_coverage", "y, lo, hi",
     "avg(CASE WHEN y IS NULL OR lo IS NULL OR hi IS NULL THEN NULL "
     "ELSE (y >= lo AND y <= hi)::DOUBLE END)"),
]

DDL += [f"CREATE OR REPLACE MACRO {name}({args}) AS {body}" for name, args, body in MACROS]
DDL += [
    # A version's backtests hold every model trained alongside (the naive reference, best-of's
    # losers); its own prediction for a series is the model that produced that series'
    # forecast. These keep only those rows, so WAPE is that of what would be published.
    """CREATE OR REPLACE MACRO serving_models(ids) AS TABLE
       SELECT DISTINCT version_id, series_id, model FROM forecasts
       WHERE list_contains(ids, version_id)""",
    """CREATE OR REPLACE MACRO chosen_backtests(ids) AS TABLE
       SELECT b.* FROM backtests b JOIN serving_models(ids) c USING (version_id, series_id, model)""",
]
DDL += [
    """CREATE OR REPLACE VIEW active_serving AS SELECT * FROM serving_models(
         (SELECT list(version_id) FROM active WHERE scope = 'default'))""",
    """CREATE OR REPLACE VIEW active_backtests AS SELECT * FROM chosen_backtests(
         (SELECT list(version_id) FROM active WHERE scope = 'default'))""",
]
