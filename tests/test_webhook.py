"""Alert webhooks against a real HTTP server on 127.0.0.1: signature, retry with backoff, one
POST per new alert, and a dead endpoint that never fails an ingest."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core import monitoring, webhook
from core.access import Actor
from core.demo import DemoSpec, generate, split_recent
from tests.monitor_helpers import ingest_frame, make_active_version

SECRET = "test-secret-not-a-real-one"


class Receiver:
    """A local endpoint that answers the first `fail` requests with 503, then 200."""

    def __init__(self, fail: int = 0):
        self.fail = fail
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append({"body": body, "headers": dict(self.headers), "t": time.monotonic()})
                code = 503 if len(outer.requests) <= outer.fail else 200
                self.send_response(code)
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
    ok, n, err = webhook.deliver(receiver.url, SECRET, {"event": "alert.opened", "alert": {"id": 1}})
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
        ok, n, _ = webhook.deliver(r.url, SECRET, {"event": "x"}, attempts=4, backoff=0.1)
        assert ok and n == 3 and len(r.requests) == 3
        gaps = [b["t"] - a["t"] for a, b in zip(r.requests, r.requests[1:], strict=False)]
        assert gaps[0] >= 0.09 and gaps[1] >= 0.19  # 0.1 s, then 0.2 s
    finally:
        r.close()


def test_gives_up_after_attempts_and_4xx_is_not_retried():
    r = Receiver(fail=10)
    try:
        ok, n, err = webhook.deliver(r.url, SECRET, {"event": "x"}, attempts=3, backoff=0.01)
        assert (ok, n, err) == (False, 3, "HTTP 503") and len(r.requests) == 3
    finally:
        r.close()
    ok, n, err = webhook.deliver("http://127.0.0.1:9/nothing-listens", SECRET, {}, attempts=2,
                                 backoff=0.01, timeout=1)
    assert not ok and n == 2 and err


def test_new_alerts_post_once_each_and_record_it(db, receiver, monkeypatch):
    monkeypatch.setenv("SHELFCAST_WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("SHELFCAST_WEBHOOK_SECRET", SECRET)
    spec = DemoSpec(n_skus=6, n_stores=2, days=420)
    hist, recent = split_recent(generate(spec), spec.shift_days)
    sci = Actor("sam", "scientist")
    make_active_version(db, hist, spec.shift_days, sci, plan=recent)
    ingest_frame(db, recent, sci)
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
