"""The one interface every model implements, and the calendar helpers they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.errors import ValidationError
from core.freq import season_length

OUT_COLS = ["series_id", "ds", "yhat", "yhat_lower", "yhat_upper"]
Progress = Callable[[int], None]  # called with the number of series just finished
Cancel = Callable[[], bool]


class ModelError(ValidationError):
    """A model option or input was refused (bad value, unknown name)."""


class Cancelled(Exception):  # noqa: N818 - it is a signal, not an error
    """The user asked the run to stop; raised between units of work."""


@dataclass
class Artefact:
    """A model file produced by a final fit: written beside the store by core.training."""

    model: str
    file_name: str
    format: str  # prophet-json | skops | json
    data: bytes
    series_id: int | None = None


@dataclass
class FitContext:
    """What a fit may report to and ask of its caller."""

    progress: Progress = lambda n: None
    should_cancel: Cancel = lambda: False
    keep: bool = False  # final fit: keep serialised models and explanations
    artefacts: list[Artefact] = field(default_factory=list)
    explain: dict = field(default_factory=dict)

    def check(self) -> None:
        if self.should_cancel():
            raise Cancelled()


class Forecaster:
    """fit(train, regs, ctx) -> self, then predict(horizon, regs, ctx) -> OUT_COLS frame.

    `train` is long (series_id, ds, y) with no gaps (core.models.data.complete) and ends at the
    forecast origin for every series; `regs` (series_id, ds, <names>) covers the history and, for
    predict, the horizon, and holds only regressors whose future is known. A model must not look
    at rows after the origin: the backtest passes only what it may see.

    Fit and predict are apart so that one fitted model can forecast again (another horizon, a
    regressor scenario) without refitting, and so that predict never changes what fit learned:
    calling predict twice gives the same frame."""

    name: str = ""
    per_series: bool = False
    OPTIONS: dict[str, object] = {}

    def __init__(self, freq: str, options: dict | None = None, seed: int = 0) -> None:
        self.freq = freq
        self.season = season_length(freq)
        self.seed = seed
        self.options = self.parse_options(options or {})

    def parse_options(self, options: dict) -> dict:
        """Defaults merged with the given options, each checked and converted by its default's
        type. Unknown keys are ignored here: core.training refuses them for the whole run."""
        out = dict(self.OPTIONS)
        for key, default in self.OPTIONS.items():
            if key in options and options[key] is not None:
                out[key] = convert(key, options[key], default)
        return out

    def fit(self, train: pd.DataFrame, regs: pd.DataFrame | None, ctx: FitContext) -> Forecaster:
        raise NotImplementedError(f"{type(self).__name__} must implement fit")

    def predict(self, horizon: int, regs: pd.DataFrame | None, ctx: FitContext) -> pd.DataFrame:
        raise NotImplementedError(f"{type(self).__name__} must implement predict")

    def fit_predict(self, train: pd.DataFrame, horizon: int, regs: pd.DataFrame | None,
                    ctx: FitContext) -> pd.DataFrame:
        return self.fit(train, regs, ctx).predict(horizon, regs, ctx)


def convert(key: str, value: object, default: object) -> object:
    """An option value from text (CLI, form) to its default's type, with a clear refusal."""
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ModelError(
            f"Option {key}={value!r} is not a valid {type(default).__name__}."
        ) from None


def future_dates(origin: pd.Timestamp, horizon: int, freq: str) -> pd.DatetimeIndex:
    """The `horizon` periods after `origin` on the data's calendar."""
    return pd.date_range(origin, periods=horizon + 1, freq=freq)[1:]


def clip_nonneg(df: pd.DataFrame, nonneg: bool) -> pd.DataFrame:
    """Unit sales cannot go below zero: clip forecasts and bands when the history never did."""
    if nonneg:
        for c in ("yhat", "yhat_lower", "yhat_upper"):
            df[c] = np.maximum(df[c].to_numpy(float), 0.0)
    return df
