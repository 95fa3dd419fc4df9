"""A training run's memo for ETS and Theta (core.models.make(memo=...)): the form each series
got on its first fit (the first backtest fold) is what every later fit of the run fits, and a
fit with the memo equals a fresh fit of that fixed form. Real fits on small data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import backtest, models
from core.models.base import FitContext
from tests.test_models_stat import seasonal_trend


def lib_models(fitted) -> list:
    """The library model objects that serve each series (a search's winners), in series_id order."""
    out = fitted.chosen()
    return [out[k] for k in sorted(out)]


def fixed_options(name: str, form: str) -> dict:
    return ({"ets_model": form[:3], "ets_damped": "yes" if form[3] == "D" else "no"} if name == "ets"
            else {"theta_model": form})


def folds(n_series: int = 6):
    train, _, h, _ = seasonal_trend(n_series, n=84)
    cuts = backtest.cutoffs(train["ds"].max(), h, 3, "MS")
    return train, h, cuts


@pytest.mark.parametrize("name", ["ets", "theta"])
def test_the_first_folds_form_is_reused_by_every_later_fit(name):
    train, h, cuts = folds()
    memo: dict = {}
    rows = backtest.run(lambda: models.make(name, "MS", {}, 0, memo=memo), train, None, "MS", h, cuts,
                        FitContext())
    assert set(rows["fold"]) == {0, 1, 2}
    (forms,) = memo.values()
    first = train[train["ds"] <= cuts[0]]
    searched = models.make(name, "MS").fit(first, None, FitContext())
    assert forms == {sid: searched.form_of(m) for sid, m in zip(sorted(forms), lib_models(searched), strict=True)}
    final = models.make(name, "MS", {}, 0, memo=memo).fit(train, None, FitContext())
    for sid, m in zip(sorted(forms), lib_models(final), strict=True):
        assert final.form_of(m) == forms[sid]
        if name == "ets":  # the library was told the form: nothing left to search
            assert (m.model, m.damped) == (forms[sid][:3], forms[sid][3] == "D")
        else:
            assert m.model == forms[sid]


@pytest.mark.parametrize("name", ["ets", "theta"])
def test_a_fit_with_the_memo_equals_a_fresh_fit_of_that_form(name):
    train, h, cuts = folds()
    memo: dict = {}
    models.make(name, "MS", {}, 0, memo=memo).fit(train[train["ds"] <= cuts[0]], None, FitContext())
    (forms,) = memo.values()
    got = models.make(name, "MS", {}, 0, memo=memo).fit_predict(train, h, None, FitContext())
    fresh = []
    for form in sorted(set(forms.values())):
        sids = [s for s, f in forms.items() if f == form]
        part = train[train["series_id"].isin(sids)]
        fresh.append(models.make(name, "MS", fixed_options(name, form)).fit_predict(part, h, None, FitContext()))
    want = pd.concat(fresh).sort_values(["series_id", "ds"], ignore_index=True)
    pd.testing.assert_frame_equal(got.sort_values(["series_id", "ds"], ignore_index=True), want)


def test_the_memo_decides_the_form_not_a_new_search():
    """A form planted in the memo is the one fitted, even where a search would pick another."""
    train, h, _ = folds(2)
    searched = models.make("ets", "MS").fit_predict(train, h, None, FitContext())
    memo: dict = {}
    model = models.make("ets", "MS", {}, 0, memo=memo)
    model.forms_.update({1: "ANNN", 2: "ANNN"})
    got = model.fit_predict(train, h, None, FitContext())
    flat = models.make("ets", "MS", {"ets_model": "ANN", "ets_damped": "no"}).fit_predict(train, h, None, FitContext())
    pd.testing.assert_frame_equal(got, flat)
    assert not np.allclose(got["yhat"], searched["yhat"])


@pytest.mark.parametrize("name", ["ets", "theta"])
def test_without_a_memo_every_fit_searches_as_before(name):
    train, h, cuts = folds()
    today = models.make(name, "MS").fit_predict(train, h, None, FitContext())
    assert models.make(name, "MS", memo=None).forms_ is None
    pd.testing.assert_frame_equal(models.make(name, "MS", memo=None).fit_predict(train, h, None, FitContext()), today)
    # the option that asks for a search at every fit leaves the memo alone
    memo: dict = {}
    assert models.make(name, "MS", {"form_search": "every_fit"}, 0, memo=memo).forms_ is None and not memo
    with pytest.raises(models.ModelError):
        models.make(name, "MS", {"form_search": "twice"})
    # a run's first fit searches too: with an empty memo the forecast is today's
    pd.testing.assert_frame_equal(models.make(name, "MS", memo={}).fit_predict(train, h, None, FitContext()), today)


def test_a_multiplicative_form_meets_zeros_later_and_searches_again():
    """ETS's multiplicative forms need positive data; a zero after the first fold must not send
    the series to the library's failure fallback."""
    train, h, _ = folds(2)
    memo: dict = {}
    model = models.make("ets", "MS", {}, 0, memo=memo)
    model.forms_.update({1: "MAMN", 2: "MAMN"})
    zeros = train.assign(y=np.where((train["series_id"] == 1) & (train.index % 17 == 0), 0.0, train["y"]))
    got = model.fit_predict(zeros, h, None, FitContext())
    searched = models.make("ets", "MS").fit_predict(zeros[zeros["series_id"] == 1], h, None, FitContext())
    pd.testing.assert_frame_equal(got[got["series_id"] == 1].reset_index(drop=True), searched)
    assert model.forms_[1][0] == "A" and model.forms_[2] == "MAMN"  # searched again, and remembered


def test_series_new_to_the_run_are_searched_and_memos_do_not_mix():
    train, h, _ = folds(3)
    memo: dict = {}
    models.make("ets", "MS", {}, 0, memo=memo).fit(train[train["series_id"] < 3], None, FitContext())
    models.make("ets", "MS", {}, 0, memo=memo).fit(train, None, FitContext())
    (forms,) = memo.values()
    assert set(forms) == {1, 2, 3}
    # another model, or other options, in the same dict keep their own forms
    models.make("theta", "MS", {}, 0, memo=memo).fit(train, None, FitContext())
    models.make("ets", "MS", {"ets_damped": "no"}, 0, memo=memo).fit(train, None, FitContext())
    assert len(memo) == 3 and all(set(f) == {1, 2, 3} for f in memo.values())
    assert not any(f.endswith("D") for key, f_ in memo.items() if "no" in str(key) for f in f_.values())
    # models that search nothing ignore the memo
    assert models.make("croston", "MS", {}, 0, memo=memo).forms_ is None and len(memo) == 3


def test_ets_searches_seasonal_forms_only_where_a_season_shows():
    """White noise has no season at lag 7, a weekly pattern has: the first searches the forms
    without a season (cheaper), the second all of them; `ets_season_test=no` (the default) searches all."""
    from core.models.statistical import season_test

    rng = np.random.default_rng(3)
    ds = pd.date_range("2024-01-01", periods=140, freq="D")
    weekly = 20 + 8 * np.sin(2 * np.pi * np.arange(140) / 7) + rng.normal(0, 1, 140)
    df = pd.concat([pd.DataFrame({"series_id": 1, "ds": ds, "y": 20 + rng.normal(0, 3, 140)}),
                    pd.DataFrame({"series_id": 2, "ds": ds, "y": weekly})], ignore_index=True)
    uid = df["series_id"].to_numpy() - 1
    assert season_test(uid, df["y"].to_numpy(), 7).tolist() == [False, True]
    assert not season_test(uid, df["y"].to_numpy(), 3).any()  # too short a season to test
    memo: dict = {}
    on = {"ets_season_test": "yes"}  # off by default: it cost ETS accuracy on the demo's data
    tested = models.make("ets", "D", on, 0, memo=memo).fit_predict(df, 14, None, FitContext())
    (forms,) = memo.values()
    assert forms[1][2] == "N" and forms[2][2] in "AM"
    fitted = models.make("ets", "D", on, 0, memo={}).fit(df, None, FitContext())
    tried = {uid: set() for uid in (0, 1)}  # library model strings each series was fitted with
    for sf in fitted.fitted_:
        for uid in np.asarray(sf.uids):
            tried[uid.item()] |= {m.model for m in sf.models}
    assert all(form[2] == "N" for form in tried[0]) and {"ANA", "MNM"} <= tried[1]
    full = models.make("ets", "D", {"ets_season_test": "no", "ets_search": "full"}).fit(df, None, FitContext())
    assert [m.model for sf in full.fitted_ for m in sf.models] == ["ZZZ"]
    seasonal_only = models.make("ets", "D", {"ets_season_test": "no"}).fit_predict(
        df[df["series_id"] == 2], 14, None, FitContext())
    pd.testing.assert_frame_equal(tested[tested["series_id"] == 2].reset_index(drop=True), seasonal_only)
