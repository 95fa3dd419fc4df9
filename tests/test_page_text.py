"""Issue 10 item 4 on the Data, Train and Compare pages (AppTest): a SKU, store or file name
written as Markdown or HTML shows as its characters. Every element that Streamlit renders as
Markdown must hold it escaped, and every Plotly text HTML-escaped."""

from __future__ import annotations

import json
import re

import pytest

from core import training
from core.access import Actor
from core.demo import DemoSpec, generate
from core.ingest import ingest
from tests.auth import page, signed_in_app

LINK_SKU = "[Reset your password](http://evil.example/login)"
HTML_STORE = '<a href="http://evil.example/a">Bristol</a>'
IMG_FILE = "![p](http://evil.example/x.png).csv"
SCI = Actor("sam", "scientist")
LIVE_MD = re.compile(r"(?<!\\)\]\((?<!\\)|(?<!\\)<a\b|(?<!\\)!\[")  # an unescaped link, image or tag


def _hostile_store(tmp_path, db) -> None:
    df = generate(DemoSpec(n_skus=2, n_stores=1, days=60))
    df["sku"] = df["sku"].where(df["sku"] != df["sku"].iloc[0], LINK_SKU)
    df["store"] = HTML_STORE
    f = tmp_path / "hostile.csv"
    df.to_csv(f, index=False)
    ingest(f, SCI, db=db, file_name=IMG_FILE)


def _markdown_sources(at) -> list[str]:
    """The Markdown source of every element Streamlit renders as Markdown."""
    out = [str(e.value) for e in (*at.title, *at.subheader, *at.markdown, *at.caption, *at.success,
                                   *at.error, *at.warning, *at.info)]
    out += [e.proto.label for e in (*at.button, *at.metric)]
    out += [e.proto.text for e in at.get("progress")]
    return out


def _chart_strings(at) -> list[str]:
    def walk(x):
        if isinstance(x, dict):
            for v in x.values():
                yield from walk(v)
        elif isinstance(x, list):
            for v in x:
                yield from walk(v)
        elif isinstance(x, str):
            yield x

    return [s for c in at.get("plotly_chart") for s in walk(json.loads(c.proto.spec))]


def _assert_inert(at) -> None:
    assert not at.exception, at.exception
    md = _markdown_sources(at)
    assert not [s for s in md if LIVE_MD.search(s)]
    assert not [s for s in _chart_strings(at) if "<a " in s or "<a>" in s]


def test_the_checks_catch_a_live_link():
    assert LIVE_MD.search(LINK_SKU) and LIVE_MD.search(HTML_STORE) and LIVE_MD.search(IMG_FILE)
    from core.text import md

    assert not LIVE_MD.search(md(LINK_SKU + HTML_STORE + IMG_FILE))


def test_data_page_shows_hostile_names_as_text(db, tmp_path):
    at = signed_in_app("scientist")
    at.switch_page(page("data.py")).run()
    f = tmp_path / "x.csv"
    generate(DemoSpec(n_skus=2, n_stores=1, days=30)).to_csv(f, index=False)
    at.get("file_uploader")[0].set_value((IMG_FILE, f.read_bytes(), "text/csv")).run()
    at.button(key="do-ingest").click().run()
    assert any("rows added" in s.value for s in at.success)
    _assert_inert(at)
    _hostile_store(tmp_path, db)
    at.run()
    at.selectbox(key="chart-sku").set_value(LINK_SKU).run()
    at.selectbox(key="chart-store").set_value(HTML_STORE).run()
    _assert_inert(at)
    assert any("&lt;a href" in s for s in _chart_strings(at))  # the store is in the title, escaped


@pytest.mark.slow
def test_train_and_compare_pages_show_hostile_names_as_text(db, tmp_path):
    _hostile_store(tmp_path, db)
    for _ in range(2):
        training.train(SCI, "naive", horizon=7, folds=1, db=db)
    at = signed_in_app("scientist")
    at.switch_page(page("train.py")).run()
    _assert_inert(at)
    assert any("&lt;a href" in s for s in _chart_strings(at))
    at.switch_page(page("compare.py")).run()
    at.radio(key="cmp-level").set_value("SKU × store").run()
    at.selectbox(key="cmp-sku").set_value(LINK_SKU).run()
    _assert_inert(at)
    assert any(LINK_SKU.replace("<", "&lt;") in s for s in _chart_strings(at))
