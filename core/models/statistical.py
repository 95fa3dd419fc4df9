"""Per-series statistical models from statsforecast: AutoETS, AutoTheta and AutoARIMA.

Why a library: these are the baselines a planner compares against, and statsforecast's compiled
fits (C++ in 2.x, no numba JIT to warm up) run one fit per series at a few milliseconds, which a
hand-written version would not match nor be trusted as much. Its multi-series path
(`StatsForecast.fit` over the whole long frame) does the looping; we hand it chunks of series only
so that progress is reported and a cancel is honoured between chunks.

Shared behaviour (`StatsForecastModel`):
- series shorter than the model needs (`min_obs`), and any series whose fit gives a non-finite
  forecast, take seasonal naive instead; `ctx.explain["fallback_<name>"]` says how many and why;
- a fit that raises inside the library falls back to statsforecast's Naive for that series;
- the 80% band is the library's own where it has one (ETS, Theta, ARIMA), else
  `band_from_spread` (intermittent models); core.training may recalibrate quantiles from
  backtest errors;
- forecasts and bands are clipped at zero when the history never went below it.

Threads: fits are single-threaded (`n_jobs=1`); parallelism across series is core.training's
business, and OMP/BLAS stay at 1 as in the Makefile.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from core.metrics import Z80
from core.models.base import OUT_COLS, FitContext, Forecaster, ModelError, clip_nonneg, future_dates
from core.models.data import runs, sort_long
from core.models.naive import SeasonalNaive

CHUNK = 256  # series per library call: progress and cancel granularity, not a speed knob
LEVEL = 80


class StatsForecastModel(Forecaster):
    """fit(train, regs, ctx) -> self; predict(horizon, regs, ctx) -> OUT_COLS frame.

    Option names are unique across models (core.training passes one flat dict to every model of
    a run); `season_length` and `max_history` are shared on purpose. Subclasses say which statsforecast model to build (`_model`), how short a series may be
    (`min_obs`) and whether the library gives an 80% band (`native_band`). Regressors are not
    used: these are univariate models."""

    per_series = True  # core.training fits it only on the series it won
    remembers_forms = False  # searches a form per series that a run's memo can keep (form_of)
    min_obs = 2
    native_band = True

    def __init__(self, freq: str, options: dict | None = None, seed: int = 0,
                 memo: dict | None = None) -> None:
        super().__init__(freq, options, seed)
        # series_id -> form, shared by the fits of one training run (see `form_of`)
        once = self.options.get("form_search", "once") == "once"
        self.forms_ = None if memo is None or not once else memo.setdefault(
            ("forms", self.name, self.m, tuple(sorted(self.options.items()))), {})

    def parse_options(self, options: dict) -> dict:
        out = super().parse_options(options)
        for key in ("season_length", "max_history"):
            if key in out and int(out[key]) < 0:
                raise ModelError(f"Option {key} must be 0 (the default) or a positive number.")
        if out.get("form_search", "once") not in ("once", "every_fit"):
            raise ModelError("Option form_search must be once or every_fit.")
        return out

    @property
    def m(self) -> int:
        """Season length: the option if set, else the frequency's (7 daily, 52 weekly, 12 monthly)."""
        return int(self.options.get("season_length") or 0) or self.season

    def _model(self, m: int, form: str | None = None):  # pragma: no cover - abstract
        """The library model; `form` (from `form_of`) fixes what it would otherwise search."""
        raise NotImplementedError

    def form_of(self, fitted) -> str | None:
        """The form a searching fit chose for one series (ETS letters, Theta variant), or None
        when this model searches nothing. With a memo (core.models.make), a training run
        searches each series' form on its first fit (the first backtest fold) and every later
        fit of the run (later folds, the final fit) fits only that form: the search is most of
        the cost (AutoETS compares up to 15 forms, AutoTheta 4 variants)."""
        return None

    def forms_fit(self, forms: pd.Series, positive: np.ndarray) -> np.ndarray:
        """Per series, whether its remembered form can be fitted on this data (ETS's
        multiplicative forms need positive data, and zeros may appear after the fold that chose
        the form); the others search again."""
        return np.ones(len(forms), bool)

    def fit(self, train: pd.DataFrame, regs: pd.DataFrame | None, ctx: FitContext) -> StatsForecastModel:
        df = train[["series_id", "ds", "y"]].sort_values(["series_id", "ds"], kind="stable")
        self.origin_ = df["ds"].max()
        self.nonneg_ = bool((df["y"] >= 0).all())
        ids, n = np.unique(df["series_id"].to_numpy(), return_counts=True)
        self.ids_ = ids
        # Seasonal naive for every series: the fallback is then one lookup, and it costs ~nothing.
        self.naive_ = SeasonalNaive(self.freq, seed=self.seed)
        self.naive_.season = self.m
        self.naive_.fit(df, None, FitContext())
        self.short_ = n < self.min_obs
        if self.short_.any():
            ctx.explain.update(self._notes(int(self.short_.sum()), 0))
        # The library sees each series as positions 0..n-1 (freq=1): our calendar is gap-free
        # (core.models.data.complete), and future dates are ours to build.
        keep = np.repeat(~self.short_, n)
        if self.history() > 0:  # fit cost grows with the length
            keep &= df.groupby("series_id").cumcount(ascending=False).to_numpy() < self.history()
        lib = pd.DataFrame({"unique_id": np.repeat(np.arange(len(ids)), n)[keep],
                            "ds": (df.groupby("series_id").cumcount().to_numpy())[keep],
                            "y": df["y"].to_numpy(float)[keep]})
        # fitted_[i] serves the series (unique_id positions) in serves_[i]; a search may fit a
        # series several times (forms compared by AICc), only the winner serves it
        self.fitted_, self.serves_ = [], []
        for form, todo in self._groups(lib, ids):
            for part in np.array_split(todo, max(1, -(-len(todo) // CHUNK))):
                ctx.check()
                for sf, uids in self._search(form, lib[lib["unique_id"].isin(part)]):
                    if form is None and self.forms_ is not None:
                        served = np.isin(np.asarray(sf.uids), uids)
                        for uid, fitted in zip(np.asarray(sf.uids)[served], sf.fitted_[served, 0], strict=True):
                            chosen = self.form_of(fitted)
                            if chosen is not None:
                                self.forms_[ids[uid].item()] = chosen
                    self.fitted_.append(sf)
                    self.serves_.append(uids)
                ctx.progress(len(part))
        if self.short_.any():
            ctx.progress(int(self.short_.sum()))
        if not self.native_band:
            self._spread_ = df
        return self

    def history(self) -> int:
        """How many of each series' last periods a fit sees (0 = all): the `max_history` option."""
        return int(self.options.get("max_history") or 0)

    def chosen(self) -> dict:
        """series_id -> the library model object that serves it (the search's winner)."""
        out = {}
        for sf, uids in zip(self.fitted_, self.serves_, strict=True):
            served = np.isin(np.asarray(sf.uids), uids)
            out.update(zip(self.ids_[np.asarray(sf.uids)[served]].tolist(), sf.fitted_[served, 0], strict=True))
        return out

    @staticmethod
    def _lib_fit(model, rows: pd.DataFrame):
        from statsforecast import StatsForecast
        from statsforecast.models import Naive

        sf = StatsForecast(models=[model], freq=1, n_jobs=1, fallback_model=Naive())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # statsforecast's convergence chatter per series
            sf.fit(rows)
        return sf

    def _fits(self, form: str | None, rows: pd.DataFrame) -> list[tuple[object, pd.DataFrame]]:
        """(library model, its series' rows) for one chunk: one model, unless a subclass narrows
        the search for some series (ETS: no seasonal forms where no season is detected)."""
        return [(self._model(self.m, form), rows)]

    def _search(self, form: str | None, rows: pd.DataFrame) -> list[tuple[object, np.ndarray]]:
        """(fitted library models, the unique_ids each serves) for one chunk: one library call
        per model of `_fits`, each serving all its series."""
        return [(sf, np.asarray(sf.uids)) for sf in
                (self._lib_fit(model, part) for model, part in self._fits(form, rows))]

    def _groups(self, lib: pd.DataFrame, ids: np.ndarray) -> list[tuple[str | None, np.ndarray]]:
        """(form, positions of the series to fit with it): None = search the form (no memo, or
        a series not seen yet, or whose remembered form does not fit its data now)."""
        todo = np.flatnonzero(~self.short_)
        if not self.forms_ or not len(todo):
            return [(None, todo)] if len(todo) else []
        uid, start, _ = runs(lib["unique_id"].to_numpy())  # lib is in unique_id order
        lowest = np.full(len(ids), np.inf)
        lowest[uid] = np.minimum.reduceat(lib["y"].to_numpy(float), start) if len(start) else []
        forms = pd.Series(ids[todo]).map(self.forms_)
        known = forms.notna().to_numpy()
        known[known] = self.forms_fit(forms[known], lowest[todo][known] > 0)
        out: list[tuple[str | None, np.ndarray]] = [(None, todo[~known])] if (~known).any() else []
        for form, pos in pd.Series(todo[known]).groupby(forms[known].to_numpy(), sort=True):
            out.append((form, pos.to_numpy()))
        return out

    def predict(self, horizon: int, regs: pd.DataFrame | None, ctx: FitContext) -> pd.DataFrame:
        k = len(self.ids_)
        base = self.naive_.predict(horizon, None, FitContext())
        yhat = base["yhat"].to_numpy(float).reshape(k, horizon).copy()
        lo = base["yhat_lower"].to_numpy(float).reshape(k, horizon).copy()
        hi = base["yhat_upper"].to_numpy(float).reshape(k, horizon).copy()
        level = {"level": [LEVEL]} if self.native_band else {}
        nonfinite = 0
        for sf, serves in zip(self.fitted_, self.serves_, strict=True):
            ctx.check()
            # Only the series this fit serves (a search's losers were fitted too): the models'
            # own predict, the loop StatsForecast.predict runs, without the losers' intervals.
            uids = np.asarray(sf.uids)
            mine = np.isin(uids, serves)
            rows = uids[mine]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = [fitted.predict(h=horizon, **level) for fitted in sf.fitted_[mine, 0]]
            f = np.array([o["mean"] for o in out], float).reshape(-1, horizon)
            good = np.isfinite(f).all(axis=1)
            if self.native_band:
                f_lo = np.array([o[f"lo-{LEVEL}"] for o in out], float).reshape(-1, horizon)
                f_hi = np.array([o[f"hi-{LEVEL}"] for o in out], float).reshape(-1, horizon)
                good &= np.isfinite(f_lo).all(axis=1) & np.isfinite(f_hi).all(axis=1)
            else:
                f_lo = f_hi = f
            r = rows[good]
            yhat[r], lo[r], hi[r] = f[good], f_lo[good], f_hi[good]
            nonfinite += int((~good).sum())
        self.nonfinite_ = nonfinite
        ctx.explain.update(self._notes(0, nonfinite))
        if not self.native_band:
            half = Z80 * band_from_spread(self._spread_, yhat[:, 0], self.m)
            lib_rows = ~self.short_
            lo[lib_rows] = yhat[lib_rows] - half[lib_rows, None]
            hi[lib_rows] = yhat[lib_rows] + half[lib_rows, None]
        dates = future_dates(self.origin_, horizon, self.freq)
        out = pd.DataFrame({"series_id": np.repeat(self.ids_, horizon),
                            "ds": np.tile(dates.to_numpy(), k), "yhat": yhat.ravel(),
                            "yhat_lower": lo.ravel(), "yhat_upper": hi.ravel()})[OUT_COLS]
        return clip_nonneg(out, self.nonneg_)

    def _notes(self, short: int, nonfinite: int) -> dict[str, str]:
        """What ctx.explain says about the series that fell back to seasonal naive."""
        out = {}
        if short:
            out[f"fallback_{self.name}"] = (f"{short} series with fewer than {self.min_obs} periods use "
                                            f"seasonal naive instead of {self.name}.")
        if nonfinite:
            out[f"fallback_{self.name}_nonfinite"] = (
                f"{nonfinite} series where {self.name} gave no finite forecast use seasonal naive.")
        return out

    def fit_predict(self, train: pd.DataFrame, horizon: int, regs: pd.DataFrame | None,
                    ctx: FitContext) -> pd.DataFrame:
        """What a training run calls (backtest folds, final fit). With several workers the
        series are cut into chunks that worker processes fit and forecast (`fit_chunk`), and
        only forecasts (and the forms a search chose) come back: a fitted ETS holds its states
        and residuals, ~80 KB a 2-year daily series, which at 100,000 series would not fit in
        memory, let alone travel between processes. One worker, or data for one chunk: this
        process, fit then predict (the model stays fitted)."""
        from core import parallel

        cols = ["series_id", "ds", "y"]
        df = sort_long(train if list(train.columns) == cols else train[cols])  # no copy of a fold's rows
        ids, start, n = runs(df["series_id"].to_numpy())
        parts = split_series(n, parallel.n_workers())
        if len(parts) <= 1:
            return self.fit(df, regs, ctx).predict(horizon, regs, ctx)
        nonneg = bool((df["y"].to_numpy() >= 0).all())
        sid, ds, y = df["series_id"].to_numpy(), df["ds"].to_numpy(), df["y"].to_numpy(float)

        def tasks():  # built as the workers take them: all at once they would copy the fleet
            for part in parts:
                lens = n[part]
                rows = np.arange(lens.sum()) + np.repeat(start[part] - np.cumsum(lens) + lens, lens)
                forms = None if self.forms_ is None else {
                    i: self.forms_[i] for i in ids[part].tolist() if i in self.forms_}
                yield (self.name, self.freq, self.options, self.seed, forms, sid[rows], ds[rows], y[rows],
                       horizon, nonneg)

        k, got = len(ids), {}
        out = {c: np.empty((k, horizon)) for c in ("yhat", "yhat_lower", "yhat_upper")}
        short = nonfinite = 0

        def collect(res: tuple) -> None:
            nonlocal short, nonfinite
            chunk_ids, block, forms, n_short, n_nonfinite = res
            at = np.searchsorted(ids, chunk_ids)
            if len(at) and not np.array_equal(ids[at], chunk_ids):
                raise RuntimeError(f"{self.name}: a worker returned series it was not given.")
            for c in out:
                out[c][at] = block[c]
            got.update(dict.fromkeys(at.tolist()))
            if self.forms_ is not None and forms:
                self.forms_.update(forms)
            short, nonfinite = short + n_short, nonfinite + n_nonfinite
            ctx.progress(len(chunk_ids))

        parallel.run(fit_chunk, tasks(), on_result=collect, should_cancel=ctx.should_cancel)
        if len(got) != k:
            raise RuntimeError(f"{self.name}: {k - len(got)} series came back from no worker.")
        ctx.explain.update(self._notes(short, nonfinite))
        dates = future_dates(df["ds"].max(), horizon, self.freq)
        return pd.DataFrame({"series_id": np.repeat(ids, horizon), "ds": np.tile(dates.to_numpy(), k),
                             **{c: v.ravel() for c, v in out.items()}})[OUT_COLS]


ROWS_PER_CHUNK = 512 * 730  # ~5 s of searching ETS fits (512 2-year daily series): progress, cancel
MIN_PARALLEL = 256  # fewer series: one process (a worker start and import cost more than the fits)


def split_series(n: np.ndarray, workers: int) -> list[np.ndarray]:
    """Series positions (of the sorted frame) in chunks for `workers` processes, balanced by
    rows (a fit's cost grows with the series' length: a chunk of short series holds more of
    them), longest series first so that the short ones fill in at the end; each chunk's
    positions in order. About ROWS_PER_CHUNK rows a chunk, and at least 4 chunks a worker.
    One chunk (or none) when one process should do it all."""
    if workers <= 1 or len(n) < MIN_PARALLEL:
        return [np.arange(len(n))] if len(n) else []
    total = max(int(n.sum()), 1)
    count = min(len(n), max(4 * workers, -(-total // ROWS_PER_CHUNK)))
    order = np.argsort(-n, kind="stable")
    edge = (np.cumsum(n[order]) - 1) * count // total  # the chunk each series falls in
    cut = np.flatnonzero(np.diff(edge)) + 1
    return [np.sort(p) for p in np.split(order, cut)]


def fit_chunk(name: str, freq: str, options: dict, seed: int, forms: dict | None, sid: np.ndarray,
              ds: np.ndarray, y: np.ndarray, horizon: int, nonneg: bool) -> tuple:
    """One chunk in a worker: fit and forecast its series as the serial path does (same model,
    same options, the run's remembered forms for these series), clipped at zero by the whole
    fleet's history, not the chunk's. Returns (series ids, {yhat, yhat_lower, yhat_upper: series
    x horizon}, the forms now known for these series, short count, non-finite count)."""
    model = stat_model(name)(freq, options, seed)
    if forms is not None:
        model.forms_ = forms
    train = pd.DataFrame({"series_id": sid, "ds": ds, "y": y})
    model.fit(train, None, FitContext())
    model.nonneg_ = model.naive_.nonneg_ = nonneg  # the fallback's clipping too
    fc = model.predict(horizon, None, FitContext())
    k = len(model.ids_)
    block = {c: fc[c].to_numpy(float).reshape(k, horizon) for c in ("yhat", "yhat_lower", "yhat_upper")}
    return model.ids_, block, model.forms_, int(model.short_.sum()), model.nonfinite_


def season_test(uid: np.ndarray, y: np.ndarray, m: int) -> np.ndarray:
    """Per unique_id (0..max), whether its series shows a season of length m: the test AutoTheta
    applies before it decomposes (autocorrelation at lag m beyond 1.645 times its standard
    error under no season, at least two seasons of data, m >= 4). `uid` is sorted. Array sums
    over the whole chunk, one pass per lag, no per-series call."""
    k = int(uid.max()) + 1 if len(uid) else 0
    length = np.bincount(uid, minlength=k)
    if m < 4 or not len(uid):
        return np.zeros(k, bool)
    x = y - (np.bincount(uid, y, k) / np.maximum(length, 1))[uid]
    r = np.empty((k, m))
    for lag in range(1, m + 1):
        same = uid[lag:] == uid[:-lag]
        r[:, lag - 1] = np.bincount(uid[lag:][same], (x[lag:] * x[:-lag])[same], k)
    with np.errstate(divide="ignore", invalid="ignore"):
        r /= np.bincount(uid, x * x, k)[:, None]
        stat = np.sqrt((1 + 2 * np.sum(r[:, :-1] ** 2, axis=1)) / np.maximum(length, 1))
        return (length >= 2 * m) & (np.abs(r[:, -1]) / stat > 1.6448536269514722)


def band_from_spread(df: pd.DataFrame, level: np.ndarray, m: int) -> np.ndarray:
    """Per series, the root-mean-square distance of the last year's demand (4 seasons of at
    least 13 periods, capped at 52) from the flat forecast `level`: the error a flat forecast
    would have made there, so a normal 80% band is yhat ± Z80 times it. Intermittent models in
    the library give no band of their own. `df` is sorted by series_id, ds; `level` follows
    np.unique(series_id)."""
    window = min(max(4 * m, 13), 52)
    sid = pd.factorize(df["series_id"], sort=True)[0]
    back = df.groupby("series_id").cumcount(ascending=False).to_numpy()
    ok = back < window
    g = sid[ok]
    err = (df["y"].to_numpy(float)[ok] - level[g]) ** 2
    cnt = np.bincount(g, minlength=len(level))
    return np.sqrt(np.bincount(g, err, minlength=len(level)) / np.maximum(cnt, 1))


class AutoETS(StatsForecastModel):
    """Exponential smoothing state-space model chosen per series by AICc (statsforecast AutoETS).

    Options:
    - `ets_model` (default "ZZZ"): error, trend, season letters, each A (additive), M
      (multiplicative), N (none) or Z (choose); e.g. "ANA" for additive error and season, no trend.
    - `ets_damped` ("auto", "yes", "no"): damped trend.
    - `ets_search` ("staged", "full"): how ZZZ with damped auto is searched (see `_staged`);
      "full" = the library's own search of every form (up to 15), 3-5x the CPU.
    - `ets_season_test` ("no", "yes"): when the season letter is Z, search the seasonal forms
      only for series whose autocorrelation at the season lag shows one (AutoTheta's test);
      on pizza_daily 85 of 91 series show none, and their search costs a third, at no loss;
      but on the demo's daily data it cost ETS 3 points of WAPE (0.38 -> 0.41 on one fold),
      so it is off by default.
    - `form_search` ("once", "every_fit"): in a training run, search each series' form on its
      first fit only and fit that form after (see `form_of`), or search at every fit.
    - `season_length` (0 = the data's: 7 daily, 52 weekly, 12 monthly).
    - `max_history` (0 = all): fit on each series' last N periods only; the fit's cost grows
      with the length. When 0, `ets_max_years` (10; 0 = all) caps the history at that many years
      (120 months, 520 weeks, 3,650 days): on txhousing, 10 of 15 years cut the CPU by a quarter
      and the holdout WAPE went down (0.072 -> 0.066), older years being another market.
    Fewer than 8 periods: seasonal naive (the library cannot fit an ETS on them)."""

    name = "ets"
    min_obs = 8
    remembers_forms = True
    OPTIONS: dict[str, object] = {"ets_model": "ZZZ", "ets_damped": "auto", "ets_search": "staged",
                                  "ets_season_test": "no", "form_search": "once", "season_length": 0,
                                  "max_history": 0, "ets_max_years": 10}
    PER_YEAR = {"D": 365, "W": 52, "M": 12}

    def parse_options(self, options: dict) -> dict:
        out = super().parse_options(options)
        spec = str(out["ets_model"]).upper()
        if len(spec) != 3 or spec[0] not in "AMZ" or any(c not in "AMNZ" for c in spec[1:]):
            raise ModelError(f"Option ets_model={out['ets_model']!r}: use three letters from A, M, N, Z "
                             "(error, trend, season), e.g. ZZZ or ANA.")
        if out["ets_damped"] not in ("auto", "yes", "no"):
            raise ModelError("Option ets_damped must be auto, yes or no.")
        if out["ets_season_test"] not in ("yes", "no"):
            raise ModelError("Option ets_season_test must be yes or no.")
        if out["ets_search"] not in ("staged", "full"):
            raise ModelError("Option ets_search must be staged or full.")
        if int(out["ets_max_years"]) < 0:
            raise ModelError("Option ets_max_years must be 0 (all history) or a positive number.")
        out["ets_model"] = spec
        return out

    def history(self) -> int:
        from core.freq import family

        years = int(self.options["ets_max_years"])
        return super().history() or years * self.PER_YEAR[family(self.freq)]

    def _model(self, m: int, form: str | None = None):
        from statsforecast.models import AutoETS as Lib

        if form is not None:  # e.g. "MAMD": multiplicative error, additive damped trend, ...
            return Lib(season_length=m, model=form[:3], damped=form[3] == "D")
        damped = {"auto": None, "yes": True, "no": False}[self.options["ets_damped"]]
        return Lib(season_length=m, model=self.options["ets_model"], damped=damped)

    def _seasonal(self, rows: pd.DataFrame) -> np.ndarray:
        """Per row, whether its series' seasonal forms are searched: all, unless the season test
        is on (then where the data show a season) or the season length is 1."""
        uid = rows["unique_id"].to_numpy()
        if self.m < 2:
            return np.zeros(len(rows), bool)
        if self.options["ets_season_test"] == "no":
            return np.ones(len(rows), bool)
        return season_test(uid, rows["y"].to_numpy(float), self.m)[uid]

    def _fits(self, form: str | None, rows: pd.DataFrame) -> list[tuple[object, pd.DataFrame]]:
        spec = self.options["ets_model"]
        if form is not None or spec[2] != "Z" or self.options["ets_season_test"] == "no":
            return super()._fits(form, rows)
        # Seasonal forms are most of a search's cost (m states to optimise): where the data show
        # no season (AutoTheta's test), search only the forms without one.
        seasonal = self._seasonal(rows)
        out = [(self._model(self.m), rows[seasonal])]
        if (~seasonal).any():
            damped = {"auto": None, "yes": True, "no": False}[self.options["ets_damped"]]
            from statsforecast.models import AutoETS as Lib

            out.append((Lib(season_length=self.m, model=spec[:2] + "N", damped=damped), rows[~seasonal]))
        return [(model, part) for model, part in out if len(part)]

    def _search(self, form: str | None, rows: pd.DataFrame) -> list[tuple[object, np.ndarray]]:
        o = self.options
        if form is not None or o["ets_search"] != "staged" or o["ets_model"] != "ZZZ" or o["ets_damped"] != "auto":
            return super()._search(form, rows)
        return self._staged(rows)

    def _staged(self, rows: pd.DataFrame) -> list[tuple[object, np.ndarray]]:
        """The form search in three steps, each a few library calls over the chunk, AICc
        deciding between the forms of every step as the library's full search would:
        1. the forms without a season (ANN, AAN, MNN, MAN: cheap), and where a season is
           searched ANA and, for positive series, MNM, both without a trend (MNA is left out:
           its forecasts are ANA's, with another error variance);
        2. a seasonal winner with an additive trend (e.g. MNM -> MAM) where its seasonal
           differences drift; where a trended form without a season won, the best seasonal form
           of step 1 with a trend;
        3. where a trend won, the same form damped.
        The full search tries up to 15 forms, 9 of them seasonal with a trend or a damping
        parameter, each a Nelder-Mead over the m seasonal states that runs to its iteration cap;
        this one at most 4 seasonal ones (2 without a trend, 1 with, 1 damped). On txhousing
        (40 markets, last 10 years) the holdout WAPE is 0.0665 v the full search's 0.0664 at
        about a fifth of the CPU; on pizza 0.6473 v 0.6474 at a quarter."""
        from statsforecast.models import AutoETS as Lib

        race = Race(self, rows, "aicc")
        uid = race.uid
        lowest = pd.Series(rows["y"].to_numpy(float)).groupby(uid).transform("min").to_numpy()
        seasonal = self._seasonal(rows)
        race.attempt(Lib(season_length=self.m, model="ZZN", damped=False), np.ones(len(rows), bool))
        race.attempt(Lib(season_length=self.m, model="ANA", damped=False), seasonal)
        race.attempt(Lib(season_length=self.m, model="MNM", damped=False), seasonal & (lowest > 0))

        def add_trend(form: np.ndarray, where: np.ndarray) -> None:
            """`form` and `where` per unique_id: fit each chosen form with an additive trend."""
            for chosen in sorted(set(form[where]) - {""}):
                race.attempt(Lib(season_length=self.m, model=chosen[0] + "A" + chosen[2], damped=False),
                             (where & (form == chosen))[uid])

        def has(form: np.ndarray, pos: int, letters: str) -> np.ndarray:
            return np.array([f[pos:pos + 1] in tuple(letters) for f in form], bool)

        # A seasonal winner gets its trend where its seasonal differences drift (`drifts`: on
        # txhousing the same forms as trying every one, a quarter less CPU); where a trended
        # form without a season won, the
        # season may have been hidden by the trend (a level chasing a trend fits a season
        # badly), so the best seasonal form gets its trend there too. (Trusting the forms
        # without a season to say whether there is a trend saves a quarter more, but they miss
        # it under a strong season: tests/test_models_stat.py's trending seasonal series.)
        form = race.form
        add_trend(form, has(form, 1, "N") & has(form, 2, "AM") & drifts(uid, rows["y"].to_numpy(float), self.m))
        seasonal_best = race.best_form(lambda f: f[1:3] in ("NA", "NM"))
        add_trend(seasonal_best, has(form, 1, "A") & has(form, 2, "N") & (seasonal_best != ""))
        form = race.form.copy()
        for chosen in sorted(f for f in set(form) if f[1:2] == "A"):
            race.attempt(Lib(season_length=self.m, model=chosen[:3], damped=True), (form == chosen)[uid])
        return race.result()

    def form_of(self, fitted) -> str | None:
        model = getattr(fitted, "model_", None)  # the library's Naive when the fit failed
        return str(model["components"]) if isinstance(model, dict) and "components" in model else None

    def forms_fit(self, forms: pd.Series, positive: np.ndarray) -> np.ndarray:
        return positive | ~forms.str[:3].str.contains("M").to_numpy(bool)


def drifts(uid: np.ndarray, y: np.ndarray, m: int) -> np.ndarray:
    """Per unique_id (0..max), whether the series drifts over a season: the mean of its seasonal
    differences y[t] - y[t-m] is more than 2 standard errors from 0. A season hides a trend from
    the forms without one, not from these differences. `uid` is sorted; array sums, no loop."""
    k = int(uid.max()) + 1 if len(uid) else 0
    same = uid[m:] == uid[:-m]
    g, d = uid[m:][same], (y[m:] - y[:-m])[same]
    n = np.bincount(g, minlength=k).astype(float)
    mean = np.bincount(g, d, k) / np.maximum(n, 1)
    var = (np.bincount(g, d * d, k) - n * mean ** 2) / np.maximum(n - 1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(mean) / np.sqrt(np.maximum(var, 0) / np.maximum(n, 1))
    return (n >= 2) & ((t > 2) | ((var <= 0) & (mean != 0)))


class Race:
    """Library fits of one chunk compared per series by a fitted criterion (lower wins: ETS's
    AICc, Theta's in-sample MSE), the way the library's own search compares forms; each series
    is served by its winner. A series whose every fit failed (the library's Naive fallback,
    no criterion) is served by the first fit's fallback, as a one-call search would be."""

    def __init__(self, owner: StatsForecastModel, rows: pd.DataFrame, key: str) -> None:
        self.owner, self.rows, self.key = owner, rows, key
        self.uid = rows["unique_id"].to_numpy()
        size = int(self.uid.max()) + 1
        self.best = np.full(size, np.inf)
        self.form = np.full(size, "", dtype=object)
        self.winner = np.full(size, -1)
        self.fits: list = []
        self.tried: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def attempt(self, model, mask: np.ndarray) -> None:
        """Fit `model` on the rows in `mask`; it takes the series where it scores lowest so far."""
        if not mask.any():
            return
        sf = self.owner._lib_fit(model, self.rows[mask])
        u = np.asarray(sf.uids)
        score = np.array([self.score(m) for m in sf.fitted_[:, 0]])
        win = score < self.best[u]
        self.best[u[win]], self.winner[u[win]] = score[win], len(self.fits)
        forms = np.array([self.owner.form_of(m) or "" for m in sf.fitted_[:, 0]], dtype=object)
        self.form[u[win]] = forms[win]
        self.tried.append((u, score, forms))
        self.fits.append(sf)

    def best_form(self, keep) -> np.ndarray:
        """Per unique_id, the best form tried among those `keep(form)` accepts ("" if none)."""
        best, form = np.full(len(self.form), np.inf), np.full(len(self.form), "", dtype=object)
        for u, score, forms in self.tried:
            win = np.array([keep(f) for f in forms], bool) & (score < best[u])
            best[u[win]], form[u[win]] = score[win], forms[win]
        return form

    def score(self, fitted) -> float:
        model = getattr(fitted, "model_", None)
        value = model.get(self.key) if isinstance(model, dict) else None
        return float(value) if value is not None and np.isfinite(value) else np.inf

    def result(self) -> list[tuple[object, np.ndarray]]:
        seen = np.unique(self.uid)
        self.winner[seen[self.winner[seen] < 0]] = 0
        return [(sf, np.flatnonzero(self.winner == i)) for i, sf in enumerate(self.fits)]


class AutoTheta(StatsForecastModel):
    """Theta method, the variant chosen per series by in-sample MSE (statsforecast AutoTheta):
    the M3 winner, strong on trending monthly data.

    Options: `theta_model`: "auto" chooses between STM (standard: theta 2, the classic method) and
    DOTM (dynamic optimised: theta and the trend line re-estimated as data arrive, the most
    flexible); "all" lets the library compare all four (STM, OTM, DSTM, DOTM: standard/optimised,
    with or without dynamic updating), twice the CPU (OTM, DSTM sit between the two ends and
    changed no holdout figure: txhousing 0.068, pizza 0.664 either way); or one variant.
    `form_search` (as ETS's); `season_length` (0 = the data's); `max_history` (0 = all periods,
    else the last N). Fewer than 4 periods: naive."""

    name = "theta"
    min_obs = 4
    remembers_forms = True
    OPTIONS: dict[str, object] = {"theta_model": "auto", "form_search": "once", "season_length": 0,
                                  "max_history": 0}
    PAIR = ("STM", "DOTM")

    def parse_options(self, options: dict) -> dict:
        out = super().parse_options(options)
        if out["theta_model"] not in ("auto", "all", "STM", "OTM", "DSTM", "DOTM"):
            raise ModelError("Option theta_model must be auto, all, STM, OTM, DSTM or DOTM.")
        return out

    def _model(self, m: int, form: str | None = None):
        from statsforecast.models import AutoTheta as Lib

        choice = form or self.options["theta_model"]
        return Lib(season_length=m, model=None if choice in ("auto", "all") else choice)

    def _search(self, form: str | None, rows: pd.DataFrame) -> list[tuple[object, np.ndarray]]:
        if form is not None or self.options["theta_model"] != "auto":
            return super()._search(form, rows)
        race = Race(self, rows, "mse")  # the library's own criterion between variants
        for variant in self.PAIR:
            race.attempt(self._model(self.m, variant), np.ones(len(rows), bool))
        return race.result()

    def form_of(self, fitted) -> str | None:
        model = getattr(fitted, "model_", None)
        return str(model["modeltype"]) if isinstance(model, dict) and "modeltype" in model else None


class AutoARIMA(StatsForecastModel):
    """Seasonal ARIMA chosen per series by stepwise AICc search (statsforecast AutoARIMA). Slow
    (about 6x ETS on daily data), so it is an option, not a default candidate.

    Options: `max_p`, `max_q` (5), `max_P`, `max_Q` (2), `max_d` (2), `max_D` (1): the largest
    orders searched; `season_length` (0 = the data's); `max_history` (0 = all periods, else the
    last N: ARIMA's cost grows fastest with the length)."""

    name = "arima"
    min_obs = 3
    OPTIONS: dict[str, object] = {"max_p": 5, "max_q": 5, "max_P": 2, "max_Q": 2, "max_d": 2,
                                  "max_D": 1, "season_length": 0, "max_history": 0}

    def parse_options(self, options: dict) -> dict:
        out = super().parse_options(options)
        bad = [k for k in ("max_p", "max_q", "max_P", "max_Q", "max_d", "max_D") if not 0 <= out[k] <= 10]
        if bad:
            raise ModelError(f"Options {', '.join(bad)} must be between 0 and 10.")
        return out

    def _model(self, m: int, form: str | None = None):
        from statsforecast.models import AutoARIMA as Lib

        o = self.options
        return Lib(season_length=m, max_p=o["max_p"], max_q=o["max_q"], max_P=o["max_P"],
                   max_Q=o["max_Q"], max_d=o["max_d"], max_D=o["max_D"])


def stat_model(name: str) -> type[StatsForecastModel] | None:
    """The statsforecast-backed model class called `name` (ets, theta, arima, croston, tsb,
    adida, imapa), or None: the hook for core.models.make."""
    from core.models import intermittent

    classes = (AutoETS, AutoTheta, AutoARIMA, intermittent.Croston, intermittent.TSB,
               intermittent.ADIDA, intermittent.IMAPA)
    return next((c for c in classes if c.name == name), None)


STAT_NAMES = ("ets", "theta", "arima", "croston", "tsb", "adida", "imapa")
