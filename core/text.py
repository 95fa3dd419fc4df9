"""User-supplied text (SKU and store names, notes, labels, file names) made safe to show.

Streamlit renders Markdown in titles, captions, `st.markdown`, `help=` tooltips and chart titles
(Plotly reads `<a>`, `<b>` tags). A SKU named `[Reset your password](http://evil/login)` or
`![p](http://host/x.png)` must show as those characters, never as a link or a fetched image, on
every page including a share link's Overview. Bidi controls (e.g. U+202E) are removed because
they reverse the text around them and make a name read as something else.
"""

from __future__ import annotations

import html
import re

# Explicit embedding/override/isolate controls and the marks that steer direction.
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")
# Every character Markdown (CommonMark + Streamlit's extensions) gives a meaning.
_MD = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$=])")
# GFM links bare URLs, www. names and e-mail addresses even when escaped; a word joiner
# (U+2060, invisible) after their first characters keeps them text.
_AUTOLINK = re.compile(r"(?i)(https?|ftp|www|mailto|xmpp|@)")


def strip_bidi(text: object) -> str:
    """The text without direction controls; other characters untouched."""
    return _BIDI.sub("", "" if text is None else str(text))


def md(text: object) -> str:
    """Text to place inside Markdown (st.markdown, st.caption, titles, help=): every Markdown
    and HTML character escaped, so it renders literally and can start no link or image."""
    out = _MD.sub(r"\\\1", strip_bidi(text)).replace("\n", " ")
    return _AUTOLINK.sub("\\1\u2060", out)


def chart(text: object) -> str:
    """Text to place in a Plotly title, label or hover text: HTML-escaped (Plotly renders a
    subset of HTML tags, including links) and without direction controls."""
    return html.escape(strip_bidi(text), quote=True)
