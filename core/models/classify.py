"""Demand classes of the Syntetos-Boylan scheme, plus "obsolete".

Why: the class says which kind of model can work (smooth: ETS/Theta/global; intermittent and
lumpy: Croston/TSB/ADIDA/IMAPA; obsolete: none, plan a phase-out) and lets a planner filter
thousands of series down to the ones that need a look.

- ADI (average demand interval) = periods / periods with a sale: 1.0 sells every period.
- CV² = (std / mean)² of the non-zero sales (population std): how much a sale's size varies.
- smooth: ADI < 1.32 and CV² < 0.49; erratic: ADI < 1.32, CV² ≥ 0.49; intermittent: ADI ≥ 1.32,
  CV² < 0.49; lumpy: both above (Syntetos, Boylan & Croston 2005).
- obsolete: no sale in the last `obsolete_after` periods (overrides the above; 0 turns it off).

Measured on each series' most recent `window` periods (default `max(4 * season, 364)`: the
last year of days, four years of weeks or months) so an old pattern does not decide today's
class. One pass of numpy bincounts over the long frame, no per-series loop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.models.data import runs, sort_long

ADI_CUT = 1.32
CV2_CUT = 0.49
CLASSES = ("smooth", "erratic", "intermittent", "lumpy", "obsolete")


def classify(train: pd.DataFrame, season: int, obsolete_after: int,
             window: int | None = None) -> pd.DataFrame:
    """series_id, adi, cv2, class for each series of a long (series_id, ds, y) frame.

    A series with no sale in the window has adi = inf and cv2 = NaN (and is obsolete when
    obsolete_after > 0, else lumpy); one with a single sale has cv2 = 0."""
    window = window or max(4 * season, 364)
    cols = ["series_id", "ds", "y"]
    df = sort_long(train if list(train.columns) == cols else train[cols])
    ids, start, n = runs(df["series_id"].to_numpy())
    k = len(ids)
    y_all = df["y"].to_numpy(float)
    adi, cv2, dead = np.empty(k), np.empty(k), np.zeros(k, bool)
    # a block of series at a time: each series' sums are its own, so blocks give the same
    # floats, and the temporaries are a block's rows (a year of 100,000 daily series gathered
    # at once was ~10 row-sized arrays, 2-3 GB, at the training run's peak)
    for a in range(0, k, BLOCK):
        b = min(a + BLOCK, k)
        adi[a:b], cv2[a:b], dead[a:b] = _block(y_all, start[a:b], n[a:b], window, obsolete_after)
    high_adi = adi >= ADI_CUT
    high_cv2 = ~(cv2 < CV2_CUT)  # NaN (no sale) counts as high: lumpy unless obsolete
    cls = np.select([~high_adi & ~high_cv2, ~high_adi & high_cv2, high_adi & ~high_cv2],
                    ["smooth", "erratic", "intermittent"], "lumpy").astype(object)
    cls[dead] = "obsolete"
    return pd.DataFrame({"series_id": ids, "adi": adi, "cv2": cv2, "class": cls})


BLOCK = 8192  # series per block (a year of daily rows: ~3M rows)


def _block(y_all: np.ndarray, start: np.ndarray, n: np.ndarray, window: int,
           obsolete_after: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(adi, cv2, obsolete) of the series whose rows start at `start` (`n` each)."""
    k = len(start)
    # only each series' last max(window, obsolete_after) rows, gathered in row order (so every
    # sum adds in the order it always did): a copy of those, not five arrays of every row
    w = np.minimum(n, max(window, obsolete_after))
    sid = np.repeat(np.arange(k), w)
    pos = np.arange(len(sid)) - np.repeat(np.cumsum(w) - w, w)  # 0 = the oldest row gathered
    back = np.repeat(w, w) - 1 - pos  # periods before the series' last
    y = y_all[np.repeat(start + n - w, w) + pos]
    del pos
    win = back < window
    sale = win & (y > 0)
    periods = np.bincount(sid[win], minlength=k)
    sales = np.bincount(sid[sale], minlength=k)
    total = np.bincount(sid[sale], y[sale], minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        adi = np.where(sales > 0, periods / np.maximum(sales, 1), np.inf)
        mean = total / sales
        var = np.bincount(sid[sale], (y[sale] - mean[sid[sale]]) ** 2, minlength=k) / sales
        cv2 = var / mean**2
    dead = np.zeros(k, bool)
    if obsolete_after > 0:
        recent = (back < obsolete_after) & (y > 0)
        dead = np.bincount(sid[recent], minlength=k) == 0
    return adi, cv2, dead
