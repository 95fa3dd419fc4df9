"""One scikit-learn estimator over all series (a "global" model).

Features at period t of series i, all from values before t:
- lags of units at the data's frequency (daily 1-7, 14, 21, 28; weekly 1-4, 8, 13, 26, 52;
  monthly 1-3, 6, 12) and rolling means of the previous periods (daily 7/28, weekly 4/13,
  monthly 3/12);
- calendar: day of week, day of month, month, day of year / week of year;
- series identity: a series code and the series' level (mean units over the last season-year);
- mapped regressors whose future values are known (price plan, promo calendar, ...).

Units are divided by the series' level so that one model serves fast and slow movers alike, and
multiplied back afterwards.

Multi-step strategy: **recursive**. The model predicts one period ahead; the prediction is
written into the history and the next period's lags are computed from it, up to the horizon.
One model serves every horizon (a direct strategy would need one per step) at the cost of
errors compounding along the horizon, which the backtest measures.

Training rows: the last `window` periods of every series; beyond `max_rows` (150,000) a seeded
random sample of them, which keeps 1,000+ series fast without a measurable loss of accuracy.

80% interval: per series, the 10th and 90th percentiles of the model's in-sample residuals,
widened with the square root of the steps ahead in seasons (as for seasonal naive).

Estimators: HistGradientBoostingRegressor (default; Poisson loss for non-negative units) or
Ridge (fast linear option, with one-hot calendar). Threads: HistGradientBoosting uses OpenMP;
core.training caps it with threadpoolctl at SHELFCAST_THREADS (default: all cores).
"""

from __future__ import annotations

import json

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

LAGS = {"D": (1, 2, 3, 4, 5, 6, 7, 14, 21, 28), "W": (1, 2, 3, 4, 8, 13, 26, 52), "M": (1, 2, 3, 6, 12)}
ROLLS = {"D": (7, 28), "W": (4, 13), "M": (3, 12)}
WINDOW = {"D": 730, "W": 156, "M": 60}  # training periods kept per series (most recent)
LEVEL = {"D": 365, "W": 52, "M": 12}
CALENDAR = {"D": ("dow", "dom", "month", "doy"), "W": ("woy", "month"), "M": ("month",)}


def _family(freq: str) -> str:
    return "D" if freq == "D" else "W" if freq.startswith("W") else "M"


def _calendar(dates: pd.DatetimeIndex, names: tuple[str, ...]) -> np.ndarray:
    cols = {
        "dow": dates.dayofweek, "dom": dates.day, "month": dates.month, "doy": dates.dayofyear,
        "woy": dates.isocalendar().week.to_numpy() if len(dates) else np.array([]),
    }
    return np.column_stack([np.asarray(cols[n], float) for n in names]) if names else np.empty((len(dates), 0))


