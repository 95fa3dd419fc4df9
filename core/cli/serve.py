"""shelfcast serve: start the web app (seeding the demo data into an empty store first)."""

from __future__ import annotations

import os
import subprocess
import sys

from core import config, users
from core.access import SYSTEM
from core.seed import is_empty, seed_demo


def register(sub) -> None:
    p = sub.add_parser("serve", help="run the web app")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="localhost")
    p.add_argument("--no-demo", action="store_true", help="do not load demo data into an empty store")
    p.set_defaults(func=run)


def run(args) -> int:
    db = config.db_path(args.db)
    if not args.no_demo and is_empty(db):
        print(f"First start: loading demo data into {db} (takes a minute or two)")
        seed_demo(SYSTEM, db)
    env = dict(os.environ, SHELFCAST_DB=str(db))
    env.setdefault("SHELFCAST_BASE_URL", f"http://{args.address}:{args.port}")
    # Keep the store open for a second after the last page run that touched it, so the next run
    # does not pay for opening the file (core.store.db._Keeper); a CLI command waits at most that.
    env.setdefault("SHELFCAST_STORE_LINGER", "1")
    # No full garbage collection after every script run (Streamlit's default): with pandas,
    # Plotly and SQLAlchemy loaded it cost ~0.08 CPU-s of every page view (bench/load_ws.py
    # --profile), a quarter of the server's CPU under load. Python's own collector still runs.
    cmd = [sys.executable, "-m", "streamlit", "run", str(config.REPO_ROOT / "app" / "main.py"),
           "--server.port", str(args.port), "--server.address", args.address,
           "--runner.postScriptGC", "false"]
    url = f"http://{args.address}:{args.port}"
    print(f"Shelfcast on {url}  (store: {db})")
    print(how_to_get_in(db, url), flush=True)
    return subprocess.call(cmd, env=env, cwd=config.REPO_ROOT)


def how_to_get_in(db, url: str) -> str:
    """First start has no accounts and no default password: say how the first admin is made."""
    if users.has_users(db):
        return "Sign in with your account; an admin adds accounts (`shelfcast user add NAME --role ROLE`)."
    return (
        f"No accounts yet. Open {url} and create the first admin there, or run\n"
        "  shelfcast user add NAME --role admin\n"
        "(reads the password from a prompt). Until then the app shows only that screen."
    )
