"""A real server (Streamlit on tests/replenishment_app.py) for the Replenishment journey and its
screenshot: the same app as `shelfcast serve`, with the page routed before app/nav.py has it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.browser import _stop_group, free_port

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def replenishment_server(db: Path, timeout: float = 90) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, SHELFCAST_DB=str(db), SHELFCAST_BASE_URL=url,
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    log = open(db.parent / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "tests" / "replenishment_app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:  # noqa: S310
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {(db.parent / 'server.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        _stop_group(proc)
        log.close()
