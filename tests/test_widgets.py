"""app/widgets.action: a refusal shows core's message as plain text, a bug shows a fixed sentence
(traceback only in the log), and the page goes on; one percentage format."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from app import widgets


def _script():
    import streamlit as st

    from app import widgets
    from core.errors import ValidationError

    def refuse():
        raise ValidationError("SKU [x](http://evil.example) on line 3 is bad.")

    ok1, _ = widgets.action(refuse)
    ok2, _ = widgets.action(lambda: 1 / 0)
    ok3, r = widgets.action(lambda: 42)
    st.write(f"results {ok1} {ok2} {ok3} {r}")


def test_action_shows_errors_without_traceback(caplog):
    at = AppTest.from_function(_script).run()
    assert not at.exception
    refusal, bug = (e.value for e in at.error)
    # escaped, and a word joiner (U+2060) after "http" keeps GFM from autolinking the URL
    assert refusal == "SKU \\[x\\]\\(http\u2060\\://evil\\.example\\) on line 3 is bad\\."
    assert bug == widgets.FAILED_UNEXPECTEDLY and "ZeroDivisionError" not in bug
    assert "results False False True 42" in at.markdown[0].value


def test_fmt_pct():
    assert widgets.fmt_pct(0.1234) == "12.3%"
    assert widgets.fmt_pct(None) == widgets.fmt_pct(float("nan")) == "–"
    assert widgets.fmt_pct(1.5, 0) == "150%"
