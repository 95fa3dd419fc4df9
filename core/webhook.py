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

The target is checked, because whoever edits the URL could otherwise make the server POST signed
requests into its own network (server-side request forgery): only http(s); every address the host
name resolves to must be public; link-local (169.254/16, fe80::/10: cloud metadata services) is
always refused, loopback and private ranges only when an admin allowed private targets
(SHELFCAST_WEBHOOK_ALLOW_PRIVATE=1 or the store setting an admin sets on the Monitor page). The
address actually connected to is checked again (a DNS answer can change between check and
connect), redirects are never followed (a 302 would turn the POST into a GET carrying the
signature elsewhere) and no proxy from the environment is used.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlparse

from core import config
from core.errors import ValidationError

log = logging.getLogger(__name__)

ATTEMPTS = 4
BACKOFF_S = 0.5  # 0.5, 1, 2 s between attempts
TIMEOUT_S = 5.0
_threads: list[threading.Thread] = []


ALLOW_PRIVATE_KEY = "webhook_allow_private"


def _refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_private: bool) -> str | None:
    """Why this address may not receive alerts, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_link_local:
        return "a link-local address (cloud metadata services live there)"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return "not a host address"
    if ip.is_global:
        return None
    if ip.is_loopback or ip.is_private:
        return None if allow_private else (
            "a private or loopback address; an admin may allow private targets")
    return "not a public address"


def check_address(address: str, allow_private: bool = False) -> None:
    """Refuse one IP address as a webhook target (ValidationError naming why)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    why = _refusal(ip, allow_private)
    if why:
        raise ValidationError(f"The webhook target {address} is {why}.")


def check_url(url: str, allow_private: bool = False, must_resolve: bool = True) -> None:
    """Refuse a URL that is not http(s) with a host, or whose host resolves to any address that
    may not receive alerts (every address is checked, not only the first). A name that does not
    resolve (yet) is refused only with must_resolve: delivery checks it again anyway."""
    p = urlparse(url)
    if p.scheme not in ("http", "https") or not p.hostname:
        raise ValidationError("The webhook URL must start with https:// (or http://) and name a host.")
    try:
        infos = socket.getaddrinfo(p.hostname, p.port or (443 if p.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        if not must_resolve:
            return
        raise ValidationError(f"The webhook host {p.hostname} cannot be resolved ({exc}).") from exc
    for info in infos:
        check_address(str(info[4][0]), allow_private)


def _checked_connection(allow_private: bool):
    """socket.create_connection that refuses the peer it actually reached."""
    def create(*args, **kwargs):
        sock = socket.create_connection(*args, **kwargs)
        try:
            check_address(sock.getpeername()[0], allow_private)
        except ValidationError:
            sock.close()
            raise
        return sock
    return create


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ARG002
        return None  # the 3xx then surfaces as an HTTPError: refused, not retried


def _opener(allow_private: bool) -> urllib.request.OpenerDirector:
    create = _checked_connection(allow_private)

    class Http(http.client.HTTPConnection):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self._create_connection = create

    class Https(http.client.HTTPSConnection):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self._create_connection = create

    class HttpHandler(urllib.request.HTTPHandler):
        def http_open(self, req):  # noqa: ANN001
            return self.do_open(Http, req)

    class HttpsHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):  # noqa: ANN001
            return self.do_open(Https, req, context=self._context)

    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect,
                                       HttpHandler, HttpsHandler)


def settings(db=None) -> tuple[str | None, str | None]:
    """(url, secret) as configured; either may be None."""
    from core.store import datasets, session

    url = config.env_or_secret("SHELFCAST_WEBHOOK_URL")  # environment, else .streamlit/secrets.toml
    if not url:
        with session(db) as s:
            url = datasets.get_setting(s, "webhook_url") or None
    return url, config.env_or_secret("SHELFCAST_WEBHOOK_SECRET")


def allow_private(db=None) -> bool:
    """Whether an admin allowed loopback and private-network targets (environment, secrets or
    the store setting)."""
    v = config.env_or_secret("SHELFCAST_WEBHOOK_ALLOW_PRIVATE")
    if v is None:
        from core.store import datasets, session

        with session(db) as s:
            v = datasets.get_setting(s, ALLOW_PRIVATE_KEY)
    return str(v or "").strip().lower() in ("1", "true", "yes", "on")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (used by the tests): constant-time comparison."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def deliver(url: str, secret: str, payload: dict, attempts: int | None = None,
            backoff: float | None = None, timeout: float | None = None,
            allow_private: bool = False) -> tuple[bool, int, str | None]:
    """POST one payload; returns (delivered, attempts made, last error). A refused target is
    not retried."""
    attempts = ATTEMPTS if attempts is None else attempts
    backoff = BACKOFF_S if backoff is None else backoff
    timeout = TIMEOUT_S if timeout is None else timeout
    body = json.dumps(payload, default=str, separators=(",", ":")).encode()
    try:
        check_url(url, allow_private)
    except ValidationError as exc:
        return False, 1, str(exc)
    opener = _opener(allow_private)
    error = None
    for attempt in range(1, attempts + 1):
        ts = str(int(time.time()))
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "Shelfcast-Webhook/1",
            "X-Shelfcast-Timestamp": ts, "X-Shelfcast-Signature": sign(secret, ts, body),
            "X-Shelfcast-Event": str(payload.get("event", "")),
        })
        try:
            with opener.open(req, timeout=timeout) as resp:
                if 200 <= resp.status < 300:
                    return True, attempt, None
                error = f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code}"
            if exc.code < 500 and exc.code != 429:
                return False, attempt, error  # refused or redirected: retrying will not help
        except ValidationError as exc:  # the connected address was not allowed
            return False, attempt, str(exc)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            error = str(getattr(exc, "reason", exc))
        if attempt < attempts:
            time.sleep(backoff * 2 ** (attempt - 1))
    return False, attempts, error


def _send_all(url: str, secret: str, alerts: list[dict], db, private: bool) -> None:
    from core.store import monitoring as ms
    from core.store import session

    for a in alerts:
        payload = {"event": "alert.opened", "alert": a, "sent_at": int(time.time())}
        ok, n, err = deliver(url, secret, payload, allow_private=private)
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
        private = allow_private(db)
    except Exception:  # noqa: BLE001 - reading the setting must not fail the caller
        log.exception("could not read webhook settings")
        return None
    if not url:
        return None
    if not secret:
        log.warning("SHELFCAST_WEBHOOK_URL is set but SHELFCAST_WEBHOOK_SECRET is not: not sending")
        return None
    t = threading.Thread(target=_send_all, args=(url, secret, alerts, db, private), name="shelfcast-webhook")
    t.start()
    _threads[:] = [x for x in _threads if x.is_alive()] + [t]
    return t


def wait(timeout: float = 30.0) -> None:
    """Wait for pending deliveries (the CLI's `monitor`, tests)."""
    end = time.monotonic() + timeout
    for t in list(_threads):
        t.join(max(0.0, end - time.monotonic()))
