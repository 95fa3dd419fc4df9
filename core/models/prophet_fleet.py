"""Prophet, one model per series, fitted in parallel (core.parallel: loky processes or Dask).

Options: seasonality_mode (additive | multiplicative), changepoint_prior_scale, yearly_seasonality
and weekly_seasonality (auto | true | false), country_holidays (a country code such as GB or US:
Prophet's built-in holiday calendar, '' for none) and uncertainty_samples (draws behind the 80%
band; 0 turns bands off). Mapped regressors whose future is known are added with
`add_regressor`.

Reproducible: each series seeds NumPy with (seed + series id) before Prophet draws the interval
samples, so the same data and options give the same forecasts whichever worker fits it.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time

import numpy as np
import pandas as pd

from core.models import base
from core.models.base import OUT_COLS, Artefact, FitContext, Forecaster, ModelError
from core.models.data import runs, sort_long


def quiet() -> None:
    """cmdstanpy re-enables INFO logging unless its logger already has a handler, so give it a
    NullHandler and stop propagation (a plain setLevel is not enough). Runs in every worker."""
    lean_worker()
    for name in ("cmdstanpy", "prophet", "prophet.plot"):
        lg = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in lg.handlers):
            lg.addHandler(logging.NullHandler())
        lg.propagate = False
        lg.setLevel(logging.ERROR)
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def lean_worker() -> None:
    """In a loky worker process (never the app's or the CLI's own process), keep matplotlib and
    plotly out: Prophet imports them only for its plot helpers, which a worker never calls
    (prophet.plot catches the ImportError), and they are ~0.45 s of the ~1 s of CPU a worker
    spends starting, which a training run pays once per worker before its first fit."""
    main = getattr(sys.modules.get("__main__"), "__spec__", None)
    if main is not None and "loky" in main.name:
        for name in ("matplotlib", "plotly"):
            sys.modules.setdefault(name, None)


_SAMPLING = threading.Lock()  # thread workers (Dask processes=False) share the global generator


def _tri(value: str) -> str | bool:
    return {"auto": "auto", "true": True, "false": False}[value]


def fit_one(sid: int, ds: np.ndarray, y: np.ndarray, regs: dict[str, np.ndarray],
            fut: np.ndarray, options: dict, seed: int, keep: bool) -> tuple:
    """Fit one series and forecast `fut` dates. Returns (sid, yhat, lower, upper, model json or
    None). `regs` holds each regressor over history + future (len(ds) + len(fut))."""
    quiet()
    if len(y) < 2:  # Prophet needs two points; repeat the last value without a band
        last = float(y[-1]) if len(y) else 0.0
        nan = np.full(len(fut), np.nan)
        return sid, np.full(len(fut), last), nan, nan, None
    from prophet import Prophet

    m = Prophet(
        seasonality_mode=options["seasonality_mode"],
        changepoint_prior_scale=options["changepoint_prior_scale"],
        yearly_seasonality=_tri(options["yearly_seasonality"]),
        weekly_seasonality=_tri(options["weekly_seasonality"]),
        daily_seasonality=False,
        interval_width=0.8,
        uncertainty_samples=options["uncertainty_samples"],
    )
    if options["country_holidays"]:
        m.add_country_holidays(country_name=options["country_holidays"])
    hist = pd.DataFrame({"ds": pd.to_datetime(ds), "y": y})
    future = pd.DataFrame({"ds": pd.to_datetime(fut)})
    for name, values in regs.items():
        m.add_regressor(name)
        hist[name] = np.nan_to_num(values[: len(ds)])
        future[name] = np.nan_to_num(values[len(ds):])
    m.fit(hist)
    with _SAMPLING:  # Prophet draws from NumPy's global generator: seed and draw as one step
        np.random.seed((seed + int(sid)) % (2**32))
        fc = m.predict(future)
    lower = fc["yhat_lower"].to_numpy() if options["uncertainty_samples"] else np.full(len(fut), np.nan)
    upper = fc["yhat_upper"].to_numpy() if options["uncertainty_samples"] else np.full(len(fut), np.nan)
    model_json = None
    if keep:
        from prophet.serialize import model_to_json

        model_json = model_to_json(m)
    return sid, fc["yhat"].to_numpy(), lower, upper, model_json


def fit_chunk(tasks: list[tuple]) -> tuple:
    """Several series per task: one round trip to a worker for many fits cuts the per-task
    overhead (pickling, scheduling), which is a large part of a 0.08 s Prophet fit. Returns one
    compact block, not a tuple per series: (pid, series ids, yhat/lower/upper as series x
    horizon arrays, model JSON per series or None, trace). The trace holds per fit its start and
    end (epoch seconds) and CPU seconds (this process plus the CmdStan runs it waited for), so a
    run can be timed worker by worker (bench/prophet_fleet.py) at no cost to speak of."""
    import resource

    def cpu() -> float:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    out, trace = [], np.empty((len(tasks), 3))
    for i, t in enumerate(tasks):
        trace[i, 0], c = time.time(), cpu()
        out.append(fit_one(*t))
        trace[i, 1], trace[i, 2] = time.time(), cpu() - c
    jsons = [r[4] for r in out]
    return (os.getpid(), np.array([r[0] for r in out], dtype=np.int64),
            *(np.array([r[k] for r in out], dtype=float).reshape(len(out), -1) for k in (1, 2, 3)),
            jsons if any(j is not None for j in jsons) else None, trace)


def warm() -> int:
    """Import Prophet and its Stan backend in a worker (~0.1 s of CPU without the plotting
    libraries, after the worker's ~0.5 s start with pandas; once per worker process, which the
    pool keeps between calls)."""
    quiet()
    import prophet  # noqa: F401
    import prophet.models  # noqa: F401

    return os.getpid()


def chunks(tasks: list[tuple], workers: int, per_worker: int = 3, most: int = 25) -> list[list[tuple]]:
    """Tasks longest series first, in chunks that shrink as the work runs out ("guided"
    scheduling): early chunks are big (few round trips), the last ones hold one or two fits so
    that no worker sits idle while another finishes a big chunk. Equal chunks of 13 fits left
    one core idle for up to a chunk at the end (the 1.32x of a 2-core run, against 2x ideal).
    Fit cost grows with a series' length, so longest first is the classic LPT order. No chunk
    holds more than `most` fits (~2 s): progress and a cancel request are noticed between
    chunks, and a 100,000-series fleet's first chunk would otherwise be 20 minutes of work."""
    todo = sorted(tasks, key=lambda t: -len(t[2]))
    out, i = [], 0
    while i < len(todo):
        size = min(most, max(1, (len(todo) - i) // (per_worker * max(1, workers))))
        out.append(todo[i:i + size])
        i += size
    return out


def series_arrays(train: pd.DataFrame, regs: pd.DataFrame | None, fut: pd.DatetimeIndex):
    """(series id, dates, values, {regressor: values over history + future}) per series of a
    (series_id, ds)-sorted frame: slices of the frame's own arrays, not a groupby (which copies
    every series into a frame of its own: seconds of the parent's time per 10,000 series, while
    the workers wait), and the regressors looked up for every series and date in one merge."""
    sid, ds, y = train["series_id"].to_numpy(), train["ds"].to_numpy(), train["y"].to_numpy(float)
    ids, start, n = runs(sid)
    names = [c for c in (regs.columns if regs is not None else []) if c not in ("series_id", "ds")]
    vals: dict[str, np.ndarray] = {}
    if names:  # each series' history then the horizon, as rows in that order
        h = len(fut)
        keys = pd.DataFrame({"series_id": np.concatenate([sid, np.repeat(ids, h)]),
                             "ds": np.concatenate([ds, np.tile(fut.to_numpy(), len(ids))])})
        keys = keys.iloc[np.argsort(keys["series_id"].to_numpy(), kind="stable")]
        known = regs.assign(ds=pd.to_datetime(regs["ds"]).astype(keys["ds"].dtype))
        got = keys.merge(known, on=["series_id", "ds"], how="left", validate="many_to_one")
        vals = {c: got[c].to_numpy(float) for c in names}
    for i, (s, a, k) in enumerate(zip(ids, start, n, strict=True)):
        r = {c: v[a + i * len(fut):a + i * len(fut) + k + len(fut)] for c, v in vals.items()}
        yield s, ds[a:a + k], y[a:a + k], r


class ProphetFleet(Forecaster):
    name = "prophet"
    per_series = True
    OPTIONS: dict[str, object] = {
        "seasonality_mode": "additive",
        "changepoint_prior_scale": 0.05,
        "yearly_seasonality": "auto",
        "weekly_seasonality": "auto",
        "country_holidays": "",
        "uncertainty_samples": 200,
    }

    def parse_options(self, options: dict) -> dict:
        out = super().parse_options(options)
        if out["seasonality_mode"] not in ("additive", "multiplicative"):
            raise ModelError("seasonality_mode must be additive or multiplicative.")
        for k in ("yearly_seasonality", "weekly_seasonality"):
            out[k] = str(out[k]).lower()
            if out[k] not in ("auto", "true", "false"):
                raise ModelError(f"{k} must be auto, true or false.")
        if out["changepoint_prior_scale"] <= 0:
            raise ModelError("changepoint_prior_scale must be greater than 0 (Prophet's default is 0.05).")
        if out["uncertainty_samples"] < 0:
            raise ModelError("uncertainty_samples must be 0 or more.")
        code = str(out["country_holidays"]).strip().upper()
        if code:
            import holidays

            if code not in holidays.list_supported_countries():
                raise ModelError(f"country_holidays={code!r} is not a country code Prophet knows "
                                 "(use a two-letter code such as GB, US, DE).")
        out["country_holidays"] = code
        return out

    def fit(self, train: pd.DataFrame, regs: pd.DataFrame | None, ctx: FitContext) -> ProphetFleet:
        """Keeps the history only. The Stan fits run in worker processes at predict time,
        together with each series' forecast: shipping ~100 fitted models back and forth between
        processes costs more than the fits themselves, and a fitted Prophet needs the future
        regressor values anyway, which only predict has."""
        self.train = train[["series_id", "ds", "y"]]
        return self

    def predict(self, horizon: int, regs: pd.DataFrame | None, ctx: FitContext) -> pd.DataFrame:
        from core import parallel

        train = sort_long(self.train)
        fut = base.future_dates(train["ds"].max(), horizon, self.freq)
        when = fut.to_numpy()
        tasks = [(int(sid), ds, y, r, when, self.options, self.seed, ctx.keep)
                 for sid, ds, y, r in series_arrays(train, regs, fut)]
        blocks: list[tuple] = []

        def collect(block: tuple) -> None:
            blocks.append(block)
            ctx.progress(len(block[1]))

        parallel.run(fit_chunk, [(c,) for c in chunks(tasks, parallel.n_workers())],
                     on_result=collect, should_cancel=ctx.should_cancel)
        h = len(fut)
        sids, yhat, lower, upper, trace = (np.concatenate([b[k] for b in blocks]) for k in (1, 2, 3, 4, 6))
        pids = np.concatenate([np.full(len(b[1]), b[0]) for b in blocks])
        # the run's timeline, per series: which worker process fitted it, when, at what CPU cost
        self.trace = pd.DataFrame({"series_id": sids, "pid": pids, "start": trace[:, 0],
                                   "end": trace[:, 1], "cpu": trace[:, 2]})
        order = np.argsort(sids, kind="stable")
        out = pd.DataFrame({"series_id": np.repeat(sids[order].astype(np.int64), h),
                            "ds": np.tile(fut.to_numpy(), len(sids)),
                            "yhat": yhat[order].ravel(), "yhat_lower": lower[order].ravel(),
                            "yhat_upper": upper[order].ravel()})[OUT_COLS]
        models = sorted((int(sid), mj) for b in blocks if b[5] for sid, mj in zip(b[1], b[5], strict=True))
        ctx.artefacts += [Artefact("prophet", f"prophet_{sid}.json", "prophet-json", mj.encode(), series_id=sid)
                          for sid, mj in models if mj is not None]
        return base.clip_nonneg(out, bool((train["y"] >= 0).all()))
