"""Reading an Excel upload with bounded work: an xlsx is a zip, and 239 KB of it once expanded
to 590 MB and 78 s of CPU before the old reader (pandas, whole workbook in memory) gave up.

Before anything is parsed, the zip's directory is checked: the declared uncompressed size (the
most the zip reader will inflate) and the compression ratio. Then the first sheet is streamed
(openpyxl read-only) into DuckDB in batches, with row and cell limits checked while reading, so
memory is bounded by one batch and a refusal comes as soon as a limit is crossed.
"""

from __future__ import annotations

import zipfile
from datetime import date, datetime, time
from pathlib import Path

import duckdb
import pyarrow as pa

from core import config
from core.errors import ValidationError

MAX_ROWS = int(config.env_float("SHELFCAST_XLSX_MAX_ROWS", 1_048_576))  # Excel's own sheet limit
MAX_CELLS = int(config.env_float("SHELFCAST_XLSX_MAX_CELLS", 20_000_000))
MAX_COLUMNS = int(config.env_float("SHELFCAST_XLSX_MAX_COLUMNS", 500))
MAX_UNZIPPED_MB = config.env_float("SHELFCAST_XLSX_MAX_UNZIPPED_MB", 400)
MAX_RATIO = config.env_float("SHELFCAST_XLSX_MAX_RATIO", 200)  # real sheets compress 5-30x
BATCH = 50_000


def _check_zip(path: Path, name: str) -> None:
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValidationError(f"{name} is not a valid .xlsx file (not a zip archive: {exc}).") from exc
    unzipped = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if unzipped / 1e6 > MAX_UNZIPPED_MB or unzipped / packed > MAX_RATIO:
        raise ValidationError(
            f"{name} expands to {unzipped / 1e6:,.0f} MB ({unzipped / packed:,.0f} times its "
            f"size); the limits are {MAX_UNZIPPED_MB:,.0f} MB and {MAX_RATIO:,.0f} times. Save "
            "the sheet as CSV and upload that instead."
        )


def _text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, datetime | date | time):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _open(path: Path):  # noqa: ANN202 - an openpyxl Workbook, imported lazily
    """The workbook in openpyxl's read-only mode, minus its sheet-size probe.

    openpyxl sizes each read-only sheet up front from its <dimension> element, and a sheet
    without one (a crafted file) is parsed in full just to find that out, before any row limit
    could apply. A dimension that is present but wrong would silently cut rows off. So sheets
    are opened unsized: rows are read until the sheet ends or a limit here is crossed."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class Sheet(ReadOnlyWorksheet):
        def _get_size(self) -> None:
            """No probe: the dimensions stay unknown (None), which read-only iteration allows."""

    class Reader(ExcelReader):
        def read_worksheets(self) -> None:
            for sheet, rel in self.parser.find_sheets():
                if rel.target in self.valid_files and "chartsheet" not in rel.Type:
                    self.wb._sheets.append(Sheet(self.wb, sheet.name, rel.target, self.shared_strings))

    reader = Reader(path, read_only=True, data_only=True)
    reader.read()
    return reader.wb


def load(path: Path, con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """Stream the first sheet into table `raw` (columns c0, c1, ... as VARCHAR, one row per
    sheet row after the header, so `rowid + 2` is the sheet's row number). Returns the header."""
    _check_zip(path, name)
    try:
        wb = _open(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is the file's fault here
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ValidationError(f"{name} could not be read as XLSX: {first}") from exc
    try:
        if not wb.worksheets:
            raise ValidationError(f"{name} has no worksheet.")
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header_row = next(rows, None)
        if header_row is None:
            raise ValidationError(f"{name} is empty: its first sheet has no header and no rows.")
        header = list(header_row)
        while header and header[-1] is None:  # trailing empty cells of a formatted row
            header.pop()
        if len(header) > MAX_COLUMNS:
            raise ValidationError(
                f"{name} has {len(header):,} columns; at most {MAX_COLUMNS:,} are read. Keep the "
                "sales columns (date, SKU, store, units, regressors) and upload again."
            )
        if not header:
            raise ValidationError(f"{name}: the first row of its first sheet (the header) is empty.")
        columns = [_text(c) or f"column{i + 1}" for i, c in enumerate(header)]
        width = len(columns)
        con.execute("CREATE OR REPLACE TABLE raw (" + ", ".join(f"c{i} VARCHAR" for i in range(width)) + ")")
        batch: list[list[str | None]] = [[] for _ in range(width)]
        pending_blank = 0  # blank rows are kept only when data follows (line numbers stay true)
        n = 0
        for row in rows:
            cells = [_text(v) for v in row[:width]]
            if all(c is None for c in cells):
                pending_blank += 1
                if pending_blank > MAX_ROWS:
                    break  # a sheet of empty rows: nothing more will come
                continue
            for _ in range(pending_blank + 1):
                n += 1
                if n > MAX_ROWS or n * width > MAX_CELLS:
                    raise ValidationError(
                        f"{name} has more than {min(MAX_ROWS, MAX_CELLS // max(width, 1)):,} rows "
                        f"of {width} columns, over the Excel limit of {MAX_CELLS:,} cells. Save "
                        "it as CSV (no such limit) or split it by date range."
                    )
            for i in range(width):
                col = batch[i]
                col.extend([None] * pending_blank)
                col.append(cells[i] if i < len(cells) else None)
            pending_blank = 0
            if len(batch[0]) >= BATCH:
                _flush(con, batch)
        _flush(con, batch)
        return columns
    finally:
        wb.close()


def _flush(con: duckdb.DuckDBPyConnection, batch: list[list[str | None]]) -> None:
    if not batch or not batch[0]:
        return
    con.register("xlsx_part", pa.table({f"c{i}": pa.array(col, pa.string()) for i, col in enumerate(batch)}))
    con.execute("INSERT INTO raw SELECT * FROM xlsx_part")
    con.unregister("xlsx_part")
    for col in batch:
        col.clear()
