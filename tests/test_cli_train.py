"""`shelfcast train / versions / export` through the real entry point."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.cli import main
from tests.train_helpers import make_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("cli"), n_skus=2, days=200)


def test_train_versions_export(store, tmp_path, capsys):
    rc = main(["--db", str(store), "train", "--model", "sklearn", "--horizon", "7", "--folds", "2",
               "--option", "estimator=ridge", "--quantiles", "0.5,0.95", "--json"])
    out, err = capsys.readouterr()
    assert rc == 0
    v = json.loads(out)
    assert v["model"] == "sklearn" and v["status"] == "ready" and 0 < v["metrics"]["wape"] < 1
    assert "training sklearn [" in err  # progress bar on stderr, stdout stays JSON

    assert main(["--db", str(store), "versions", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    row = next(r for r in rows if r["id"] == v["id"])
    assert {"id", "model", "status", "active", "created_at", "metrics"} <= set(row)
    assert row["active"] is False and row["params"]["options"]["sklearn"]["estimator"] == "ridge"

    assert main(["--db", str(store), "versions"]) == 0
    assert "sklearn" in capsys.readouterr().out

    for ext in ("csv", "parquet"):
        f = tmp_path / f"fc.{ext}"
        assert main(["--db", str(store), "export", "--version", str(v["id"]), "--out", str(f)]) == 0
        df = pd.read_csv(f) if ext == "csv" else pd.read_parquet(f)
        assert list(df.columns) == ["sku", "store", "date", "yhat", "yhat_lower", "yhat_upper",
                                    "p10", "p50", "p90", "p95", "model", "version"]
        assert len(df) == 2 * 7 and set(df["version"]) == {v["id"]}
        assert (df["p10"] <= df["p50"]).all() and (df["p90"] <= df["p95"]).all()
        assert (df["yhat_lower"] == df["p10"]).all() and (df["yhat_upper"] == df["p90"]).all()
    capsys.readouterr()


def test_bad_requests_exit_2_with_a_message(store, capsys):
    assert main(["--db", str(store), "train", "--model", "naive", "--option", "oops"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    assert main(["--db", str(store), "train", "--model", "sklearn", "--option", "estimator=xgb"]) == 2
    assert "estimator must be hgb or ridge" in capsys.readouterr().err
    assert main(["--db", str(store), "export", "--version", "999", "--out", "x.csv"]) == 2
    assert "no version 999" in capsys.readouterr().err


def test_help_lists_every_model_and_the_quantiles_option(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for kind in ("ets", "theta", "arima", "croston", "tsb", "adida", "imapa", "ensemble", "best", "sklearn"):
        assert kind in out
    assert "--quantiles" in out


def test_quantiles_out_of_range_are_refused(store, capsys):
    assert main(["--db", str(store), "train", "--model", "naive", "--quantiles", "0.1,1.5"]) == 2
    assert "between 0.01 and 0.99" in capsys.readouterr().err
