"""Issue 10 item 1 in AppTest: each browser session's upload is its own private file, read once
per uploaded file and deleted once loaded (two sessions once shared one temp file, so a dataset
recorded one manager's file name over the other's rows)."""

from __future__ import annotations

import stat

import core.ingest
from core.access import Actor
from core.demo import DemoSpec, generate
from tests.helpers import open_page

MAYA = Actor("maya", "manager")


def _csv(n_skus: int) -> bytes:
    return generate(DemoSpec(n_skus=n_skus, n_stores=1, days=20)).to_csv(index=False).encode()


def _upload(at, name: str, data: bytes):
    return at.get("file_uploader")[0].set_value((name, data, "text/csv")).run()


def test_each_session_gets_its_own_private_file(db):
    a, b = open_page("data", MAYA), open_page("data", MAYA)
    _upload(a, "a.csv", _csv(2))
    _upload(b, "b.csv", _csv(3))
    pa, pb = a.session_state["_upload"].path, b.session_state["_upload"].path
    assert pa != pb and pa.exists() and pb.exists()
    assert a.session_state["_upload_sid"] != b.session_state["_upload_sid"]
    assert a.session_state["_upload_sid"] in pa.name
    for p in (pa, pb):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600  # not readable by other local users
    assert pa.read_bytes() == _csv(2) and pb.read_bytes() == _csv(3)


def test_file_is_parsed_once_and_removed_after_load(db, monkeypatch):
    calls = []
    real = core.ingest.inspect_file
    monkeypatch.setattr(core.ingest, "inspect_file", lambda *a, **k: calls.append(a) or real(*a, **k))
    at = _upload(open_page("data", MAYA), "sales.csv", _csv(2))
    path = at.session_state["_upload"].path
    at.selectbox(key="map-sku").set_value("sku").run()  # reruns do not read the file again
    at.multiselect(key="map-regs").set_value([]).run()
    assert len(calls) == 1
    at.button(key="do-ingest").click().run()
    assert not at.exception, at.exception
    assert not path.exists() and "_upload" not in at.session_state


def test_clearing_or_replacing_the_file_removes_it(db):
    at = _upload(open_page("data", MAYA), "one.csv", _csv(2))
    first = at.session_state["_upload"].path
    _upload(at, "two.csv", _csv(3))
    second = at.session_state["_upload"].path
    assert not first.exists() and second.exists()
    at.get("file_uploader")[0].set_value(None).run()
    assert not second.exists()


def test_unreadable_file_leaves_nothing_behind(db, tmp_path):
    import tempfile
    from pathlib import Path

    before = set(Path(tempfile.gettempdir()).glob("shelfcast-upload-*"))
    at = _upload(open_page("data", MAYA), "bad.parquet", b"not a parquet file")
    assert not at.exception and at.error
    assert "_upload" not in at.session_state
    assert set(Path(tempfile.gettempdir()).glob("shelfcast-upload-*")) == before
