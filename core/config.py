"""Settings, read from the environment so the app, the CLI and schedulers agree on them."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_db() -> Path:
    """The store when none is named: the user's data directory ($XDG_DATA_HOME/shelfcast, else
    ~/.local/share/shelfcast). The same file whatever the working directory (a cron job and a
    person agree), and never inside the code checkout, where a `git clean` or a fresh deploy
    would lose it."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "shelfcast" / "shelfcast.duckdb"


def db_path(override: str | os.PathLike | None = None) -> Path:
    """The store file: explicit argument (--db), else $SHELFCAST_DB, else `default_db()`."""
    raw = override or os.environ.get("SHELFCAST_DB") or default_db()
    # Resolving costs a syscall per path component, and a page run asks hundreds of times: kept
    # per (name, working directory, home), the inputs of expanduser + resolve; an absolute name
    # (the server's $SHELFCAST_DB) needs neither, and os.getcwd() is a system call of its own.
    name = os.fspath(raw)
    key: str | tuple[str, str, str] = name if name.startswith("/") else (name, os.getcwd(), os.environ.get("HOME", ""))
    path = _resolved.get(key)
    if path is None:
        if len(_resolved) > 256:
            _resolved.clear()
        path = _resolved[key] = Path(raw).expanduser().resolve()
    return path


_resolved: dict[str | tuple[str, str, str], Path] = {}


def db_source(override: str | os.PathLike | None = None) -> str:
    """Where `db_path` took the store from, for the CLI's header."""
    if override:
        return "--db"
    return "$SHELFCAST_DB" if os.environ.get("SHELFCAST_DB") else "default; set SHELFCAST_DB or --db"


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
    data = _secrets()
    if data is None:
        return None
    if name in data:
        return str(data[name])
    section = data.get("webhook", {})
    short = name.removeprefix("SHELFCAST_WEBHOOK_").lower()
    if isinstance(section, dict) and short in section:
        return str(section[short])
    return None


_secrets_read: tuple[tuple | None, dict | None] = (None, None)


def _secrets() -> dict | None:
    """.streamlit/secrets.toml parsed, read again only when the file changes (a page run asks
    for several settings)."""
    import tomllib

    global _secrets_read
    f = REPO_ROOT / ".streamlit" / "secrets.toml"
    try:
        st = f.stat()
        stamp: tuple | None = (st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        stamp = None
    if stamp is not None and _secrets_read[0] == stamp:
        return _secrets_read[1]
    try:
        data = tomllib.loads(f.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        data = None
    _secrets_read = (stamp, data)
    return data
