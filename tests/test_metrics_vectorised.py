"""The vectorised metrics (one pass of bincounts over every series, model and fold) against the
plain per-group arithmetic they replaced, on rows with every awkward case: missing forecasts,
missing bands, zero actuals, returns (negative y), a series without sales, a series missing a
fold, a series without a MASE scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import metrics


def _reference(y, yhat, lower, upper, scale) -> dict:
    """The per-group definition as it was written before vectorising (kept here verbatim)."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    ok = ~(np.isnan(y) | np.isnan(yhat))
    y, yhat = y[ok], yhat[ok]
    err = yhat - y
    abs_err, abs_y = float(np.abs(err).sum()), float(np.abs(y).sum())
    nz = y != 0
    denom = np.abs(y) + np.abs(yhat)
    both = denom > 0

    def div(a, b):
        return float(a / b) if b else float("nan")

    out = {
        "wape": div(abs_err, abs_y),
        "mape": float(np.mean(np.abs(err[nz]) / np.abs(y[nz]))) if nz.any() else float("nan"),
        "mape_skipped": int((~nz).sum()),
        "smape": float(np.mean(2 * np.abs(err[both]) / denom[both])) if both.any() else 0.0,
        "mase": div(float(np.abs(err).mean()), scale) if len(y) and scale else float("nan"),
        "bias": div(float(err.sum()), abs_y),
        "rmse": float(np.sqrt(np.mean(err**2))) if len(y) else float("nan"),
        "coverage": float("nan"), "abs_err": abs_err, "abs_y": abs_y, "n": int(len(y)),
    }
    lo, hi = np.asarray(lower, float)[ok], np.asarray(upper, float)[ok]
    have = ~(np.isnan(lo) | np.isnan(hi))
    if have.any():
        out["coverage"] = float(np.mean((y[have] >= lo[have]) & (y[have] <= hi[have])))
    out["accuracy"] = 1 - out["wape"] if not np.isnan(out["wape"]) else float("nan")
    return out


def _backtest(seed: int = 5) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    rows = []
    for sid in (3, 1, 7, 4, 9):
        for model in ("naive", "ets"):
            for fold in (0, 1, 2):
                if sid == 7 and fold == 1:
                    continue  # a series that sat a fold out
                n = 6
                rows.append(pd.DataFrame({"series_id": sid, "model": model, "fold": fold,
                                          "y": rng.poisson(3, n).astype(float),
                                          "yhat": rng.gamma(2, 2, n)}))
    bt = pd.concat(rows, ignore_index=True).sample(frac=1, random_state=seed)  # any row order
    bt.loc[bt["series_id"] == 4, "y"] = 0.0  # no sales: WAPE, bias, MAPE undefined
    bt.loc[bt.index % 13 == 0, "y"] = -1.0  # returns
    bt.loc[bt.index % 17 == 0, "yhat"] = np.nan  # pairs without a forecast are left out
    bt.loc[(bt["series_id"] == 9) & (bt["model"] == "ets") & (bt["fold"] == 2), "yhat"] = np.nan
    bt["yhat_lower"], bt["yhat_upper"] = bt["yhat"] - 1.5, bt["yhat"] + 1.5
    bt.loc[bt.index % 7 == 0, "yhat_upper"] = np.nan  # a band missing on some rows ...
    bt.loc[bt["series_id"] == 1, ["yhat_lower", "yhat_upper"]] = np.nan  # ... or a whole series
    scale = pd.Series({3: 1.5, 1: 0.0, 7: 2.0, 4: np.nan})  # 9 has none: MASE NaN
    return bt, scale


def test_per_series_equals_the_per_group_definition():
    bt, scale = _backtest()
    got = metrics.per_series(bt, scale)
    want = []
    for (sid, model), g in bt.groupby(["series_id", "model"], sort=True):
        for fold, gf in [*g.groupby("fold", sort=True), (None, g)]:
            m = _reference(gf["y"], gf["yhat"], gf["yhat_lower"], gf["yhat_upper"], scale.get(sid, np.nan))
            want.append({"series_id": sid, "model": model, "fold": fold, **m})
    want = pd.DataFrame(want)
    assert len(got) == len(want) == 5 * 2 * 4 - 2  # series 7 has no fold 1 (either model)
    assert list(got.columns) == metrics.PER_SERIES_COLS
    assert got["series_id"].tolist() == want["series_id"].tolist()
    assert got["model"].tolist() == want["model"].tolist()
    assert got["fold"].fillna(-1).tolist() == want["fold"].fillna(-1).tolist()
    for col in (*metrics.METRICS, "abs_err", "abs_y", "n", "mape_skipped", "accuracy"):
        assert np.allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=0, atol=1e-12,
                           equal_nan=True), col
    assert got["smape"].notna().all()  # sMAPE of a group without pairs is 0, as defined


def test_compute_and_pooled_match_the_definition():
    bt, scale = _backtest(9)
    for lo, hi in ((bt["yhat_lower"], bt["yhat_upper"]), (None, None)):
        got = metrics.compute(bt["y"], bt["yhat"], lo, hi, 2.5)
        want = _reference(bt["y"], bt["yhat"], bt["yhat_lower"] if lo is not None else np.full(len(bt), np.nan),
                          bt["yhat_upper"] if hi is not None else np.full(len(bt), np.nan), 2.5)
        assert got.keys() == want.keys()
        for k in want:
            assert got[k] == pytest.approx(want[k], abs=1e-12, nan_ok=True), k
        assert isinstance(got["n"], int) and isinstance(got["mape_skipped"], int)
    p = metrics.pooled(bt, scale)
    per = [_reference(g["y"], g["yhat"], g["yhat"], g["yhat"], scale.get(sid, np.nan))["mase"]
           for (sid, _), g in bt.groupby(["series_id", "model"])]
    assert p["mase"] == pytest.approx(np.nanmean(per), abs=1e-12)
    assert p["wape"] == pytest.approx(_reference(bt["y"], bt["yhat"], bt["yhat"], bt["yhat"], None)["wape"])


def test_empty_group_metrics():
    m = metrics.compute(np.array([1.0, 2.0]), np.array([np.nan, np.nan]), scale=1.0)
    assert m["n"] == 0 and m["smape"] == 0.0
    assert all(np.isnan(m[k]) for k in ("wape", "mape", "mase", "bias", "rmse", "coverage", "accuracy"))
    assert metrics.per_series(pd.DataFrame(columns=["series_id", "model", "fold", "y", "yhat",
                                                    "yhat_lower", "yhat_upper"])).empty


def test_naive_scale_equals_the_per_series_definition():
    rng = np.random.default_rng(2)
    parts = [pd.DataFrame({"series_id": sid, "y": rng.poisson(2, n).astype(float)})
             for sid, n in ((5, 30), (2, 7), (8, 1), (1, 10), (6, 12))]
    parts[4]["y"] = 3.0  # constant: no seasonal change, scale undefined
    train = pd.concat(parts, ignore_index=True)
    got = metrics.naive_scale(train, 7)
    for sid, g in train.groupby("series_id"):
        y = g["y"].to_numpy()
        m = 7 if len(y) > 7 else 1
        d = np.abs(y[m:] - y[:-m]) if len(y) > m else np.array([])
        want = float(d.mean()) if len(d) and d.mean() > 0 else np.nan
        assert got[sid] == pytest.approx(want, nan_ok=True), sid
