"""The training run's array fast paths (no sort, no merge, no per-cut copy: what made 100,000
series fit in memory) held to the general paths they skip: same rows, same floats, exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import backtest, metrics, quantiles
from core.models.base import FitContext
from core.models.classify import classify
from core.models.data import complete
from core.models.naive import SeasonalNaive
from core.training import selection, steps

QS = (0.1, 0.5, 0.9)


@pytest.fixture(scope="module")
def y() -> pd.DataFrame:
    """Gap-free daily series of mixed length (some too short for a fold, some shorter than a
    season), sorted as a run loads them."""
    rng = np.random.default_rng(7)
    parts = []
    for sid, n in enumerate(rng.integers(2, 90, 60)):
        ds = pd.date_range(end="2025-03-30", periods=int(n), freq="D")
        parts.append(pd.DataFrame({"series_id": sid + 3, "ds": ds, "y": rng.poisson(2, len(ds)).astype(float)}))
    return complete(pd.concat(parts, ignore_index=True), "D")


@pytest.fixture(scope="module")
def bt(y) -> pd.DataFrame:
    cuts = backtest.cutoffs(y["ds"].max(), 7, 3, "D")
    return backtest.run(lambda: SeasonalNaive("D"), y, None, "D", 7, cuts, FitContext())


def test_backtest_rows_equal_the_merge_of_test_and_forecast(y, bt):
    cuts = backtest.cutoffs(y["ds"].max(), 7, 3, "D")
    want = []
    for fold, cut in enumerate(cuts):
        train, test = backtest.split(y, cut, 7, "D")  # factorized codes, not the shared ones
        fc = SeasonalNaive("D").fit_predict(train, 7, None, FitContext())
        got = test.merge(fc, on=["series_id", "ds"], how="left")
        want.append(got.assign(model="naive", fold=fold, cutoff=cut))
    want = pd.concat(want, ignore_index=True)[backtest.COLS]
    pd.testing.assert_frame_equal(bt, want, check_exact=True)
    # a forecast in another order than the test rows takes the merge: same rows
    test = y[y["ds"] > cuts[-1]]
    fc = SeasonalNaive("D").fit_predict(y[y["ds"] <= cuts[-1]], 7, None, FitContext())
    pd.testing.assert_frame_equal(_scored(test, fc, cuts[-1]), _scored(test, fc.iloc[::-1], cuts[-1]),
                                  check_exact=True)


def _scored(test: pd.DataFrame, fc: pd.DataFrame, cut) -> pd.DataFrame:
    """The last fold's backtest rows of `test` and forecast `fc`, as run_models fills them."""
    out = backtest._columns(test, len(test))
    backtest._fill(out, slice(0, len(test)), np.arange(len(test)), test["series_id"].to_numpy(),
                   test["ds"].to_numpy(), test["y"].to_numpy(), fc, "naive", 2, cut, test)
    return pd.DataFrame(out)


def test_calibrate_in_backtest_order_equals_the_sorted_merge(y, bt):
    sc = quantiles.scales(y, sorted(bt["cutoff"].unique()), 7)
    fast = quantiles.calibrate(bt, sc, QS, 7)
    assert quantiles._steps_in_order(bt["series_id"].to_numpy(), bt["fold"].to_numpy(), bt["ds"].to_numpy()) is not None
    shuffled = bt.sample(frac=1, random_state=3)  # takes with_steps + merge
    assert np.array_equal(fast, quantiles.calibrate(shuffled, sc, QS, 7))
    assert np.array_equal(quantiles.calibrate(bt, sc.iloc[::2], QS, 7),
                          quantiles.calibrate(shuffled, sc.iloc[::2], QS, 7))  # rows without a scale


