"""One scikit-learn estimator over all series (a "global" model).

Target transform (as mlforecast does), so that one model serves fast and slow movers and
trending series alike, inverted after prediction:
- `standard`: per series, (y - mean) / std over the training window;
- `diff`: standardised, then seasonally differenced (z_t - z_{t-season}): the model learns the
  change on last year, so a level or trend the training window never saw is carried forward
  (what repeating last year cannot do, and what a tree model cannot extrapolate by itself);
- `level`: divided by the mean level (the old behaviour; allows the Poisson loss);
- `auto` (default): `diff` for monthly data (trend dominates a 12-month horizon) with at least
  three seasons of history, `standard` otherwise.

Features at period t of series i, all from transformed values before t, built for every series
at once from one (series x periods) matrix:
- lags (daily 1-7, 14, 21, 28; weekly 1-4, 8, 13, 26, 52; monthly 1-3, 6, 12) and rolling means
  of the previous periods (daily 7/28, weekly 4/13, monthly 3/12);
- calendar: day of week; month, day of year / week of year with two years of data;
- series identity: a series code and the series' log level;
- mapped regressors whose future values are known (price plan, promo calendar, ...).

Multi-step strategy: **recursive**. The model predicts one period ahead for every series in
one call; the prediction goes into a copy of the history and the next period's lags are computed
from it, up to the horizon (a loop over steps, never over series). One model serves every
horizon at the cost of errors compounding along it, which the backtest measures. `predict`
works on that copy, so the fitted state never changes and predicting twice gives one answer.

Training rows: the last `window` periods of every series; beyond `max_rows` (150,000) a seeded
random sample of them, which keeps 1,000+ series fast without a measurable loss of accuracy.

80% interval: per series, the 10th and 90th percentiles of the in-sample residuals (transformed
scale), widened with the square root of the steps ahead in seasons. core.training replaces
these by quantiles calibrated on the backtest (core.quantiles); they stay for direct use.

Loss (`auto`): absolute error on a standardised target. Accuracy here is WAPE, a sum of
absolute errors, which the median minimises, not the mean; on skewed unit sales (many zeros, a
few big days) the two differ (pizza_daily holdout WAPE 0.616 v 0.639 with squared error).
Squared error on seasonal differences (monthly), which are symmetric; Poisson with `level`/`none`.
Boosting rounds: `max_iter` (100), but `diff_max_iter` (30) on seasonal differences, mostly
noise around last year: more rounds learn that noise (txhousing holdout 0.068 = seasonal naive
with 100 rounds, 0.064 with 30; 10-50 all beat naive).

Estimators: HistGradientBoostingRegressor (default) or Ridge (fast linear option, with one-hot
calendar). Threads: HistGradientBoosting uses OpenMP; core.training caps it with threadpoolctl at
SHELFCAST_THREADS.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd

from core.models.base import (
    OUT_COLS,
    Artefact,
    FitContext,
    Forecaster,
    ModelError,
    clip_nonneg,
    future_dates,
)

FILL_ROWS = 4_000_000  # training rows placed into the (series x periods) matrix at a time
LAGS = {"D": (1, 2, 3, 4, 5, 6, 7, 14, 21, 28), "W": (1, 2, 3, 4, 8, 13, 26, 52), "M": (1, 2, 3, 6, 12)}
ROLLS = {"D": (7, 28), "W": (4, 13), "M": (3, 12)}
WINDOW = {"D": 730, "W": 156, "M": 60}  # training periods kept per series (most recent)
STATS = {"D": 365, "W": 104, "M": 36}  # periods the per-series mean and scale come from
CALENDAR = {"D": ("dow",), "W": (), "M": ()}
# yearly calendar features, only with two years of history: from one year a tree learns each
# month's one-off level as if it were the season (measured on pizza_daily: 0.651 v 0.641 WAPE)
YEARLY = {"D": ("month", "doy"), "W": ("woy", "month"), "M": ("month",)}
YEAR = {"D": 365, "W": 52, "M": 12}
BLOCK = 8192  # series per block of the (series x periods) scratch matrices
TRANSFORMS = ("auto", "standard", "diff", "level", "none")
LOSSES = ("auto", "squared_error", "absolute_error", "poisson")


def _family(freq: str) -> str:
    return "D" if freq == "D" else "W" if freq.startswith("W") else "M"


def _calendar(dates: pd.DatetimeIndex, names: tuple[str, ...]) -> np.ndarray:
    cols = {
        "dow": dates.dayofweek, "dom": dates.day, "month": dates.month, "doy": dates.dayofyear,
        "woy": dates.isocalendar().week.to_numpy() if len(dates) else np.array([]),
    }
    return np.column_stack([np.asarray(cols[n], float) for n in names]) if names else np.empty((len(dates), 0))


def _reg_matrices(regs: pd.DataFrame | None, names: list[str], sids: np.ndarray,
                  dates: pd.DatetimeIndex) -> list[np.ndarray]:
    """One (series x dates) matrix per regressor, NaN where a value is missing."""
    out = []
    if not names:
        return out
    r = regs[regs["series_id"].isin(sids)]
    ri = pd.Index(sids).get_indexer(r["series_id"])
    ci = dates.get_indexer(pd.to_datetime(r["ds"]))
    ok = ci >= 0
    for name in names:
        M = np.full((len(sids), len(dates)), np.nan)
        if name in r:
            M[ri[ok], ci[ok]] = r[name].to_numpy(float)[ok]
        out.append(M)
    return out


class SklearnGlobal(Forecaster):
    name = "sklearn"
    OPTIONS: dict[str, object] = {
        "estimator": "hgb",  # hgb | ridge
        "max_iter": 100,  # boosting rounds (hgb)
        "diff_max_iter": 30,  # boosting rounds (hgb) when the target is seasonally differenced
        "learning_rate": 0.1,
        "max_leaf_nodes": 31,
        "alpha": 1.0,  # ridge penalty
        "loss": "auto",  # auto | squared_error | absolute_error | poisson (poisson: transform=level or none)
        "transform": "auto",  # auto | standard | diff | level | none
        "window": 0,  # training periods per series; 0 = two years / three years of weeks / ten of months
        "max_rows": 150_000,  # training rows kept (a seeded random sample beyond that; 0 = all)
    }

    def parse_options(self, options: dict) -> dict:
        out = super().parse_options(options)
        if out["estimator"] not in ("hgb", "ridge"):
            raise ModelError(f"estimator must be hgb or ridge, not {out['estimator']!r}.")
        if out["loss"] not in LOSSES:
            raise ModelError(f"loss must be one of {', '.join(LOSSES)}, not {out['loss']!r}.")
        if out["transform"] not in TRANSFORMS:
            raise ModelError(f"transform must be one of {', '.join(TRANSFORMS)}, not {out['transform']!r}.")
        if out["loss"] == "poisson" and out["transform"] not in ("level", "none"):
            raise ModelError("loss=poisson needs transform=level or none: a standardised or "
                             "differenced target goes below zero.")
        if min(out["max_iter"], out["diff_max_iter"]) < 1 or out["learning_rate"] <= 0 or out["max_leaf_nodes"] < 2:
            raise ModelError("max_iter and diff_max_iter must be ≥ 1, learning_rate > 0 and max_leaf_nodes ≥ 2.")
        return out

    # -- transform ---------------------------------------------------------------------------
    def _transform(self, Y: np.ndarray) -> np.ndarray:
        """Set the per-series statistics and return the model's target matrix (Y itself,
        changed in place, unless the target is differenced: Y is then kept as Z)."""
        tr = self.options["transform"]
        n_obs = (~np.isnan(Y)).sum(axis=1)
        if tr == "auto":
            tr = "diff" if self.fam == "M" and np.median(n_obs) >= 3 * self.season else "standard"
        self.transform = tr
        recent = Y[:, -STATS[self.fam]:]
        with np.errstate(all="ignore"):
            mean = np.nanmean(recent, axis=1)
            std = np.nanstd(recent, axis=1)
            level = np.nanmean(np.abs(recent), axis=1)
        self.level = np.where(np.isfinite(level) & (level > 0), level, 1.0)
        if tr in ("standard", "diff"):
            self.mu = np.nan_to_num(mean)
            self.sd = np.where(np.isfinite(std) & (std > 0), std, self.level)
        elif tr == "level":
            self.mu, self.sd = np.zeros(len(Y)), self.level
        else:
            self.mu, self.sd = np.zeros(len(Y)), np.ones(len(Y))
        if tr != "diff":  # Z, the history in units, is read back only to undo differences
            self.Z = None
            # in place: Y is the fit's own and not read again; one (series x periods) matrix is
            # 0.58 GB at 100,000 daily series (the same two operations, the same floats)
            Y -= self.mu[:, None]
            Y /= self.sd[:, None]
            return Y
        # differences first, then their own per-series scale (mlforecast's order): the mean
        # yearly change stays in mu, so a steady trend is the model's zero
        m = self.season
        self.Z = Y
        D = np.full_like(Y, np.nan)
        D[:, m:] = Y[:, m:] - Y[:, :-m]
        recent = D[:, -STATS[self.fam]:]
        with np.errstate(all="ignore"):
            dm, ds = np.nanmean(recent, axis=1), np.nanstd(recent, axis=1)
        self.mu = np.nan_to_num(dm)
        self.sd = np.where(np.isfinite(ds) & (ds > 0), ds, self.level)
        return (D - self.mu[:, None]) / self.sd[:, None]

    def _invert(self, S: np.ndarray, horizon: int) -> np.ndarray:
        """Forecasts (series x horizon) in units from the model's predictions."""
        preds = S[:, self.n_hist:] * self.sd[:, None] + self.mu[:, None]
        if self.transform == "diff":
            m = self.season
            Y = np.concatenate([self.Z, np.empty((len(self.sids), horizon))], axis=1)
            for step in range(horizon):  # a loop over steps; each one is vectorised over series
                t = self.n_hist + step
                Y[:, t] = preds[:, step] + np.nan_to_num(Y[:, t - m])
            preds = Y[:, self.n_hist:]
        return preds

    # -- features ----------------------------------------------------------------------------
    def _features(self, S: np.ndarray, si: np.ndarray, ci: np.ndarray, calX: np.ndarray,
                  R: list[np.ndarray]) -> np.ndarray:
        """Feature rows for the (series index, column) pairs `si`, `ci`, from the target matrix
        `S` (values before each column only). Built only for the rows the estimator sees: the
        fit's sample, or every series at one column when predicting (building every row of
        every series first and sampling after cost ~1 GB and most of a fit's time at 10,000
        series)."""
        parts = []
        for k in self.lags:
            idx = ci - k
            parts.append(np.where(idx >= 0, S[si, np.clip(idx, 0, None)], np.nan))
        # rolling means from cumulative sums over the columns the rows need (NaN-aware), a block
        # of series at a time: each series' sums are its own, so blocks give the same floats
        # without four (series x periods) matrices at once (2+ GB at 100,000 daily series)
        lo_all = max(0, int(ci.min()) - max(self.rolls, default=0))
        hi = int(ci.max())
        rel = ci - lo_all
        means = [np.empty(len(si)) for _ in self.rolls]
        for a in range(0, len(S), BLOCK):
            at = (si >= a) & (si < a + BLOCK) if len(S) > BLOCK else slice(None)
            sub = S[a:a + BLOCK, lo_all:hi]
            b = len(sub)
            csum = np.concatenate([np.zeros((b, 1)), np.cumsum(np.nan_to_num(sub), axis=1)], axis=1)
            cnt = np.concatenate([np.zeros((b, 1)), np.cumsum(~np.isnan(sub), axis=1)], axis=1)
            s_at, r_at = si[at] - a, rel[at]
            for out, w in zip(means, self.rolls, strict=True):
                lo = np.clip(r_at - w, 0, None)
                tot = csum[s_at, r_at] - csum[s_at, lo]
                c = cnt[s_at, r_at] - cnt[s_at, lo]
                with np.errstate(invalid="ignore", divide="ignore"):
                    out[at] = tot / np.where(c > 0, c, np.nan)
        parts += means
        cal = calX[ci]
        level = np.log1p(self.level)[si]
        regs = [M[si, ci] for M in R]
        return np.column_stack([*parts, cal, si.astype(float), level, *regs])

    def _estimator(self):
        o = self.options
        if o["estimator"] == "ridge":
            from sklearn.compose import ColumnTransformer
            from sklearn.impute import SimpleImputer
            from sklearn.linear_model import Ridge
            from sklearn.pipeline import Pipeline
            from sklearn.preprocessing import OneHotEncoder, StandardScaler

            n_num = len(self.lags) + len(self.rolls)
            cal_idx = list(range(n_num, n_num + len(self.cal)))
            other = [i for i in range(len(self.feature_names)) if i not in cal_idx and
                     self.feature_names[i] != "series_code"]
            pre = ColumnTransformer([
                ("num", Pipeline([("impute", SimpleImputer(strategy="constant", fill_value=0.0)),
                                  ("scale", StandardScaler())]), other),
                ("cal", OneHotEncoder(handle_unknown="ignore"), cal_idx),
            ])
            return Pipeline([("features", pre), ("ridge", Ridge(alpha=o["alpha"]))])
        from sklearn.ensemble import HistGradientBoostingRegressor

        loss = o["loss"]
        if loss == "auto":  # see the module docstring
            loss = ("poisson" if self.nonneg and self.transform in ("level", "none") else
                    "squared_error" if self.transform == "diff" else "absolute_error")
        # A seasonally differenced target is mostly noise around the yearly change: a short
        # boosting run learns its shared shape and stops before it learns the noise (txhousing
        # holdout WAPE 0.064 with 30 rounds, 0.068 with 100, = seasonal naive's 0.068).
        rounds = o["diff_max_iter"] if self.transform == "diff" else o["max_iter"]
        return HistGradientBoostingRegressor(
            loss=loss, max_iter=rounds, learning_rate=o["learning_rate"],
            max_leaf_nodes=o["max_leaf_nodes"], early_stopping=False, random_state=self.seed,
        )

    # -- fit and predict ---------------------------------------------------------------------
    def fit(self, train: pd.DataFrame, regs: pd.DataFrame | None, ctx: FitContext) -> SklearnGlobal:
        self.fam = _family(self.freq)
        self.origin = train["ds"].max()
        self.hist = pd.date_range(train["ds"].min(), self.origin, freq=self.freq)
        self.n_hist = len(self.hist)
        self.lags, self.rolls, self.cal = LAGS[self.fam], ROLLS[self.fam], CALENDAR[self.fam]
        if self.n_hist >= 2 * YEAR[self.fam]:
            self.cal = self.cal + YEARLY[self.fam]
        self.sids = np.sort(train["series_id"].unique())
        self.nonneg = bool((train["y"] >= 0).all())
        Y = np.full((len(self.sids), self.n_hist), np.nan)
        # filled a slice of rows at a time: two whole-frame indexers were 1 GB at 100,000 series
        sid_at, sid, ds, y = pd.Index(self.sids), train["series_id"].to_numpy(), train["ds"].to_numpy(), \
            train["y"].to_numpy(float)
        for a in range(0, len(y), FILL_ROWS):
            b = a + FILL_ROWS
            Y[sid_at.get_indexer(sid[a:b]), self.hist.get_indexer(ds[a:b])] = y[a:b]
        del sid, ds, y
        window = self.options["window"] or WINDOW[self.fam]
        self.S = self._transform(Y)
        del Y  # (the diff transform keeps it as Z)
        self.reg_names = [c for c in (regs.columns if regs is not None else []) if c not in ("series_id", "ds")]
        self.feature_names = ([f"lag_{k}" for k in self.lags] + [f"mean_{w}" for w in self.rolls]
                              + list(self.cal) + ["series_code", "series_level"] + self.reg_names)
        cols = np.arange(max(1, self.n_hist - window), self.n_hist)
        n = len(self.sids)
        # rows (time-major: column by column, every series in each) with a target and at least
        # its last value (lag 1); beyond max_rows a seeded sample of them
        rows = _sample_rows(_usable(self.S, cols, self.lags[0]), self.options["max_rows"], self.seed)
        ti, si = np.divmod(rows, n)
        X = self._features(self.S, si, cols[ti], _calendar(self.hist, self.cal),
                           _reg_matrices(regs, self.reg_names, self.sids, self.hist))
        target = self.S[si, cols[ti]]
        self.est = self._estimator()
        ctx.check()
        self.est.fit(X, target)
        # per-series residual quantiles (transformed scale) for the model's own 80% interval
        # (a block of series at a time: a column's quantile is its own, the full periods x
        # series matrix of mostly NaN was 0.6 GB at 100,000 daily series)
        res = target - self.est.predict(X)
        self.q10, self.q90 = np.empty(n), np.empty(n)
        for a in range(0, n, BLOCK):
            at = (si >= a) & (si < a + BLOCK)
            resid = np.full((len(cols), min(BLOCK, n - a)), np.nan)
            resid[ti[at], si[at] - a] = res[at]
            with warnings.catch_warnings():  # a series with no rows sampled: NaN, then a 0 band
                warnings.simplefilter("ignore", RuntimeWarning)  # ("All-NaN slice", on the CLI)
                self.q10[a:a + BLOCK] = np.nan_to_num(np.nanquantile(resid, 0.10, axis=0))
                self.q90[a:a + BLOCK] = np.nan_to_num(np.nanquantile(resid, 0.90, axis=0))
        del res
        ctx.progress(len(self.sids))
        if ctx.keep:
            self._keep(X, target, ctx)
        return self

    def predict(self, horizon: int, regs: pd.DataFrame | None, ctx: FitContext) -> pd.DataFrame:
        ctx.check()
        dates = self.hist.append(future_dates(self.origin, horizon, self.freq))
        if self.reg_names and regs is None:
            raise ModelError("This model was fitted with regressors; predict needs their future values.")
        R = _reg_matrices(regs, self.reg_names, self.sids, dates)
        calX = _calendar(dates, self.cal)
        S = np.concatenate([self.S, np.full((len(self.sids), horizon), np.nan)], axis=1)
        every = np.arange(len(self.sids))
        for step in range(horizon):
            t = self.n_hist + step
            S[:, t] = self.est.predict(self._features(S, every, np.full(len(every), t), calX, R))
        preds = self._invert(S, horizon)
        widen = np.sqrt(np.arange(horizon) // self.season + 1)[None, :]
        sd = self.sd[:, None]
        lower = preds + self.q10[:, None] * widen * sd
        upper = preds + self.q90[:, None] * widen * sd
        if self.nonneg:
            preds = np.maximum(preds, 0.0)
        out = pd.DataFrame({
            "series_id": np.repeat(self.sids, horizon),
            "ds": np.tile(dates[self.n_hist:].to_numpy(), len(self.sids)),
            "yhat": preds.reshape(-1),
            "yhat_lower": np.minimum(lower, preds).reshape(-1),
            "yhat_upper": np.maximum(upper, preds).reshape(-1),
        })[OUT_COLS]
        return clip_nonneg(out, self.nonneg)

    def _keep(self, X: np.ndarray, target: np.ndarray, ctx: FitContext) -> None:
        import skops.io as sio
        from sklearn.inspection import permutation_importance

        est = self.est
        ctx.artefacts.append(Artefact("sklearn", "sklearn_global.skops", "skops", sio.dumps(est)))
        rng = np.random.default_rng(self.seed)
        take = rng.choice(len(target), size=min(len(target), 1500), replace=False)
        imp = permutation_importance(est, X[take], target[take], n_repeats=2,
                                     random_state=self.seed, n_jobs=1)
        importances = dict(zip(self.feature_names, map(float, imp.importances_mean), strict=True))
        ctx.explain["feature_importance"] = importances
        meta = {"features": self.feature_names, "importance": importances,
                "series": [int(s) for s in self.sids], "mean": self.mu.tolist(), "std": self.sd.tolist(),
                "transform": self.transform, "options": self.options, "strategy": "recursive"}
        ctx.artefacts.append(Artefact("sklearn", "sklearn_global.json", "json",
                                      json.dumps(meta).encode()))


def _usable(S: np.ndarray, cols: np.ndarray, lag: int) -> np.ndarray:
    """(series x len(cols)): a target at the column and a value `lag` periods before it. The
    columns are one run, read as views: indexing them by the array copied the matrix twice
    (1.2 GB at 100,000 daily series)."""
    if len(cols) and cols[0] - lag >= 0 and cols[-1] - cols[0] + 1 == len(cols):
        a, b = int(cols[0]), int(cols[-1]) + 1
        ok = np.isnan(S[:, a:b])
        ok |= np.isnan(S[:, a - lag:b - lag])
        return np.logical_not(ok, out=ok)
    return ~np.isnan(S[:, cols]) & ~np.isnan(S[:, cols - lag])


def _sample_rows(ok: np.ndarray, cap: int, seed: int) -> np.ndarray:
    """The usable rows (time-major positions: column by column, every series in each), or
    beyond `cap` a seeded sample of them, sorted. The sample is drawn as positions among the
    usable rows and only those are located (the same draw as choosing from the array of them,
    without that array: 0.6 GB of int64 at 100,000 daily series)."""
    count = int(ok.sum())
    if count < 10:
        raise ModelError("Too little history for the scikit-learn model: it needs at least "
                         "a few periods per series before the forecast origin.")
    okT = ok.T  # (columns x series): time-major
    if not cap or count <= cap:
        return np.flatnonzero(okT.reshape(-1))
    # rng.choice(rows, cap) is rows[rng.choice(len(rows), cap)], and rows ascend, so sorting
    # the positions sorts the rows
    pos = np.sort(np.random.default_rng(seed).choice(count, cap, replace=False))
    per = okT.sum(axis=1)  # usable rows per column
    end = np.cumsum(per)
    col = np.searchsorted(end, pos, side="right")
    within = pos - (end[col] - per[col])
    out = np.empty(len(pos), np.int64)
    n = ok.shape[0]
    bounds = np.searchsorted(col, np.arange(len(per) + 1))  # pos sorted: each column's run
    for c in np.flatnonzero(np.diff(bounds)):
        a, b = bounds[c], bounds[c + 1]
        out[a:b] = c * n + np.flatnonzero(okT[c])[within[a:b]]
    return out


def load_estimator(data: bytes):
    """Load a skops file, refusing any type outside what our models are built from."""
    import skops.io as sio

    untrusted = sio.get_untrusted_types(data=data)
    bad = [t for t in untrusted if t not in TRUSTED_TYPES]
    if bad:
        raise ModelError(f"The model file holds types Shelfcast does not load: {', '.join(bad)}.")
    return sio.loads(data, trusted=untrusted)


# Beyond skops' own defaults (sklearn estimators, numpy arrays), only these may be loaded.
TRUSTED_TYPES = {"sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor", "numpy.dtype"}
