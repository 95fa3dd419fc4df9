"""Forecasting models behind one interface (see base.Forecaster).

Every model takes the same long frame (series_id, ds, y) cut at a forecast origin, plus the
known regressors, and returns series_id, ds, yhat, yhat_lower, yhat_upper (80% interval) for the
next `horizon` periods of the data's frequency.
"""

from __future__ import annotations

from core.models.base import Forecaster, ModelError
from core.models.naive import SeasonalNaive

KINDS = ("prophet", "sklearn", "naive", "best")
CANDIDATES = ("naive", "sklearn", "prophet")


def make(name: str, freq: str, options: dict | None = None, seed: int = 0) -> Forecaster:
    """A fresh, unfitted model by name."""
    options = options or {}
    if name == "naive":
        return SeasonalNaive(freq, options, seed)
    if name == "sklearn":
        from core.models.sklearn_global import SklearnGlobal

        return SklearnGlobal(freq, options, seed)
    if name == "prophet":
        from core.models.prophet_fleet import ProphetFleet

        return ProphetFleet(freq, options, seed)
    raise ModelError(f"Unknown model {name!r}; choose one of {', '.join(CANDIDATES)}.")


__all__ = ["CANDIDATES", "KINDS", "Forecaster", "ModelError", "SeasonalNaive", "make"]