class SklearnGlobal(Forecaster):
    name = "sklearn"
    OPTIONS: dict[str, object] = {
        "estimator": "hgb",  # hgb | ridge
        "max_iter": 100,  # boosting rounds (hgb)
        "learning_rate": 0.1,
        "max_leaf_nodes": 31,
        "alpha": 1.0,  # ridge penalty
        "loss": "auto",  # auto (poisson for non-negative units) | squared_error | poisson
        "window": 0,  # training periods per series; 0 = two years / three years of weeks / five of months
        "max_rows": 150_000,  # training rows kept (a seeded random sample beyond that; 0 = all)
    }

    def parse_options(self, options: dict) -> dict:
        out = super().parse_options(options)
        if out["estimator"] not in ("hgb", "ridge"):
            raise ModelError(f"estimator must be hgb or ridge, not {out['estimator']!r}.")
        if out["loss"] not in ("auto", "squared_error", "poisson"):
            raise ModelError(f"loss must be auto, squared_error or poisson, not {out['loss']!r}.")
        if out["max_iter"] < 1 or out["learning_rate"] <= 0 or out["max_leaf_nodes"] < 2:
            raise ModelError("max_iter must be ≥ 1, learning_rate > 0 and max_leaf_nodes ≥ 2.")
        return out

    # -- features ---------------------------------------------------------------------------
    def _setup(self, train: pd.DataFrame, horizon: int, regs: pd.DataFrame | None) -> None:
        fam = _family(self.freq)
        self.lags, self.rolls, self.cal = LAGS[fam], ROLLS[fam], CALENDAR[fam]
        origin = train["ds"].max()
        start = train["ds"].min()
        hist = pd.date_range(start, origin, freq=self.freq)
        self.dates = hist.append(future_dates(origin, horizon, self.freq))
        self.n_hist = len(hist)
        self.sids = np.sort(train["series_id"].unique())
        n, T = len(self.sids), len(self.dates)
        row = pd.Index(self.sids).get_indexer(train["series_id"])
        col = pd.Index(hist).get_indexer(train["ds"])
        Y = np.full((n, T), np.nan)
        Y[row, col] = train["y"].to_numpy(float)
        self.first = np.argmax(~np.isnan(Y), axis=1)
        lv = LEVEL[fam]
        recent = Y[:, max(0, self.n_hist - lv):self.n_hist]
        level = np.nanmean(np.where(np.isnan(recent), np.nan, np.abs(recent)), axis=1)
        self.level = np.where(np.isfinite(level) & (level > 0), level, 1.0)
        self.Ys = Y / self.level[:, None]
        self.reg_names = [c for c in (regs.columns if regs is not None else []) if c not in ("series_id", "ds")]
        self.R = []
        for name in self.reg_names:
            M = np.full((n, T), np.nan)
            r = regs[regs["series_id"].isin(self.sids)]
            ri = pd.Index(self.sids).get_indexer(r["series_id"])
            ci = pd.Index(self.dates).get_indexer(pd.to_datetime(r["ds"]))
            ok = ci >= 0
            M[ri[ok], ci[ok]] = r[name].to_numpy(float)[ok]
            self.R.append(M)
        self.calX = _calendar(self.dates, self.cal)
        self.feature_names = ([f"lag_{k}" for k in self.lags] + [f"mean_{w}" for w in self.rolls]
                              + list(self.cal) + ["series_code", "series_level"] + self.reg_names)

    def _features(self, cols: np.ndarray) -> np.ndarray:
        """Feature rows for every series at each column in `cols` (time-major order)."""
        n = len(self.sids)
        Ys = self.Ys
        parts = []
        for k in self.lags:
            idx = cols - k
            v = np.where(idx[None, :] >= 0, Ys[:, np.clip(idx, 0, None)], np.nan)
            parts.append(v.T.reshape(-1))
        filled = np.nan_to_num(Ys)
        csum = np.concatenate([np.zeros((n, 1)), np.cumsum(filled, axis=1)], axis=1)
        cnt = np.concatenate([np.zeros((n, 1)), np.cumsum(~np.isnan(Ys), axis=1)], axis=1)
        for w in self.rolls:
            lo = np.clip(cols - w, 0, None)
            s = csum[:, cols] - csum[:, lo]
            c = cnt[:, cols] - cnt[:, lo]
            with np.errstate(invalid="ignore", divide="ignore"):
                parts.append((s / np.where(c > 0, c, np.nan)).T.reshape(-1))
        cal = np.repeat(self.calX[cols], n, axis=0)
        code = np.tile(np.arange(n, dtype=float), len(cols))
        level = np.tile(self.level, len(cols))
        regs = [M[:, cols].T.reshape(-1) for M in self.R]
        return np.column_stack([*parts, cal, code, level, *regs])

    def _estimator(self, nonneg: bool):
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

        loss = o["loss"] if o["loss"] != "auto" else ("poisson" if nonneg else "squared_error")
        return HistGradientBoostingRegressor(
            loss=loss, max_iter=o["max_iter"], learning_rate=o["learning_rate"],
            max_leaf_nodes=o["max_leaf_nodes"], early_stopping=False, random_state=self.seed,
        )

    # -- fit and forecast --------------------------------------------------------------------
    def fit_predict(self, train: pd.DataFrame, horizon: int, regs: pd.DataFrame | None,
                    ctx: FitContext) -> pd.DataFrame:
        self._setup(train, horizon, regs)
        nonneg = bool((train["y"] >= 0).all())
        window = self.options["window"] or WINDOW[_family(self.freq)]
        lo = max(1, self.n_hist - window)
        cols = np.arange(lo, self.n_hist)
        X = self._features(cols)
        target = self.Ys[:, cols].T.reshape(-1)
        series_first = np.tile(self.first, len(cols))
        ok = ~np.isnan(target) & (np.repeat(cols, len(self.sids)) > series_first)
        if ok.sum() < 10:
            raise ModelError("Too little history for the scikit-learn model: it needs at least "
                             "a few periods per series before the forecast origin.")
        X, target = X[ok], target[ok]
        est = self._estimator(nonneg)
        ctx.check()
        rows = np.flatnonzero(ok)
        cap = self.options["max_rows"]
        if cap and len(target) > cap:  # a global model saturates long before every row is seen
            take = np.sort(np.random.default_rng(self.seed).choice(len(target), cap, replace=False))
            X, target, rows = X[take], target[take], rows[take]
        est.fit(X, target)
        # per-series residual quantiles (scaled units) for the interval, on the training rows
        resid = np.full((len(cols), len(self.sids)), np.nan)
        resid.reshape(-1)[rows] = target - est.predict(X)
        q10 = np.nan_to_num(np.nanquantile(resid, 0.05, axis=0)) if len(cols) else np.zeros(len(self.sids))
        q90 = np.nan_to_num(np.nanquantile(resid, 0.95, axis=0)) if len(cols) else np.zeros(len(self.sids))
        ctx.check()
        preds = np.empty((horizon, len(self.sids)))
        for step in range(horizon):
            t = self.n_hist + step
            p = est.predict(self._features(np.array([t])))
            if nonneg:
                p = np.maximum(p, 0.0)
            self.Ys[:, t] = p
            preds[step] = p
        widen = np.sqrt(np.arange(horizon) // self.season + 1)[:, None]
        lvl = self.level[None, :]
        out = pd.DataFrame({
            "series_id": np.tile(self.sids, horizon),
            "ds": np.repeat(self.dates[self.n_hist:].to_numpy(), len(self.sids)),
            "yhat": (preds * lvl).reshape(-1),
            "yhat_lower": ((preds + q10[None, :] * widen) * lvl).reshape(-1),
            "yhat_upper": ((preds + q90[None, :] * widen) * lvl).reshape(-1),
        })[OUT_COLS]
        ctx.progress(len(self.sids))
        if ctx.keep:
            self._keep(est, X, target, ctx)
        return clip_nonneg(out.sort_values(["series_id", "ds"], ignore_index=True), nonneg)

    def _keep(self, est, X: np.ndarray, target: np.ndarray, ctx: FitContext) -> None:
        import skops.io as sio
        from sklearn.inspection import permutation_importance

        ctx.artefacts.append(Artefact("sklearn", "sklearn_global.skops", "skops", sio.dumps(est)))
        rng = np.random.default_rng(self.seed)
        take = rng.choice(len(target), size=min(len(target), 1500), replace=False)
        imp = permutation_importance(est, X[take], target[take], n_repeats=2,
                                     random_state=self.seed, n_jobs=1)
        importances = dict(zip(self.feature_names, map(float, imp.importances_mean), strict=True))
        ctx.explain["feature_importance"] = importances
        meta = {"features": self.feature_names, "importance": importances,
                "series": [int(s) for s in self.sids], "level": self.level.tolist(),
                "options": self.options, "strategy": "recursive"}
        ctx.artefacts.append(Artefact("sklearn", "sklearn_global.json", "json",
                                      json.dumps(meta).encode()))


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
