"""Alert webhooks against a real HTTP server on 127.0.0.1: signature, retry with backoff, one
POST per new alert, and a dead endpoint that never fails an ingest; the target checks (no
redirects, no loopback / link-local / private address unless an admin allowed private targets)
and evaluation refused to a viewer. The local receiver needs private targets allowed, which is
itself what the tests of the refusal exercise."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core import monitoring, webhook
from core.access import Actor
from core.demo import DemoSpec, generate, split_recent
from core.store import session
from core.store.db import raw
from tests.monitor_helpers import ingest_frame, make_active_version

SECRET = "test-secret-not-a-real-one"


class Receiver:
    """A local endpoint that answers the first `fail` requests with 503, then 200 (or, with
    `redirect`, every request with a 302 there)."""

    def __init__(self, fail: int = 0, redirect: str | None = None):
        self.fail = fail
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append({"body": body, "headers": dict(self.headers), "t": time.monotonic()})
                code = 503 if len(outer.requests) <= outer.fail else 200
                self.send_response(302 if redirect else code)
                if redirect:
                    self.send_header("Location", redirect)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_signed_post_verifies_and_tampering_does_not(receiver):
    ok, n, err = webhook.deliver(receiver.url, SECRET, {"event": "alert.opened", "alert": {"id": 1}},
                                 allow_private=True)
    assert (ok, n, err) == (True, 1, None)
    req = receiver.requests[0]
    ts, sig = req["headers"]["X-Shelfcast-Timestamp"], req["headers"]["X-Shelfcast-Signature"]
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert webhook.verify(SECRET, ts, req["body"], sig)
    assert not webhook.verify("other-secret", ts, req["body"], sig)
    assert not webhook.verify(SECRET, ts, req["body"].replace(b'"id":1', b'"id":2'), sig)
    assert not webhook.verify(SECRET, str(int(ts) + 1), req["body"], sig)
    assert json.loads(req["body"])["alert"]["id"] == 1


def test_retries_with_backoff_then_delivers():
    r = Receiver(fail=2)
    try:
        ok, n, _ = webhook.deliver(r.url, SECRET, {"event": "x"}, attempts=4, backoff=0.1,
                                    allow_private=True)
        assert ok and n == 3 and len(r.requests) == 3
        gaps = [b["t"] - a["t"] for a, b in zip(r.requests, r.requests[1:], strict=False)]
        assert gaps[0] >= 0.09 and gaps[1] >= 0.19  # 0.1 s, then 0.2 s
    finally:
        r.close()


def test_gives_up_after_attempts_and_4xx_is_not_retried():
    r = Receiver(fail=10)
    try:
        ok, n, err = webhook.deliver(r.url, SECRET, {"event": "x"}, attempts=3, backoff=0.01,
                                      allow_private=True)
        assert (ok, n, err) == (False, 3, "HTTP 503") and len(r.requests) == 3
    finally:
        r.close()
    ok, n, err = webhook.deliver("http://127.0.0.1:9/nothing-listens", SECRET, {}, attempts=2,
                                 backoff=0.01, timeout=1, allow_private=True)
    assert not ok and n == 2 and err


def alerted_store(db, url: str, monkeypatch, spec: DemoSpec) -> Actor:
    """Webhook configured to `url` (private targets allowed), an active version, and shifted
    actuals uploaded by a scientist (whose ingest evaluates and sends); returns the scientist."""
    monkeypatch.setenv("SHELFCAST_WEBHOOK_URL", url)
    monkeypatch.setenv("SHELFCAST_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("SHELFCAST_WEBHOOK_ALLOW_PRIVATE", "1")
    hist, recent = split_recent(generate(spec), spec.shift_days)
    sci = Actor("sam", "scientist")
    make_active_version(db, hist, spec.shift_days, sci, plan=recent)
    ingest_frame(db, recent, sci)
    return sci


def test_new_alerts_post_once_each_and_record_it(db, receiver, monkeypatch):
    sci = alerted_store(db, receiver.url, monkeypatch, DemoSpec(n_skus=6, n_stores=2, days=420))
    webhook.wait(20)
    opened = monitoring.alerts(db, ["open"])
    assert opened and len(receiver.requests) == len(opened)
    bodies = [json.loads(r["body"]) for r in receiver.requests]
    assert {b["alert"]["id"] for b in bodies} == {a["id"] for a in opened}
    assert all(b["event"] == "alert.opened" and "/monitor?alert=" in b["alert"]["url"] for b in bodies)
    for r in receiver.requests:
        h = r["headers"]
        assert webhook.verify(SECRET, h["X-Shelfcast-Timestamp"], r["body"], h["X-Shelfcast-Signature"])
    assert "notified" in [e["action"] for e in monitoring.history(db, opened[0]["id"])]
    monitoring.evaluate(sci, db)  # re-evaluation: nothing new, nothing sent
    webhook.wait(20)
    assert len(receiver.requests) == len(opened)


@pytest.mark.slow
def test_dead_webhook_never_fails_or_blocks_ingest(db, monkeypatch):
    monkeypatch.setenv("SHELFCAST_WEBHOOK_URL", "http://127.0.0.1:9/down")
    monkeypatch.setenv("SHELFCAST_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("SHELFCAST_WEBHOOK_ALLOW_PRIVATE", "1")
    monkeypatch.setattr(webhook, "ATTEMPTS", 2)
    monkeypatch.setattr(webhook, "BACKOFF_S", 4.0)  # each alert's delivery sleeps 4 s
    spec = DemoSpec(n_skus=6, n_stores=1, days=420)
    hist, recent = split_recent(generate(spec), spec.shift_days)
    sci = Actor("sam", "scientist")
    make_active_version(db, hist, spec.shift_days, sci, plan=recent)
    ingest_frame(db, recent, sci)  # returns although no delivery can have finished yet
    opened = monitoring.alerts(db, ["open"])
    assert opened
    actions = [e["action"] for a in opened for e in monitoring.history(db, a["id"])]
    assert "notify_failed" not in actions and "notified" not in actions
    webhook.wait(4.5 * len(opened) + 10)
    assert "notify_failed" in [e["action"] for e in monitoring.history(db, opened[-1]["id"])]


def test_no_secret_means_nothing_is_sent(db, receiver, monkeypatch):
    monkeypatch.setenv("SHELFCAST_WEBHOOK_URL", receiver.url)
    monkeypatch.delenv("SHELFCAST_WEBHOOK_SECRET", raising=False)
    monkeypatch.setattr(monitoring.config, "REPO_ROOT", db.parent)  # no secrets.toml there
    assert webhook.notify_async([{"id": 1}], db) is None
    (db.parent / ".streamlit").mkdir()
    (db.parent / ".streamlit" / "secrets.toml").write_text(f'[webhook]\nsecret = "{SECRET}"\n')
    assert webhook.settings(db) == (receiver.url, SECRET)


def test_redirects_are_not_followed(receiver):
    red = Receiver(redirect=receiver.url)  # a hostile endpoint: 302 to somewhere inside
    try:
        ok, n, err = webhook.deliver(red.url, SECRET, {"event": "x"}, attempts=3, backoff=0.01,
                                     allow_private=True)
    finally:
        red.close()
    assert (ok, n, err) == (False, 1, "HTTP 302") and len(red.requests) == 1
    assert receiver.requests == []  # the signed request went nowhere else


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/x", "http://127.0.0.1:8080/x",
    "http://[::1]/x", "http://10.0.0.5/x", "http://192.168.1.10/x", "http://localhost/x",
    "http://0.0.0.0/x", "http://[::ffff:127.0.0.1]/x", "ftp://example.com/x",
])
def test_internal_targets_are_refused(url):
    from core.errors import ValidationError

    with pytest.raises(ValidationError):
        webhook.check_url(url)
    ok, n, err = webhook.deliver(url, SECRET, {"event": "x"}, attempts=3, backoff=0.01)
    assert not ok and n == 1 and err


def test_private_targets_only_when_an_admin_allows_them(db, receiver):
    from core.errors import PermissionDenied, ValidationError

    webhook.check_url("http://10.0.0.5/x", allow_private=True)
    with pytest.raises(ValidationError, match="link-local"):  # never, even when allowed
        webhook.check_url("http://169.254.169.254/x", allow_private=True)
    sci, admin = Actor("sam", "scientist"), Actor("ada", "admin")
    with pytest.raises(ValidationError, match="admin may allow"):
        monitoring.set_webhook(sci, receiver.url, db)
    with pytest.raises(PermissionDenied):
        monitoring.set_webhook(sci, receiver.url, db, allow_private=True)
    assert not webhook.allow_private(db)
    monitoring.set_webhook(admin, receiver.url, db, allow_private=True)
    assert webhook.allow_private(db)
    monitoring.set_webhook(sci, receiver.url, db)  # now accepted for the scientist too


def test_a_name_resolving_to_loopback_is_caught_at_connect(receiver, monkeypatch):
    """DNS may answer differently at send time: the connected peer is checked as well."""
    import socket

    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: (
        [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80))]
        if host == "rebind.example" else real(host, *a, **k)))
    port = receiver.url.split(":")[2].split("/")[0]
    real_create = socket.create_connection
    monkeypatch.setattr(socket, "create_connection",
                        lambda addr, *a, **k: real_create(("127.0.0.1", addr[1]), *a, **k))
    ok, n, err = webhook.deliver(f"http://rebind.example:{port}/hook", SECRET, {"event": "x"},
                                 attempts=2, backoff=0.01)
    assert not ok and "private or loopback" in err and receiver.requests == []


def test_viewer_cannot_trigger_evaluation_or_posts(db, receiver, monkeypatch, capsys):
    """Issue 10 item 8: a viewer running `shelfcast monitor` opened alerts and sent POSTs."""
    from core import users
    from core.cli import main
    from core.errors import PermissionDenied

    alerted_store(db, receiver.url, monkeypatch, DemoSpec(n_skus=4, n_stores=1, days=400))
    webhook.wait(20)
    sent = len(receiver.requests)
    assert sent  # the scientist's upload did open and send alerts
    with session(db, write=True) as s:  # the alerts are gone: a run that evaluates would reopen them
        raw(s).execute("DELETE FROM alert_events; DELETE FROM alerts")
    users.create_first_admin("ada", "ada-password-long", db)
    users.add_user(Actor("ada", "admin"), "vic", "viewer", "vic-password-long", db)
    with pytest.raises(PermissionDenied):
        monitoring.evaluate(Actor("vic", "viewer"), db)
    assert main(["--db", str(db), "--user", "vic", "monitor"]) == 2
    assert "may not" in capsys.readouterr().err
    webhook.wait(5)
    assert monitoring.alerts(db) == [] and len(receiver.requests) == sent
