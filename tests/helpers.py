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


def open_page(url_path: str, actor, timeout: float = 60):
    """An AppTest of the app, signed in as `actor`, switched to the page with that url path."""
    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parent.parent
    ensure_account(actor)
    at = AppTest.from_file(str(root / "app" / "main.py"), default_timeout=timeout)
    at.session_state["actor"] = actor  # what a successful sign-in leaves in the session
    at.run()
    at.switch_page(str(root / "pages" / f"{url_path}.py"))
    return at.run()


TEST_PASSWORD = "correct horse battery staple"


def ensure_account(actor, db: Path | None = None) -> None:
    """Create `actor`'s account in the test store (the first one becomes the admin who adds
    the rest), so the sign-in gate recognises the session."""
    from core import users
    from core.access import Actor

    if users.current(actor.name, db) is not None:
        return
    if not users.has_users(db):
        users.create_first_admin("root-admin", TEST_PASSWORD, db)
    users.add_user(Actor("root-admin", "admin"), actor.name, actor.role, TEST_PASSWORD, db)


_HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("SELECT count(*) FROM duckdb_tables()").fetchall()
print("held", flush=True)
if sys.argv[2] == "until-killed":
    sys.stdin.read()  # until the test closes our stdin or kills us
else:
    time.sleep(float(sys.argv[2]))
con.close()
"""


def hold_store(db: Path, seconds: float | None) -> subprocess.Popen:
    """Another process holding the store file (as the app does mid-transaction) for `seconds`,
    or, with None, until the test kills it: a test that checks a command gives up must hold the
    file for as long as that command runs, which on a loaded machine can exceed any fixed time."""
    arg = "until-killed" if seconds is None else str(seconds)
    p = subprocess.Popen([sys.executable, "-c", _HOLD, str(db), arg], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def shown(markdown: object) -> str:
    """What a person reads from a Markdown element's source: core.text.md escapes every
    Markdown character of user text and refusal messages with a backslash."""
    import re

    return re.sub(r"\\(.)", r"\1", str(markdown))


STOCK = ["2026-11-01,BEV-001,Leeds,3", "2026-11-01,BEV-001,Bristol,0",
         "2026-11-01,SNK-002,Leeds,1", "2026-11-01,SNK-002,Bristol,1000"]


def stocked_store(db: Path, tmp_path: Path, scientist, manager, policy: list[str], *,
                  stock: list[str] = STOCK, n_skus: int = 2) -> tuple[pd.DataFrame, int]:
    """Demo sales (n_skus x Leeds/Bristol, 40 days), a promoted version and the given stock
    (`date,sku,store,on_hand`) and policy (`sku,store,lead_time,pack_size,min_order,unit_cost,
    price`) rows uploaded as the manager: the store every inventory test starts from, so the
    tests differ only in the data they are about. Returns the sales and the version id."""
    from core import registry
    from core.inventory import inputs
    from tests.registry_fixtures import fake_version, load_demo

    hist = load_demo(db, tmp_path, scientist, n_skus=n_skus, n_stores=2, days=40)
    vid = fake_version(db, 0.1)
    registry.promote(scientist, vid, "go live", db=db)
    for kind, header, rows in (("stock", "date,sku,store,on_hand", stock),
                               ("policy", "sku,store,lead_time,pack_size,min_order,unit_cost,price", policy)):
        f = tmp_path / f"{kind}.csv"
        f.write_text("\n".join([header, *rows]) + "\n")
        inputs.ingest_inventory(db, manager, f, kind)
    return hist, vid
