"""End to end with the real engine: train seasonal-naive and scikit-learn versions on a small
store, promote and roll back through the CLI, and check what is published and exported."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core import forecasts, registry, training
from core.demo import DemoSpec, generate
from core.ingest import ingest
from tests.helpers import run_cli
from tests.registry_fixtures import registry_snapshot

pytestmark = pytest.mark.slow


@pytest.fixture
def trained(db, tmp_path, scientist):
    """3 SKUs × 2 stores × 120 days, one SKU named like a spreadsheet formula; a naive and a
    sklearn version (14-day horizon, 2 folds). Returns (better, worse) by pooled backtest WAPE."""
    df = generate(DemoSpec(n_skus=3, n_stores=2, days=120))
    df["sku"] = df["sku"].replace({"SNK-002": "=cmd()"})
    f = tmp_path / "sales.csv"
    df.to_csv(f, index=False)
    ingest(f, scientist)
    ids = [training.train(scientist, k, horizon=14, folds=2) for k in ("naive", "sklearn")]
    lb = registry.leaderboard(db).set_index("version")
    assert list(lb.loc[ids, "status"]) == ["ready", "ready"]
    better, worse = sorted(ids, key=lambda v: lb.loc[v, "wape"])
    assert lb.loc[better, "wape"] < lb.loc[worse, "wape"]
    return better, worse


def test_registry_wape_agrees_with_the_engine(db, trained):
    """The gate's WAPE (from backtests, chosen models only) is the engine's pooled WAPE."""
    lb = registry.leaderboard(db).set_index("version")
    engine = {r["id"]: r["metrics"] for r in forecasts.list_versions(db)}
    for v in trained:
        assert lb.loc[v, "wape"] == pytest.approx(engine[v]["wape"], rel=1e-6)
    c = registry.compare(db, list(trained), level="sku")
    assert len(c.table) == 3 and sum(c.wins.values()) + c.ties == 3
    assert len(registry.compare(db, list(trained), level="sku_store").table) == 6


def test_promote_gate_rollback_export_through_the_cli(db, tmp_path, trained):
    better, worse = trained

    def versions_json():
        p = run_cli("versions", "--json", db=db)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    p = run_cli("export", "--out", str(tmp_path / "none.csv"), db=db)
    assert p.returncode == 2 and "No version is active yet" in p.stderr

    p = run_cli("promote", str(better), "--note", "best pooled WAPE", db=db)
    assert p.returncode == 0, p.stderr
    assert [r["id"] for r in versions_json() if r["active"]] == [better]

    out = tmp_path / "active.csv"
    p = run_cli("export", "--out", str(out), "--json", db=db)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["version"] == better
    text = out.read_text()
    assert "\n'=cmd()," in text and "\n=cmd()" not in text  # neutralised for spreadsheets
    exported = pd.read_csv(out)
    assert set(exported["version"]) == {better} and len(exported) == 6 * 14
    published_better = registry.active_forecasts(db)
    assert len(published_better) == len(exported)

    before = registry_snapshot(db)
    p = run_cli("promote", str(worse), "--note", "try naive", db=db)
    assert p.returncode == 2 and "Promotion refused" in p.stderr and "--override-reason" in p.stderr
    assert registry_snapshot(db) == before

    p = run_cli("promote", str(worse), "--note", "try naive", "--override-reason", "smoother orders", "--json", db=db)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["override"] is True
    assert [r["id"] for r in versions_json() if r["active"]] == [worse]
    assert set(registry.active_forecasts(db)["version"]) == {worse}

    p = run_cli("rollback", "--note", "naive under-forecasts promotions", db=db)
    assert p.returncode == 0, p.stderr
    assert [r["id"] for r in versions_json() if r["active"]] == [better]
    pd.testing.assert_frame_equal(registry.active_forecasts(db), published_better)
    pq = tmp_path / "active.parquet"
    assert run_cli("export", "--out", str(pq), db=db).returncode == 0
    back = pd.read_parquet(pq)
    assert set(back["version"]) == {better} and "=cmd()" in set(back["sku"])
    pd.testing.assert_frame_equal(
        back.drop(columns="date").reset_index(drop=True),
        forecasts.forecast_frame(better, db).drop(columns="date").reset_index(drop=True),
        check_dtype=False,
    )

    log = json.loads(run_cli("history", "--json", db=db).stdout)
    assert [(r["action"], r["from_version"], r["to_version"]) for r in log] == [
        ("rollback", worse, better), ("promote", better, worse), ("promote", None, better)]
