"""Alert notifications: one signed JSON POST per new alert to a configured URL.

The URL comes from SHELFCAST_WEBHOOK_URL (environment or .streamlit/secrets.toml, also as
`[webhook] url`), else the store setting `webhook_url` (set on the Monitor page's Rules tab). The secret comes from SHELFCAST_WEBHOOK_SECRET or .streamlit/secrets.toml
(`SHELFCAST_WEBHOOK_SECRET = "..."` or `[webhook] secret = "..."`), never from the store or the
repo; without a secret nothing is sent (an unsigned alert could not be trusted by the receiver).

Each request carries
  X-Shelfcast-Timestamp: unix seconds
  X-Shelfcast-Signature: sha256=HEX(HMAC-SHA256(secret, timestamp + "." + body))
so a receiver checks the signature over the exact bytes and rejects old timestamps (replays).

Delivery runs in a background thread after the evaluation committed: a slow or failing endpoint
never blocks or fails an ingest. Each request has a short timeout and is retried with exponential
backoff on network errors, 429 and 5xx; the outcome is written to the alert's history.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlparse

from core.errors import ValidationError

log = logging.getLogger(__name__)

ATTEMPTS = 4
BACKOFF_S = 0.5  # 0.5, 1, 2 s between attempts
TIMEOUT_S = 5.0
_threads: list[threading.Thread] = []


def check_url(url: str) -> None:
    p = urlparse(url)
    if p.scheme not in ("http", "https") or not p.netloc:
        raise ValidationError("The webhook URL must start with https:// (or http://) and name a host.")


def settings(db=None) -> tuple[str | None, str | None]:
    """(url, secret) as configured; either may be None."""
    from core.monitoring import env_or_secret
    from core.store import datasets, session

    url = env_or_secret("SHELFCAST_WEBHOOK_URL")  # environment, else .streamlit/secrets.toml
    if not url:
        with session(db) as s:
            url = datasets.get_setting(s, "webhook_url") or None
    return url, env_or_secret("SHELFCAST_WEBHOOK_SECRET")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (used by the tests): constant-time comparison."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def deliver(url: str, secret: str, payload: dict, attempts: int | None = None,
            backoff: float | None = None, timeout: float | None = None) -> tuple[bool, int, str | None]:
    """POST one payload; returns (delivered, attempts made, last error)."""
    attempts = ATTEMPTS if attempts is None else attempts
    backoff = BACKOFF_S if backoff is None else backoff
    timeout = TIMEOUT_S if timeout is None else timeout
    body = json.dumps(payload, default=str, separators=(",", ":")).encode()
    error = None
    for attempt in range(1, attempts + 1):
        ts = str(int(time.time()))
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "Shelfcast-Webhook/1",
            "X-Shelfcast-Timestamp": ts, "X-Shelfcast-Signature": sign(secret, ts, body),
            "X-Shelfcast-Event": str(payload.get("event", "")),
        })
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - scheme checked
                if 200 <= resp.status < 300:
                    return True, attempt, None
                error = f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code}"
            if exc.code < 500 and exc.code != 429:
                return False, attempt, error  # the receiver refused it: retrying will not help
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            error = str(getattr(exc, "reason", exc))
        if attempt < attempts:
            time.sleep(backoff * 2 ** (attempt - 1))
    return False, attempts, error


def _send_all(url: str, secret: str, alerts: list[dict], db) -> None:
    from core.store import monitoring as ms
    from core.store import session

    for a in alerts:
        payload = {"event": "alert.opened", "alert": a, "sent_at": int(time.time())}
        ok, n, err = deliver(url, secret, payload)
        if not ok:
            log.warning("webhook for alert %s failed after %d attempt(s): %s", a.get("id"), n, err)
        try:  # best effort: the history line must not turn a delivered alert into an error
            with session(db, write=True, timeout=10) as s:
                ms.add_event(s, a["id"], "notified" if ok else "notify_failed", "webhook",
                             f"{n} attempt(s)" + ("" if ok else f": {err}"))
        except Exception:  # noqa: BLE001
            log.exception("could not record webhook outcome")


def notify_async(alerts: list[dict], db=None) -> threading.Thread | None:
    """Send the new alerts in a background thread; returns it (or None when not configured).
    The thread is not a daemon, so a CLI ingest finishes delivering before the process exits."""
    try:
        url, secret = settings(db)
    except Exception:  # noqa: BLE001 - reading the setting must not fail the caller
        log.exception("could not read webhook settings")
        return None
    if not url:
        return None
    if not secret:
        log.warning("SHELFCAST_WEBHOOK_URL is set but SHELFCAST_WEBHOOK_SECRET is not: not sending")
        return None
    t = threading.Thread(target=_send_all, args=(url, secret, alerts, db), name="shelfcast-webhook")
    t.start()
    _threads[:] = [x for x in _threads if x.is_alive()] + [t]
    return t


def wait(timeout: float = 30.0) -> None:
    """Wait for pending deliveries (the CLI's `monitor`, tests)."""
    end = time.monotonic() + timeout
    for t in list(_threads):
        t.join(max(0.0, end - time.monotonic()))
