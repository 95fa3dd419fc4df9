"""Settings, read from the environment so the app, the CLI and schedulers agree on them."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = REPO_ROOT / "data" / "shelfcast.duckdb"


def db_path(override: str | os.PathLike | None = None) -> Path:
    """The store file: explicit argument, else SHELFCAST_DB, else data/shelfcast.duckdb."""
    raw = override or os.environ.get("SHELFCAST_DB") or DEFAULT_DB
    return Path(raw).expanduser().resolve()


def artifact_dir(db: Path) -> Path:
    """Model files live beside the store so that one backup copies both."""
    return db.parent / (db.stem + "_artifacts")


def env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


MAX_UPLOAD_MB = env_float("SHELFCAST_MAX_UPLOAD_MB", 200)
LOCK_TIMEOUT_S = env_float("SHELFCAST_LOCK_TIMEOUT", 60)
ACCURACY_THRESHOLD = env_float("SHELFCAST_ACCURACY_THRESHOLD", 0.88)


def base_url() -> str:
    return os.environ.get("SHELFCAST_BASE_URL", "http://localhost:8501").rstrip("/")


def env_or_secret(name: str) -> str | None:
    """A setting from the environment, else from .streamlit/secrets.toml beside the code (never
    the store, never the repo's tracked files). `SHELFCAST_WEBHOOK_X` is also found as `x` in a
    `[webhook]` section."""
    v = os.environ.get(name)
    if v:
        return v
    import tomllib

    try:
        data = tomllib.loads((REPO_ROOT / ".streamlit" / "secrets.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None
    if name in data:
        return str(data[name])
    section = data.get("webhook", {})
    short = name.removeprefix("SHELFCAST_WEBHOOK_").lower()
    if isinstance(section, dict) and short in section:
        return str(section[short])
    return None
