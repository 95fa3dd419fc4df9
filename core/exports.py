"""Files for people to download. CSV text cells are neutralised so a SKU named `=cmd()` cannot run
as a formula when the file is opened in a spreadsheet (OWASP's CSV injection advice)."""

from __future__ import annotations

import io

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _neutralise(v: object) -> object:
    if isinstance(v, str) and v.startswith(FORMULA_START):
        return "'" + v
    return v


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(_neutralise)
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    return safe_frame(df).to_csv(index=False).encode("utf-8")


def to_parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def write(df: pd.DataFrame, path: str) -> None:
    """Write .csv (neutralised) or .parquet by the file's extension."""
    if path.lower().endswith(".parquet"):
        df.to_parquet(path, index=False)
    elif path.lower().endswith(".csv"):
        with open(path, "wb") as f:
            f.write(to_csv_bytes(df))
    else:
        from core.errors import ValidationError

        raise ValidationError(f"{path}: choose a .csv or .parquet file name.")
