"""Intermittent-demand models from statsforecast: Croston (SBA by default), TSB, ADIDA, IMAPA.

Why: a slow mover sells 0, 0, 3, 0, 1... A smoothing model chases each sale and each zero;
these methods estimate the size of a sale and how often one happens apart, and forecast the
flat rate in between, which is what replenishment needs. They suit the "intermittent" and
"lumpy" classes of core.models.classify.

All forecast a flat level per series. The library gives them no 80% band, so it is
yhat ± Z80 × the RMS distance of the last year's demand from that level
(core.models.statistical.band_from_spread); core.training may recalibrate it from backtest errors.
Shared behaviour (fallbacks, chunks, clipping): core.models.statistical.StatsForecastModel.
"""

from __future__ import annotations

from core.models.base import ModelError
from core.models.statistical import StatsForecastModel


class _Intermittent(StatsForecastModel):
    native_band = False
    min_obs = 2


class Croston(_Intermittent):
    """Croston's method. Options: `croston_variant` ("sba" default: Syntetos-Boylan approximation, the
    classic forecast times 0.95 to remove its upward bias; "classic"; "optimized": smoothing
    weights fitted per series)."""

    name = "croston"
    OPTIONS: dict[str, object] = {"croston_variant": "sba"}

    def parse_options(self, options: dict) -> dict:
        out = super().parse_options(options)
        if out["croston_variant"] not in ("sba", "classic", "optimized"):
            raise ModelError("Option croston_variant must be sba, classic or optimized.")
        return out

    def _model(self, m: int, form: str | None = None):
        from statsforecast import models as lib

        return {"sba": lib.CrostonSBA, "classic": lib.CrostonClassic,
                "optimized": lib.CrostonOptimized}[self.options["croston_variant"]]()


class TSB(_Intermittent):
    """Teunter-Syntetos-Babai: smooths the probability of a sale every period (so a series that
    stops selling decays towards zero, unlike Croston). Options: `alpha_d` (0.1) smoothing of the
    sale size, `alpha_p` (0.1) smoothing of the sale probability, each in (0, 1]."""

    name = "tsb"
    OPTIONS: dict[str, object] = {"alpha_d": 0.1, "alpha_p": 0.1}

    def parse_options(self, options: dict) -> dict:
        out = super().parse_options(options)
        bad = [k for k in ("alpha_d", "alpha_p") if not 0 < out[k] <= 1]
        if bad:
            raise ModelError(f"Options {', '.join(bad)} must be above 0 and at most 1.")
        return out

    def _model(self, m: int, form: str | None = None):
        from statsforecast.models import TSB as Lib

        return Lib(alpha_d=self.options["alpha_d"], alpha_p=self.options["alpha_p"])


class ADIDA(_Intermittent):
    """Aggregate-disaggregate: sums demand into buckets of the mean interval between sales,
    smooths the buckets (where zeros are rarer), and spreads the result back. No options."""

    name = "adida"

    def _model(self, m: int, form: str | None = None):
        from statsforecast.models import ADIDA as Lib

        return Lib()


class IMAPA(_Intermittent):
    """Multiple aggregation: ADIDA at every bucket size from 1 to the mean interval, averaged,
    which spares the choice of one bucket. No options."""

    name = "imapa"

    def _model(self, m: int, form: str | None = None):
        from statsforecast.models import IMAPA as Lib

        return Lib()
