"""Forecasting models behind one interface (see base.Forecaster), and the catalogue of them.

Every model takes the same long frame (series_id, ds, y) cut at a forecast origin, plus the
known regressors, and returns series_id, ds, yhat, yhat_lower, yhat_upper (80% interval) for the
next `horizon` periods of the data's frequency.

The catalogue (`CATALOGUE`, `label`, `options`) is the one place that names the models for
people: the CLI's `--help` and the Train page render from it, so a new model appears everywhere
by adding one line here. Models live in modules imported only when used (Prophet and
statsforecast take seconds to import).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache

from core.models.base import Forecaster, ModelError
from core.models.naive import SeasonalNaive


@dataclass(frozen=True)
class Entry:
    label: str  # what a person sees
    module: str  # where the Forecaster subclass with `name == kind` lives
    help: str  # one line: when to use it
    slow: bool = False  # left out of best-of's default candidates


CATALOGUE: dict[str, Entry] = {
    "naive": Entry("Seasonal naive", "core.models.naive",
                   "repeats the last season; the baseline every model must beat"),
    "sklearn": Entry("Global gradient boosting (scikit-learn)", "core.models.sklearn_global",
                     "one model over all series; learns shared patterns, regressors, trend"),
    "ets": Entry("Exponential smoothing (AutoETS)", "core.models.statistical",
                 "per series; level, trend and season chosen by AICc"),
    "theta": Entry("Theta (AutoTheta)", "core.models.statistical",
                   "per series; robust on smooth monthly data"),
    "arima": Entry("ARIMA (AutoARIMA)", "core.models.statistical",
                   "per series; slow, best on long regular histories", slow=True),
    "croston": Entry("Croston SBA", "core.models.intermittent",
                     "per series; intermittent demand (many zero periods)"),
    "tsb": Entry("TSB", "core.models.intermittent",
                 "per series; intermittent demand that may die out"),
    "adida": Entry("ADIDA", "core.models.intermittent",
                   "per series; intermittent demand, temporal aggregation"),
    "imapa": Entry("IMAPA", "core.models.intermittent",
                   "per series; intermittent demand, several aggregation levels"),
    "prophet": Entry("Prophet", "core.models.prophet_fleet",
                     "per series; holidays and changepoints, slow (~0.2 s a series)", slow=True),
}
# Kinds of a training run: every model, plus combinations over a set of candidates
COMBINERS = {
    "ensemble": "Ensemble: per series, the mean (or median) of the top k candidates by backtest",
    "best": "Best of: per series, the candidate or ensemble with the lowest backtest error",
}
CANDIDATES = tuple(CATALOGUE)
KINDS = (*CANDIDATES, *COMBINERS)
LABELS = {**{k: e.label for k, e in CATALOGUE.items()}, **{k: v.split(":")[0] for k, v in COMBINERS.items()}}


@cache
def model_class(name: str) -> type[Forecaster]:
    """The Forecaster subclass for a model name, imported on first use."""
    entry = CATALOGUE.get(name)
    if entry is None:
        raise ModelError(f"Unknown model {name!r}; choose one of {', '.join(CANDIDATES)}.")
    try:
        module = importlib.import_module(entry.module)
    except ImportError as exc:
        raise ModelError(f"Model {name!r} is not available in this installation ({exc}).") from None
    for obj in vars(module).values():
        if isinstance(obj, type) and issubclass(obj, Forecaster) and obj.name == name:
            return obj
    raise ModelError(f"Model {name!r} is not available in this installation.")


def available(name: str) -> bool:
    try:
        model_class(name)
    except ModelError:
        return False
    return True


def default_candidates() -> list[str]:
    """best-of's and ensemble's candidates when none are named: every installed model that is
    not slow."""
    return [k for k, e in CATALOGUE.items() if not e.slow and available(k)]


def options(name: str) -> dict[str, object]:
    """A model's options with their defaults (for forms and `--help`)."""
    return dict(model_class(name).OPTIONS)


def label(kind: str) -> str:
    return LABELS.get(kind, kind)


def describe() -> str:
    """One line per kind, for `shelfcast train --help`."""
    rows = [f"{k}: {e.label} - {e.help}" for k, e in CATALOGUE.items()]
    rows += [f"{k}: {v}" for k, v in COMBINERS.items()]
    return "; ".join(rows)


def make(name: str, freq: str, options: dict | None = None, seed: int = 0,
         memo: dict | None = None) -> Forecaster:
    """A fresh, unfitted model by name.

    `memo`: a dict that lives for one training run (one per model name, never shared across
    runs or data sets: its keys are the run's series ids). Models that search a form per series
    (ETS, Theta) record there what the first fit chose, and later fits of the run fit only that
    form. Without it, every fit searches, as a lone fit should."""
    if name == "naive":
        return SeasonalNaive(freq, options or {}, seed)
    cls = model_class(name)
    if memo is not None and getattr(cls, "remembers_forms", False):
        return cls(freq, options or {}, seed, memo=memo)
    return cls(freq, options or {}, seed)


__all__ = ["CANDIDATES", "CATALOGUE", "KINDS", "LABELS", "Forecaster", "ModelError", "SeasonalNaive",
           "available", "default_candidates", "describe", "label", "make", "model_class", "options"]
