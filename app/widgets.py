"""Pieces several pages share: the store, running an action, empty states, downloads, formats."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pandas as pd
import streamlit as st

from core import config, exports
from core.api import Shelfcast, display_accuracy
from core.errors import ShelfcastError
from core.text import md

log = logging.getLogger(__name__)
T = TypeVar("T")
FAILED_UNEXPECTEDLY = "Something went wrong and nothing was changed by this page. The details are in the server log."


def db() -> Path:
    return config.db_path()


def api() -> Shelfcast:
    """The service layer over this server's store: the only way pages reach core."""
    return Shelfcast(db())


def action(fn: Callable[[], T]) -> tuple[bool, T | None]:
    """Call core and show what went wrong: a refusal's own message (as plain text: it may quote
    file names or SKUs) or, for a bug, a fixed sentence with the traceback only in the log.
    Returns (succeeded, result)."""
    try:
        return True, fn()
    except ShelfcastError as exc:
        st.error(md(exc))
    except Exception:  # a page never shows a traceback
        log.exception("page action failed")
        st.error(FAILED_UNEXPECTEDLY)
    return False, None


def empty_state(message: str) -> None:
    """What to do next, where a page has nothing to show yet."""
    st.info(message)


def download_buttons(df: pd.DataFrame | Callable[[], pd.DataFrame], stem: str, key: str,
                     what: str = "table") -> None:
    """One CSV (formula-safe) download of a table, or of a function that makes it, labelled with
    what it holds ("Download forecast CSV"): a page with several tables shows distinct buttons,
    one per thing. Parquet stays a command away (`shelfcast export`).
    The file is made only when the button is clicked: encoding 140,000 forecast rows on every
    rerun cost the Train page 2.5 s with 10,000 series (bench/render.py)."""
    frame = df if callable(df) else (lambda: df)
    st.download_button(f"Download {what} CSV", lambda: exports.to_csv_bytes(frame()), f"{stem}.csv", "text/csv",
                       key=f"{key}-csv")


UNIT_DECIMALS = 1  # a daily slow mover sells 0.3 a day: whole units would round its forecast to 0


def in_units(df: pd.DataFrame) -> pd.DataFrame:
    """Forecast numbers as a person reads them: yhat, its band and quantile columns rounded to a
    tenth of a unit and never below zero (a model's -0.0001 is no demand)."""
    cols = [c for c in df.columns if c.startswith("yhat") or (c[:1] == "p" and c[1:2].isdigit())]
    return df.assign(**{c: pd.to_numeric(df[c]).clip(lower=0).round(UNIT_DECIMALS) for c in cols})


def future_only(df: pd.DataFrame, after) -> pd.DataFrame:
    """The rows dated after `after` (the last actual): what a forecast still plans."""
    return df if after is None else df[pd.to_datetime(df["date"]) > pd.Timestamp(after)].reset_index(drop=True)


def number_columns(spec: dict[str, tuple[str, str]]) -> dict:
    """column -> (label, format) as NumberColumns: a table's many number columns, one line each."""
    return {k: st.column_config.NumberColumn(label, format=fmt) for k, (label, fmt) in spec.items()}


def fmt_int(n: float | int | None) -> str:
    return "–" if n is None else f"{int(n):,}"


def fmt_pct(x: float | None, digits: int = 1) -> str:
    """The one percentage format of the pages: 0.1234 -> '12.3%', missing -> '–'."""
    return "–" if x is None or pd.isna(x) else f"{100 * x:.{digits}f}%"


def fmt_acc(x: float | None) -> str:
    """Accuracy as every page shows it: floored at 0 by core's one rule, then fmt_pct."""
    return fmt_pct(display_accuracy(x))


_PERIOD = {"day": "D", "week": "W-SUN", "month": "M"}


def window_words(window: int, grain: str, window_start, forecast_start, last_actual) -> str:
    """'last 4 weeks', or, when the actuals since the forecast started fill fewer periods than
    the window, 'last 2 weeks (all there is since the forecast started)': a label must say how
    much data is behind a number, not how much was asked for."""
    if None in (window_start, forecast_start, last_actual):
        return f"last {window} {grain}s"
    start = max(pd.Timestamp(window_start), pd.Timestamp(forecast_start))
    n = min(window, len(pd.period_range(start, pd.Timestamp(last_actual), freq=_PERIOD.get(grain, "D"))))
    words = f"last {n} {grain}{'s' if n != 1 else ''}"
    return words if n >= window else f"{words} (all there is since the forecast started)"


def fmt_duration(x: float | None) -> str:
    if x is None:
        return "estimating…"
    x = int(round(x))
    return f"{x // 60} min {x % 60:02d} s" if x >= 60 else f"{x} s"


def freshness_banner(show_ok: bool = False) -> None:
    """Say how much of the published forecast is left; a warning with the action when it has run
    out (before today, or within the lead time after the last sales). Silent with no forecast."""
    try:
        f = api().planning.freshness()
    except Exception:  # a banner must never take its page down
        log.exception("forecast freshness check failed")
        return
    if f.version is None:
        return
    if f.stale:
        st.warning(md(f.message))
    elif show_ok:
        st.caption(md(f.message))
