"""core.text: hostile names render literally (no link, image or HTML; no bidi reversal)."""

from core import text


def test_markdown_link_and_image_are_escaped():
    out = text.md("[Reset your password](http://evil.example/login) ![p](http://h/x.png)")
    assert "](" not in out.replace("\\]\\(", "")
    assert out.count("\\[") == 2 and out.count("\\!") == 1


def test_bidi_controls_are_removed():
    assert text.strip_bidi("abc\u202edcba\u2066x\u2069") == "abcdcbax"
    assert "\u202e" not in text.md("x\u202ey")


def test_chart_text_is_html_escaped():
    assert text.chart('<a href="http://evil">x</a>') == "&lt;a href=&quot;http://evil&quot;&gt;x&lt;/a&gt;"


def test_plain_names_stay_readable():
    assert text.chart("SKU-001 / Store 3") == "SKU-001 / Store 3"
    assert text.strip_bidi(None) == ""
