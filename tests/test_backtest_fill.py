"""core.backtest.run_models: every model's folds written into one frame's columns, allocated
once (no concatenated copies), equal to each fold's test rows merged with its forecast."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pandas as pd

from core import backtest
from core.models.base import FitContext
from core.models.data import complete
from core.models.naive import SeasonalNaive
from tests.train_helpers import demo_frame, long_frame


class Shuffled(SeasonalNaive):
    """Seasonal naive whose forecast comes back in another row order, one row missing."""

    name = "shuffled"

    def fit_predict(self, train, horizon, regs, ctx):
        fc = super().fit_predict(train, horizon, regs, ctx)
        return fc.iloc[::-1].iloc[1:]


def _reference(make, y: pd.DataFrame, cuts: list) -> pd.DataFrame:
    """The rows as the backtest always defined them: per fold, split then a left merge."""
    parts = []
    for fold, cut in enumerate(cuts):
        train, test = backtest.split(y, cut, 7, "D")
        if train.empty or test.empty:
            continue
        model = make()
        fc = model.fit_predict(train, 7, None, FitContext())
        parts.append(test.merge(fc, on=["series_id", "ds"], how="left").assign(model=model.name, fold=fold, cutoff=cut))
    return pd.concat(parts, ignore_index=True)[backtest.COLS]


def test_models_in_blocks_equal_split_and_merge_per_fold():
    y = complete(long_frame(demo_frame(n_skus=3, days=90)), "D")
    late = y["series_id"] == y["series_id"].max()  # a series starting late sits the first fold out
    y = y[~late | (y["ds"] > y["ds"].max() - pd.Timedelta(days=20))].reset_index(drop=True)
    cuts = backtest.cutoffs(y["ds"].max(), 7, 3, "D")
    held: list[str] = []

    @contextmanager
    def hold():
        held.append("in")
        yield
        held.append("out")

    makers = [lambda: SeasonalNaive("D"), lambda: Shuffled("D")]
    got = backtest.run_models(makers, y, None, "D", 7, cuts, FitContext(), hold=hold)
    want = pd.concat([_reference(m, y, cuts) for m in makers], ignore_index=True)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert held == ["in", "out", "in", "out"]  # one hold per model, around all its folds
    assert (got.loc[got["fold"] == 0, "series_id"] != y["series_id"].max()).all()
    missing = got[got["model"] == "shuffled"]["yhat"].isna()
    assert missing.sum() == 3  # the row each fold's forecast left out: NaN, as the merge gives
    assert list(got.columns) == backtest.COLS and got["fold"].dtype == np.int64


def test_no_rows_gives_the_empty_frame():
    y = complete(long_frame(demo_frame(n_skus=2, days=8)), "D")
    cuts = backtest.cutoffs(y["ds"].max(), 7, 3, "D")  # no fold has two periods of history
    got = backtest.run_models([lambda: SeasonalNaive("D")], y, None, "D", 7, cuts, FitContext())
    assert got.empty and list(got.columns) == backtest.COLS
