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
               "--option", "estimator=ridge", "--json"])
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
        assert list(df.columns) == ["sku", "store", "date", "yhat", "yhat_lower", "yhat_upper", "model", "version"]
        assert len(df) == 2 * 7 and set(df["version"]) == {v["id"]}
    capsys.readouterr()


def test_bad_requests_exit_2_with_a_message(store, capsys):
    assert main(["--db", str(store), "train", "--model", "naive", "--option", "oops"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    assert main(["--db", str(store), "train", "--model", "sklearn", "--option", "estimator=xgb"]) == 2
    assert "estimator must be hgb or ridge" in capsys.readouterr().err
    assert main(["--db", str(store), "export", "--version", "999", "--out", "x.csv"]) == 2
    assert "no version 999" in capsys.readouterr().err
