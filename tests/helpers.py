"""Small builders for test files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from core.demo import DemoSpec, generate


def demo_csv(path: Path, **kw) -> Path:
    generate(DemoSpec(**kw)).to_csv(path, index=False)
    return path


def store_snapshot(db: Path) -> tuple:
    """Everything a refused upload must leave unchanged."""
    from core.store import session

    with session(db) as s:
        con = s.connection().connection.dbapi_connection
        return tuple(
            con.execute(q).fetchall()
            for q in (
                "SELECT count(*), coalesce(sum(y), 0) FROM sales",
                "SELECT count(*) FROM series",
                "SELECT count(*) FROM regressors",
                "SELECT count(*) FROM datasets",
            )
        )


def frame_csv(path: Path, rows: list[dict] | pd.DataFrame, sep: str = ",") -> Path:
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    df.to_csv(path, index=False, sep=sep)
    return path


def run_cli(*args: str, db: Path | None = None, env_extra: dict | None = None, timeout: float = 300,
            input: str | None = None) -> subprocess.CompletedProcess:
    """Run the installed `shelfcast` console script, as a scheduler would."""
    env = dict(os.environ, **(env_extra or {}))
    if db:
        env["SHELFCAST_DB"] = str(db)
    exe = Path(sys.executable).parent / "shelfcast"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, timeout=timeout, input=input)
