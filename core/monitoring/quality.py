"""Data-quality rule kinds: the feed itself going wrong, before any forecast error shows it.

They are rule kinds like the accuracy and drift ones (typed params, form fields, findings) and
are evaluated by the same write paths. Their alerts use '*' for "all SKUs" or "all stores".
The heavy lifting is one DuckDB query each (core.store.monitoring); only the small per-store or
per-series result is handled here.
"""

from __future__ import annotations

import pandas as pd

from core.monitoring.rules import Finding, FormField, RuleKind, in_scope
from core.store import monitoring as ms
from core.store import session

ALL = ms.SKU_LEVEL  # '*': all SKUs / all stores


class QualityKind(RuleKind):
    """A data-quality kind: judges the feed, so `info` (the active version) may be None."""

    needs_forecast = False


class FeedFreshnessRule(QualityKind, kind="feed_freshness", label="Store feed stopped"):
    """A store whose newest actual is more than N of its usual gaps behind the newest actual
    of any store: its feed stopped, or an upload skipped it."""

    threshold_field = FormField(
        "threshold", "Missed periods", 2, (1, 365, 1),
        help="Alert when a store's newest actual is more than this many of its usual gaps (beyond "
             "one) behind the newest actual of any store.")

    @classmethod
    def findings(cls, rule, info, db) -> dict[tuple[str, str], Finding]:
        with session(db) as s:
            f = in_scope(rule, ms.store_feeds(s))
        out = {}
        for r in f.itertuples(index=False):
            behind = (pd.Timestamp(r.newest) - pd.Timestamp(r.last)).days
            cadence = max(float(r.cadence), 1.0)
            missed = behind / cadence - 1  # one gap behind is the ordinary lag of a feed
            if missed >= rule.threshold:
                out[(ALL, r.store)] = Finding(
                    ALL, r.store, float(missed),
                    f"Store {r.store} has sent no actuals since {pd.Timestamp(r.last).date()}: "
                    f"{behind} days behind the newest actuals ({pd.Timestamp(r.newest).date()}), "
                    f"its usual gap is {cadence:g} day(s).",
                    {"last": str(pd.Timestamp(r.last).date()), "behind_days": behind,
                     "cadence_days": cadence})
        return out


class StoppedSeriesRule(QualityKind, kind="series_stopped", label="Series stopped selling"):
    """A series that sold on most days and now reports only zeros: an empty shelf or a
    delisting, not a lack of demand."""

    threshold_field = FormField(
        "threshold", "Zero periods in a row", 7, (1, 365, 1),
        help="Alert when a series that sold regularly has only zeros over this many of the newest "
             "dates (a likely stock-out or delisting).")
    fields = (
        FormField("reference", "Reference periods", 28, (2, 730, 1),
                  help="The dates before the zeros that show the series sold regularly."),
        FormField("min_share", "Regular = sold on at least this share of them", 0.8, (0.05, 1.0, 0.05)),
    )

    @classmethod
    def findings(cls, rule, info, db) -> dict[tuple[str, str], Finding]:
        p = rule.params
        n = int(rule.threshold)
        with session(db) as s:
            z = ms.recent_zeros(s, n, p.reference)
        z = z[(z["recent_rows"] >= n) & (z["recent_nonzero"] == 0) & (z["ref_rows"] > 0)
              & (z["ref_nonzero"] >= p.min_share * z["ref_rows"])]
        return {(r.sku, r.store): Finding(
            r.sku, r.store, 0.0,
            f"{r.sku} at {r.store} sold nothing over the last {n} dates after selling on "
            f"{r.ref_nonzero} of {r.ref_rows} dates before (mean {r.ref_mean:.1f}): likely a "
            "stock-out or a delisting.",
            {"ref_mean": float(r.ref_mean), "ref_nonzero": int(r.ref_nonzero),
             "ref_rows": int(r.ref_rows)}) for r in in_scope(rule, z).itertuples(index=False)}


