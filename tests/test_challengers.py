"""Challengers scored on live sales: the numbers a challenger shows are the numbers Monitor shows
for it once it is promoted (same metric macros, same window, same weeks)."""

from __future__ import annotations

import json

import pytest

from core import challengers, monitoring, registry, training
from core.errors import NotFound, ValidationError
from tests.helpers import run_cli
from tests.retrain_fixtures import HISTORY_DAYS, HORIZON, days_of, serving_store, upload


@pytest.fixture
def duel(db, tmp_path, scientist):
    """theta in service, ets marked challenger (both fit on the same history), two weeks of
    actuals arrive."""
    df, champ = serving_store(db, tmp_path, scientist, kind="theta")
    chall = training.train(scientist, "ets", horizon=HORIZON, folds=1, db=db)
    challengers.add(scientist, chall, db)
    upload(days_of(df, HISTORY_DAYS + 1, HISTORY_DAYS + HORIZON), tmp_path / "actuals.csv",
           scientist, db)
    return champ, chall


def test_live_accuracy_equals_monitor_after_promotion(db, scientist, duel):
    champ, chall = duel
    rep = challengers.report(db, window=4, grain="week")
    assert rep.champion == champ and [d.version_id for d in rep.duels] == [chall]
    # The champion's side is Monitor's own numbers today.
    mon = monitoring.sku_accuracy(db, 4, "week").set_index("sku")["accuracy"]
    mine = rep.table[rep.table["version"] == champ].set_index("sku")["accuracy"]
    assert mine.sort_index().to_numpy() == pytest.approx(mon.sort_index().to_numpy(), rel=1e-9)
    assert rep.champion_accuracy == pytest.approx(monitoring.overall(db, 4, "week")["accuracy"], rel=1e-9)
    d = rep.duels[0]
    assert d.points == pytest.approx(100 * (d.accuracy - rep.champion_accuracy))
    assert d.skus_compared == 5 and d.skus_won + d.skus_lost <= 5
    assert f"v{chall} would have been" in d.summary and "% of SKUs won" in d.summary
    expected = rep.table[rep.table["version"] == chall].set_index("sku")["accuracy"].sort_index()

    registry.promote(scientist, chall, "challenger won live", db=db)
    after = monitoring.sku_accuracy(db, 4, "week").set_index("sku")["accuracy"].sort_index()
    assert after.to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-9)
    assert monitoring.overall(db, 4, "week")["accuracy"] == pytest.approx(d.accuracy, rel=1e-9)
    # The promoted version is the champion now, no longer listed as a challenger.
    assert challengers.list_challengers(db) == []


def test_marking_is_checked_and_reversible(db, scientist, manager, duel):
    champ, chall = duel
    with pytest.raises(ValidationError, match="active version"):
        challengers.add(scientist, champ, db)
    with pytest.raises(NotFound):
        challengers.add(scientist, 999, db)
    challengers.remove(scientist, chall, db)
    assert challengers.list_challengers(db) == []
    assert challengers.report(db).duels == []
    with pytest.raises(NotFound):
        challengers.remove(scientist, chall, db)


def test_challenger_cli(db, duel):
    champ, chall = duel
    p = run_cli("challenger", "report", "--json", db=db)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["champion"] == champ and out["challengers"][0]["version_id"] == chall
    p = run_cli("challenger", "remove", str(chall), db=db)
    assert p.returncode == 0, p.stderr
    p = run_cli("challenger", "list", "--json", db=db)
    assert json.loads(p.stdout) == []
    p = run_cli("challenger", "add", str(champ), db=db)
    assert p.returncode == 2 and "active version" in p.stderr


def test_champion_alone_reads_monitor_errors_with_the_same_result(db, scientist, duel):
    """With no challenger marked, Compare scores only the champion, from monitor_errors (the
    join with every sale was Compare's slowest read at 100,000 series): the same numbers as
    the join, and the join again whenever those errors are not in step with the store."""
    from core.store import live_reads, session
    from core.store import retrain as rs

    champ, chall = duel
    with_chall = challengers.report(db, window=4, grain="week")
    challengers.remove(scientist, chall, db)
    alone = challengers.report(db, window=4, grain="week")
    assert alone.duels == [] and alone.champion == champ
    assert alone.champion_accuracy == pytest.approx(with_chall.champion_accuracy, rel=1e-12)
    assert alone.periods == with_chall.periods
    with session(db) as s:
        start = with_chall.window_start
        assert live_reads.champion_total(s, champ, start, "week") == pytest.approx(rs.live_total(s, champ, start, "week"))
        assert live_reads.champion_total(s, chall, start, "week") is None  # not the active version's errors
    from core.store.db import raw

    with session(db, write=True) as s:  # an upload whose refresh has not run yet
        raw(s).execute("INSERT INTO datasets (file_name, sha256, rows_added, rows_updated, series_count, freq, "
                       "columns, created_by, created_at) VALUES ('x', '', 0, 0, 0, 'D', '{}', 'sam', now())")
    with session(db) as s:
        assert live_reads.champion_total(s, champ, start, "week") is None
