"""Listings for short CLI commands, read through `db.lean` (plain DuckDB, constant SQL): a
cron job or a person typing `shelfcast versions --json` waits for the answer, and SQLAlchemy,
SQLModel and pandas were most of that wait. Each listing returns what the full path's function
returns (tests/test_cli_versions_fast.py compares them)."""

from __future__ import annotations

import json

import duckdb

_VERSION_COLS = ("id", "kind", "status", "created_at", "created_by", "freq", "horizon", "folds", "n_series",
                 "duration_s", "dataset_id", "data_hash", "code_version", "archived", "progress_done",
                 "progress_total", "error", "metrics", "warnings", "params")


def versions(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Every version, newest first, as core.forecasts.list_versions gives them."""
    act = con.execute("SELECT version_id FROM active WHERE scope = 'default'").fetchone()
    active = act[0] if act else None
    rows = con.execute(f"SELECT {', '.join(_VERSION_COLS)} FROM versions ORDER BY id DESC").fetchall()  # noqa: S608 - constant columns
    out = []
    for r in rows:
        v = dict(zip(_VERSION_COLS, r, strict=True))
        out.append({
            "id": v["id"], "model": v["kind"], "status": v["status"], "active": v["id"] == active,
            "created_at": v["created_at"].isoformat() if v["created_at"] else None,
            "created_by": v["created_by"], "freq": v["freq"], "horizon": v["horizon"], "folds": v["folds"],
            "n_series": v["n_series"], "duration_s": v["duration_s"], "dataset_id": v["dataset_id"],
            "data_hash": v["data_hash"], "code_version": v["code_version"], "archived": v["archived"],
            "progress": [v["progress_done"], v["progress_total"]], "error": v["error"],
            "metrics": json.loads(v["metrics"] or "{}"), "warnings": json.loads(v["warnings"] or "[]"),
            "params": json.loads(v["params"] or "{}"),
        })
    return out