class UploadVolumeRule(QualityKind, kind="upload_volume", label="Upload volume anomaly"):
    """The newest upload far smaller or larger (rows per day covered) than the usual uploads
    before it: a truncated export, a duplicated one."""

    threshold_field = FormField(
        "threshold", "Factor", 3.0, (1.0, 1000.0, 0.5),
        help="Alert when the newest upload has fewer than 1/factor or more than factor times the "
             "usual rows per day covered (median of the uploads before it).")
    fields = (
        FormField("history", "Uploads that set the usual range", 8, (2, 100, 1)),
        FormField("min_history", "Judge only after this many uploads", 2, (1, 100, 1)),
    )

    @classmethod
    def check_threshold(cls, threshold: float) -> float:
        from core.errors import ValidationError

        if not 1 < threshold <= 1000:
            raise ValidationError("The volume factor must be above 1 (e.g. 3: a third or three times the usual).")
        return float(threshold)

    @classmethod
    def findings(cls, rule, info, db) -> dict[tuple[str, str], Finding]:
        p = rule.params
        with session(db) as s:
            u = ms.upload_sizes(s, p.history + 1)
        if len(u) < p.min_history + 1:
            return {}
        new, usual = u.iloc[0], float(u["rows_per_day"].iloc[1:].median())
        if usual <= 0:
            return {}
        ratio = float(new["rows_per_day"]) / usual
        if 1 / rule.threshold <= ratio <= rule.threshold:
            return {}
        return {(ALL, ALL): Finding(
            ALL, ALL, ratio,
            f"Upload {int(new['id'])} ({new['file_name']}) has {float(new['rows_per_day']):.0f} rows per "
            f"day covered, {ratio:.2g}× the usual {usual:.0f} (median of the {len(u) - 1} uploads "
            "before it): check the export is complete.",
            {"dataset_id": int(new["id"]), "rows": int(new["rows"]), "ratio": ratio, "usual": usual})}


class RegressorPlanRule(QualityKind, kind="regressor_plans", label="Missing regressor plans"):
    """A regressor in use with no values (plan) for the coming horizon: the forecast would
    be made without the plan."""

    threshold_field = FormField(
        "threshold", "Threshold (unused)", 0.0,
        help="Alerts when a regressor in use has no plan up to the forecast horizon.")
    fields = (
        FormField("horizon_days", "Horizon in days (0 = the active version's)", 0, (0, 3660, 1)),
        FormField("lookback_days", "A regressor is in use if it has values in this many recent days",
                  28, (1, 3660, 1)),
    )

    @classmethod
    def findings(cls, rule, info, db) -> dict[tuple[str, str], Finding]:
        p = rule.params
        horizon = p.horizon_days
        if not horizon and info and info.get("forecast_start") and info.get("forecast_end"):
            horizon = (info["forecast_end"] - info["forecast_start"]).days + 1
        if not horizon:
            return {}
        with session(db) as s:
            r = ms.regressor_plans(s, p.lookback_days)
        if r.empty:
            return {}
        need = pd.to_datetime(r["last_actual"]) + pd.Timedelta(days=horizon)
        r = in_scope(rule, r[pd.to_datetime(r["plan_end"]) < need])
        out = {}
        for (sku, store), g in r.groupby(["sku", "store"], sort=True):
            end = pd.Timestamp(g["plan_end"].min()).date()
            until = (pd.Timestamp(g["last_actual"].iloc[0]) + pd.Timedelta(days=horizon)).date()
            out[(sku, store)] = Finding(
                sku, store, float((pd.Timestamp(until) - pd.Timestamp(end)).days),
                f"No plan for {', '.join(g['name'])} of {sku} at {store} after {end}; the "
                f"forecast needs it until {until}.",
                {"regressors": list(g["name"]), "plan_end": str(end), "needed_until": str(until)})
        return out


QUALITY_KINDS: tuple[type[RuleKind], ...] = tuple(QualityKind.__subclasses__())