def test_apply_to_sorted_forecasts_equals_the_sorted_path(y):
    fc = SeasonalNaive("D").fit_predict(y, 7, None, FitContext())
    scale = quantiles.scales(y, [y["ds"].max()], 7).set_index("series_id")["scale"].iloc[4:]
    table = np.sort(np.random.default_rng(1).normal(size=(7, 3)), axis=1)
    a = quantiles.apply(fc, table, scale, QS, True)
    b = quantiles.apply(fc.sample(frac=1, random_state=2), table, scale, QS, True)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_naive_scale_of_a_grouped_frame_equals_the_sorted_one(y):
    cut = y["ds"].max() - pd.Timedelta(days=21)
    first = y[y["ds"] <= cut]
    got = metrics.naive_scale(first[["series_id", "y"]], 7)
    blocks = first.sort_values("series_id", ascending=False, kind="stable")  # series in another order: sorted first
    pd.testing.assert_series_equal(got, metrics.naive_scale(blocks, 7), check_exact=True)
    longest = first[first.groupby("series_id")["y"].transform("size") > 7]  # no lag-1 series: the fast path
    for sid, g in longest.groupby("series_id"):
        v = g["y"].to_numpy()
        want = np.abs(v[7:] - v[:-7]).mean()
        assert metrics.naive_scale(longest, 7)[sid] == (want if want > 0 else pytest.approx(np.nan, nan_ok=True))


@pytest.mark.parametrize("obsolete_after,window", [(28, None), (0, 30), (60, 20)])
def test_classify_equals_the_per_series_definition(y, obsolete_after, window):
    got = classify(y, 7, obsolete_after, window).set_index("series_id")
    w = window or 364
    for sid, g in y.groupby("series_id"):
        v = g["y"].to_numpy()
        last = v[-w:]
        nz = last[last > 0]
        adi = len(last) / len(nz) if len(nz) else np.inf
        assert got.loc[sid, "adi"] == pytest.approx(adi)
        if len(nz):
            assert got.loc[sid, "cv2"] == pytest.approx((nz.std() / nz.mean()) ** 2)
        if obsolete_after and not (v[-obsolete_after:] > 0).any():
            assert got.loc[sid, "class"] == "obsolete"


def test_honest_quantile_scores_equal_the_per_cutoff_frames(y, bt):
    """The headline's quantile scores as they were computed: one quantile frame per model and
    cut-off (quantiles.apply), concatenated in model and cut-off order."""
    cuts = sorted(bt["cutoff"].unique())
    sc = quantiles.scales(y, cuts, 7)
    other = bt.assign(model="zz", yhat=bt["yhat"] * 1.1)
    rows = pd.concat([other, bt], ignore_index=True).sample(frac=1, random_state=5)
    run = steps.Run(vid=0, params={}, freq="D", horizon=7, folds=3, y=y, raw_regs=pd.DataFrame(),
                    bt=rows, honest=rows, honest_sel=rows[rows["fold"] < 2])
    got = steps._honest_quantile_scores(run, sc, QS, True, ["series_id", "fold", "cutoff", "ds", "y", "yhat"])
    scored = []
    cut_scale = sc.set_index(["series_id", "cutoff"])["scale"]
    for m, r in rows.groupby("model", sort=True):
        table = quantiles.calibrate(run.honest_sel[run.honest_sel["model"] == m], sc, QS, 7)
        for cut, rc in r.groupby("cutoff"):
            scored.append(quantiles.apply(rc, table, cut_scale.xs(cut, level="cutoff"), QS, True))
    s = pd.concat(scored, ignore_index=True)
    want = metrics.quantile_scores(s["y"].to_numpy(), {q: s[quantiles.column(q)].to_numpy() for q in QS})
    want["band_coverage"] = float(((s["y"] >= s["p10"]) & (s["y"] <= s["p90"])).mean())
    assert got == {"levels": list(QS), **want}


def test_picked_by_mask_equals_the_merge():
    def merged(rows, chosen):
        r = rows.merge(chosen.rename("chosen"), left_on="series_id", right_index=True)
        return r[r["model"] == r["chosen"]].drop(columns="chosen")

    rows = pd.DataFrame({"series_id": np.repeat(np.arange(20), 4), "model": np.tile(["naive", "naive", "sklearn", "sklearn"], 20),
                         "y": np.arange(80.0)})
    for chosen in (pd.Series("naive", index=np.arange(20)), pd.Series("sklearn", index=np.arange(20)),
                   pd.Series("naive", index=np.arange(15)), pd.Series(np.where(np.arange(20) % 2, "naive", "sklearn"), index=np.arange(20))):
        for r in (rows, rows[rows["model"] == "naive"], rows[rows["model"] == "naive"].reset_index(drop=True)):
            pd.testing.assert_frame_equal(selection.picked(r, chosen), merged(r, chosen), check_exact=True)
