"""An uploaded file as this browser session's private temp file, parsed once.

Why: the Data page once named the temp file after `id(st.session_state)`, the same for every
session, so two managers loading files within a second recorded one file's rows under the
other's name (issue 10, item 1), and the file stayed world-readable in /tmp. Now each session
has a random id, each upload gets its own 0600 file (`mkstemp`), the file is read once per
uploaded file (not on every rerun) and deleted after it is loaded, replaced or cleared.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from core.ingest import Mapping

_SID = "_upload_sid"
_KEY = "_upload"


@dataclass
class Upload:
    """The session's current upload: where it is on disk and what `inspect` found in it."""

    file_id: str
    name: str
    path: Path
    columns: list[str]
    guess: Mapping
    preview: pd.DataFrame


def session_id() -> str:
    """A random id for this browser session (made on first use, kept in its session state)."""
    if _SID not in st.session_state:
        st.session_state[_SID] = secrets.token_hex(16)
    return st.session_state[_SID]


def _write_private(data: bytes, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=f"shelfcast-upload-{session_id()}-", suffix=suffix)  # 0600
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return Path(name)


def discard() -> None:
    """Delete the session's upload file (after loading it, or when the uploader is cleared)."""
    up: Upload | None = st.session_state.pop(_KEY, None)
    if up is not None:
        with contextlib.suppress(FileNotFoundError):
            up.path.unlink()


def widget_key() -> str:
    """The uploader's key: a new one after each load empties the widget, so a loaded file is
    neither kept on disk nor offered again."""
    return f"upload-{st.session_state.get('_upload_n', 0)}"


def loaded() -> None:
    """The file went into the store: delete it and empty the uploader."""
    discard()
    st.session_state["_upload_n"] = st.session_state.get("_upload_n", 0) + 1


def current(f, inspect) -> Upload:
    """The session's upload for the uploader's file `f`, written and inspected only when `f`
    is a new file; `inspect(path, name)` returns (columns, guessed mapping, preview) and may
    raise (then nothing is kept)."""
    up: Upload | None = st.session_state.get(_KEY)
    if up is not None and up.file_id == f.file_id and up.path.exists():
        return up
    discard()
    path = _write_private(f.getvalue(), Path(f.name).suffix.lower())
    try:
        columns, guess, preview = inspect(path, f.name)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    up = Upload(f.file_id, f.name, path, columns, guess, preview)
    st.session_state[_KEY] = up
    return up
