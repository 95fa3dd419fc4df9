"""Reading a sales file (or a folder or glob of parts), mapping its columns, validating it, and
merging it into the store.

Parsing and validation happen in a private DuckDB before the store is touched, so a refused file
changes nothing and a large file does not hold the store while it is read; its checked rows go to
a private temp file (memory bounded by SHELFCAST_INGEST_MEMORY, not by the file), which the merge
attaches. The merge itself is one transaction (rows, series, regressors and the dataset record
together). A good file is read once, typed; only a refused one is read again with its raw text,
so the messages name the column and the file line a store manager must fix. A first load into a
store without series (`_first_load`) is checked in temp tables on the store's own connection
instead, and merged from them: there is nothing to serve meanwhile, and its rows are written once.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from core import config
from core.access import Actor, require
from core.errors import ValidationError
from core.freq import check_alignment, infer_freq
from core.store import datasets, sales, session
from core.store.db import raw

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_STORE = "all"
ACCEPTED = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx"}

# Lower-cased header names recognised for each role, in order of preference.
ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("date", "ds", "day", "week", "month", "period", "order_date", "sales_date", "datetime"),
    "sku": ("sku", "item", "item_id", "product", "product_id", "article", "dept", "industry", "unique_id"),
    "store": ("store", "store_id", "location", "shop", "branch", "state", "site"),
    "qty": ("qty", "quantity", "units", "unit_sales", "sales", "y", "weekly_sales", "turnover", "demand", "volume"),
}
REGRESSOR_HINTS = ("price", "promo", "promotion", "on_promo", "discount", "temperature", "temp", "holiday", "isholiday", "fuel_price", "cpi")

DATE_FORMATS = (
    "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y", "%d.%m.%Y",
    "%d/%m/%y", "%m/%d/%y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d-%b-%Y", "%d %b %Y",
    "%b %d, %Y", "%Y-%m", "%Y/%m", "%b-%Y", "%b %Y", "%B %Y", "%b-%y", "%m/%Y",
)
TRUE_WORDS = ("true", "yes", "y", "t")
FALSE_WORDS = ("false", "no", "n", "f")
SHOW = 5  # offending rows quoted in a message
MAX_LINES = 20  # line numbers listed for one problem (then "and N more")
# Dates must lie within this many years before the earliest of today and the store's first date,
# and after the latest of today and the store's last date: '9999-12-31' or '2204-07-18' (a typo)
# would otherwise date forecasts in year 10000 and break every page that reads them.
YEARS_BACK = config.env_float("SHELFCAST_DATE_YEARS_BACK", 30)
YEARS_AHEAD = config.env_float("SHELFCAST_DATE_YEARS_AHEAD", 2)
# A --date-format is a strptime pattern: directives and separators only. It is bound as a value,
# never put into SQL text, but a pattern with other text is a mistake worth naming.
_FORMAT_RE = re.compile(r"^(?:%[aAbBdHIjmMpSyYfzZ]|[-/ .,:T_])+$")


@dataclass
class Mapping:
    """Which file column plays which part. None means: detect it."""

    date: str | None = None
    sku: str | None = None
    store: str | None = None
    qty: str | None = None
    regressors: list[str] | None = None
    date_format: str | None = None


@dataclass
class IngestResult:
    dataset_id: int
    file_name: str
    rows_added: int
    rows_updated: int
    series: int
    first_date: date | None
    last_date: date | None
    freq: str
    mapping: dict = field(default_factory=dict)
    # Set when the after-ingest monitoring refresh failed: the upload stands, the uploader is told.
    monitoring_error: str | None = None
    # What the upload's own transaction saw, so that the hooks after it need not open the store
    # again to ask (a session costs ~0.02 CPU-s): 'rollups_current', 'active_version'. Empty
    # for other writes (a sales deletion): the hooks then look for themselves.
    known: dict = field(default_factory=dict, repr=False, compare=False)

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("known")
        d["first_date"] = str(self.first_date) if self.first_date else None
        d["last_date"] = str(self.last_date) if self.last_date else None
        return d


@dataclass
class Prepared:
    """A validated file, ready to merge: its rows sit in the private DuckDB file `path`: tables
    clean (h, sku, store, ds, y, plan, r0, r1, ..., bad) and keys (h, sku, store, has_rows)."""

    path: Path | None  # None: temp tables on the store's connection (a first load)
    regressors: list[str]
    mapping: Mapping
    freq: str
    first_date: date
    last_date: date
    sha256: str
    file_name: str
    n_rows: int
    n_series: int


def _ident(columns: list[str], col: str) -> str:
    """The SQL name of a file column. The file's own header text never reaches SQL: columns are
    renamed c0, c1, ... by position when the file is read."""
    return f"c{columns.index(col)}"


def _lines(rows: list[tuple]) -> str:
    return "; ".join(f"line {line}: {'(blank)' if value is None else _short(value)}" for line, value in rows)


def _short(value: object, limit: int = 60) -> str:
    """A quoted value, cut so that one huge cell cannot make a huge message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _capped(items: list, total: int | None = None, limit: int = MAX_LINES) -> str:
    """The first `limit` items and how many more there are: a 2M-row problem stays one line."""
    total = len(items) if total is None else total
    shown = ", ".join(map(str, items[:limit]))
    return shown if total <= limit else f"{shown} and {total - limit:,} more"


def inspect_file(path: str | os.PathLike, file_name: str | None = None, rows: int = 10) -> tuple[list[str], Mapping, pd.DataFrame]:
    """The file's columns, a guessed mapping, and its first rows: what the mapping form shows."""
    path = Path(path)
    con = duckdb.connect()
    try:
        columns = _load(path, con, file_name or path.name)
        preview = con.execute("SELECT * FROM raw LIMIT ?", [rows]).df()
        preview.columns = columns
    finally:
        con.close()
    try:
        guess = _detect(columns, Mapping(), file_name or path.name)
    except ValidationError:
        guess = _detect_partial(columns)
    return columns, guess, preview


def _detect_partial(columns: list[str]) -> Mapping:
    lower = {c.lower().strip(): c for c in columns}
    out = Mapping()
    for role in ("date", "sku", "store", "qty"):
        taken = (out.date, out.sku, out.store, out.qty)
        hit = next((lower[a] for a in ALIASES[role] if a in lower and lower[a] not in taken), None)
        setattr(out, role, hit)
    used = {out.date, out.sku, out.store, out.qty}
    out.regressors = [c for c in columns if c.lower().strip() in REGRESSOR_HINTS and c not in used]
    return out


def _positional(n: int) -> str:
    return ", ".join(f"#{i + 1} AS c{i}" for i in range(n))


def _check_file(path: Path, name: str, any_size: bool = False) -> str:
    """The file's kind, after the checks that need no reading: type, existence, size, emptiness.
    The size limit (SHELFCAST_MAX_UPLOAD_MB) is the browser's; the command line reads any size."""
    ext = Path(name).suffix.lower()
    kind = ACCEPTED.get(ext)
    if kind is None:
        raise ValidationError(
            f"{name}: files of type '{ext or 'none'}' are not accepted. "
            "Upload a CSV (.csv, .tsv, .txt), Parquet (.parquet) or Excel (.xlsx) file."
        )
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "no such file"
        raise ValidationError(f"{name}: {what} (looked for {str(path)!r}).")
    size_mb = path.stat().st_size / 1e6
    if not any_size and size_mb > config.MAX_UPLOAD_MB:
        raise ValidationError(
            f"{name} is {size_mb:.0f} MB, over the {config.MAX_UPLOAD_MB:.0f} MB limit of a browser upload. "
            "Split it by date range and upload the parts, or load it with `shelfcast ingest`, "
            "which takes files of any size."
        )
    if path.stat().st_size == 0:
        raise ValidationError(f"{name} is empty: it has no header and no rows.")
    return kind


def _load(path: Path, con: duckdb.DuckDBPyConnection, name: str, any_size: bool = False) -> list[str]:
    """Read the file into table `raw` with the columns renamed c0, c1, ... Returns the file's own
    column names, in order. A row's line in the file is `rowid + 2` (header on line 1)."""
    kind = _check_file(path, name, any_size)
    if kind == "xlsx":
        from core import xlsx

        return xlsx.load(path, con, name)
    try:
        if kind == "csv":
            src = con.sql("SELECT * FROM read_csv(?, all_varchar = true, header = true, null_padding = true)",
                          params=[str(path)])
        else:
            src = con.sql("SELECT * FROM read_parquet(?)", params=[str(path)])
        columns = [str(c) for c in src.columns]
        con.register("src", src)
        con.execute(
            f"CREATE OR REPLACE TABLE raw AS SELECT {_positional(len(columns))} FROM src"
        )
        con.unregister("src")
        return columns
    except ValidationError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is the file's fault here
        raise _unreadable(name, kind, exc) from exc


def _detect(columns: list[str], m: Mapping, name: str) -> Mapping:
    lower = {c.lower().strip(): c for c in columns}
    out = Mapping(date_format=m.date_format)
    for role in ("date", "sku", "store", "qty"):
        given = getattr(m, role)
        if given:
            if given not in columns:
                raise ValidationError(
                    f"{name}: the column '{given}' chosen for {role} is not in the file. "
                    f"Its columns are: {_capped(columns)}."
                )
            setattr(out, role, given)
            continue
        for alias in ALIASES[role]:
            if alias in lower and lower[alias] not in (out.date, out.sku, out.store, out.qty):
                setattr(out, role, lower[alias])
                break
    missing = [r for r in ("date", "sku", "qty") if getattr(out, r) is None]
    if missing:
        what = {"date": "date", "sku": "SKU (item/product)", "qty": "quantity (units sold)"}
        raise ValidationError(
            f"{name}: no column found for the {', '.join(what[r] for r in missing)}. "
            f"The file's columns are: {_capped(columns)}. Choose them in the column mapping "
            "(or pass --date/--sku/--qty on the command line)."
        )
    used = {out.date, out.sku, out.store, out.qty}
    if m.regressors is not None:
        for r in m.regressors:
            if r not in columns:
                raise ValidationError(f"{name}: the regressor column '{r}' is not in the file.")
        out.regressors = [r for r in m.regressors if r not in used]
    else:
        out.regressors = [c for c in columns if c.lower().strip() in REGRESSOR_HINTS and c not in used]
    return out


NATIVE_DATE_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")


def _date_expr(con: duckdb.DuckDBPyConnection, q: str, col: str, fmt: str | None, name: str,
               table: str = "raw") -> tuple[str, str | None]:
    """SQL turning column `q` into a DATE, and the format it reads. The format is chosen on a
    sample (the first 2,000 filled values): parsing a million rows in twenty formats is slow."""
    ctype = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())[q]
    if ctype in NATIVE_DATE_TYPES:
        return f"CAST({q} AS DATE)", None
    text = f"trim(CAST({q} AS VARCHAR))"
    if fmt and not _FORMAT_RE.match(fmt):
        raise ValidationError(
            f"{name}: the date format {_short(fmt)} is not a date pattern. Use strptime codes and "
            "separators only, such as %d/%m/%Y or %Y-%m-%d."
        )
    formats = [fmt] if fmt else list(DATE_FORMATS)
    sample = f"(SELECT {text} AS v FROM {table} WHERE {q} IS NOT NULL LIMIT 2000)"
    # ISO first: when it reads every sampled date no other format can beat it (ties go to the
    # first), and the other twenty need not be tried.
    n, iso = con.execute(f"SELECT count(*), count(try_strptime(v, ?)) FROM {sample}", [formats[0]]).fetchone()
    if n and iso == n:
        hits = [iso] + [0] * (len(formats) - 1)
    else:
        exprs = ", ".join("count(try_strptime(v, ?))" for _ in formats)
        hits = con.execute(f"SELECT {exprs} FROM {sample}", formats).fetchone()
    best = max(range(len(formats)), key=lambda k: (hits[k], -k))
    if hits[best] == 0:
        sample = con.execute(  # lines by position: `src` is a view over the file, without rowid
            f"SELECT n + 1, v FROM (SELECT row_number() OVER () AS n, {q} AS v FROM {table}) "
            f"WHERE v IS NOT NULL LIMIT {SHOW}").fetchall()
        raise ValidationError(
            f"{name}: the dates in column {col!r} could not be read ({_lines(sample)}). "
            "Use a format like 2024-03-31 (year-month-day)."
        )
    used = formats[best]
    if used == "%Y-%m-%d":  # ISO dates: a plain cast is many times faster than strptime
        return f"try_cast({text} AS DATE)", used
    # The format goes in as a session variable: even a validated pattern stays out of SQL text.
    con.execute("SET VARIABLE shelfcast_date_format = ?", [used])
    return f"CAST(try_strptime({text}, getvariable('shelfcast_date_format')) AS DATE)", used


def _number_expr(q: str) -> str:
    return f"try_cast(replace(trim(CAST({q} AS VARCHAR)), ',', '') AS DOUBLE)"


def _cells(sku_q: str, store_q: str, store_sql: str, date_q: str, date_sql: str, qty_q: str, reg_qs: list[str],
           date_format: str | None, source: str, typed: set[str]) -> str:
    """The SELECT parsing each used cell once from view `source`: sku, store (cleaned),
    sku_cell, store_cell (as written), ds, y, y_blank and per regressor r{i} and r{i}_filled.
    Columns in `typed` were parsed by the CSV reader (`src_typed`): they are used as they are, a
    NULL being a blank cell. Only the columns a statement uses are computed."""
    def filled(q: str) -> str:
        return f"{q} IS NOT NULL" if q in typed else f"nullif(trim(CAST({q} AS VARCHAR)), '') IS NOT NULL"

    if date_q in typed:
        date_sql = date_q
    elif date_format == "%Y-%m-%d":  # most cells cast as they are; trim only the others
        date_sql = f"coalesce(try_cast(CAST({date_q} AS VARCHAR) AS DATE), {date_sql})"
    regs = "".join(f", {filled(q)} AS r{i}_filled, {q if q in typed else _fast_flag(q)} AS r{i}"
                   for i, q in enumerate(reg_qs))
    y = qty_q if qty_q in typed else _fast_number(qty_q)
    return (f"SELECT nullif(trim(CAST({sku_q} AS VARCHAR)), '') AS sku, {store_sql} AS store, "
            f"CAST({sku_q} AS VARCHAR) AS sku_cell, CAST({store_q} AS VARCHAR) AS store_cell, {date_sql} AS ds, "
            f"{y} AS y, NOT ({filled(qty_q)}) AS y_blank{regs} FROM {source}")


def _typed_view(con: duckdb.DuckDBPyConnection, kind: str, columns: list[str], date_q: str | None,
                numbers: list[str]) -> set[str]:
    """View `src_typed`: the CSV with the quantity and regressor columns as DOUBLE and an ISO
    date column as DATE, where the sample's rows all parse so; DuckDB's reader parses them
    several times faster than text and a cast. Any cell it refuses fails the whole read, and
    the text path (`src`) runs instead, so a value is never read differently. Returns the typed
    columns; none when no column qualifies (not a CSV; yes/no words, thousands separators...)."""
    if kind != "csv":
        return set()
    ok = con.execute(
        "SELECT " + ", ".join(f"count(*) FILTER (WHERE nullif(trim({q}), '') IS NOT NULL AND "
                              f"try_cast({q} AS DOUBLE) IS NULL) = 0" for q in numbers) + " FROM sample"
    ).fetchone()
    doubles = {q for q, good in zip(numbers, ok, strict=True) if good}
    if not doubles and date_q is None:
        return set()
    types = ["DOUBLE" if f"c{i}" in doubles else "DATE" if f"c{i}" == date_q else "VARCHAR"
             for i in range(len(columns))]
    con.execute(f"CREATE OR REPLACE TEMP VIEW src_typed AS SELECT * FROM {_csv_reader(types)}")
    return doubles | ({date_q} if date_q else set())


def _fast_number(q: str) -> str:
    """`_number_expr`, trying the plain cast first (DuckDB's cast skips spaces itself)."""
    return f"coalesce(try_cast(CAST({q} AS VARCHAR) AS DOUBLE), {_number_expr(q)})"


def _fast_flag(q: str) -> str:
    """`_flag_expr` for the common case of a number: no word is also a number."""
    return f"coalesce(try_cast(CAST({q} AS VARCHAR) AS DOUBLE), {_flag_expr(q)})"


def _flag_expr(q: str) -> str:
    """A regressor value: a number, or yes/no words as 1/0."""
    v = f"lower(trim(CAST({q} AS VARCHAR)))"
    return (
        f"CASE WHEN {v} IN {TRUE_WORDS} THEN 1.0 WHEN {v} IN {FALSE_WORDS} THEN 0.0 "
        f"ELSE {_number_expr(q)} END"
    )


def _bad_rows(con: duckdb.DuckDBPyConnection, where: str, shown: str,
              message: Callable[[int, str], str]) -> str | None:
    """The message for rows of `clean` matching `where` (count and first lines), else None.
    `message(n, rows)` is an f-string built by the caller: file and column names are user text
    and must never pass through str.format, where '{0}' or '{n.__class__}' would be evaluated."""
    bad = con.execute(
        f"SELECT count(*) OVER (), _line, {shown} FROM clean WHERE {where} ORDER BY _line LIMIT {SHOW}"
    ).fetchall()
    if not bad:
        return None
    return message(bad[0][0], _lines([(r[1], r[2]) for r in bad]))


def _mapped(con: duckdb.DuckDBPyConnection, files: list[Path], kind: str, name: str,
            mapping: Mapping | None) -> tuple[list[str], Mapping, str]:
    """Views `src` and `sample` over the file(s), the columns' mapping and the SQL reading the
    date column (its format chosen on the first SAMPLE filled dates: the sample's, unless some
    of its dates are blank and the file goes on). Returns (columns, mapping, date SQL)."""
    columns = _source(con, files, kind, name)
    sampled = con.execute("SELECT count(*) FROM sample").fetchone()[0]
    if not sampled:
        raise ValidationError(f"{name} has a header but no data rows.")
    m = _detect(columns, mapping or Mapping(), name)
    date_q = _ident(columns, m.date)
    more = sampled == SAMPLE and con.execute(
        f"SELECT count(*) > count({date_q}) FROM sample").fetchone()[0]
    date_sql, m.date_format = _date_expr(con, date_q, m.date, m.date_format, name,
                                         table="src" if more else "sample")
    return columns, m, date_sql


def prepare(path: str | os.PathLike, mapping: Mapping | None = None, *, file_name: str | None = None,
            store_freq: str | None = None,
            store_range: tuple[date | None, date | None] = (None, None),
            out: str | os.PathLike | None = None, any_size: bool = False,
            con: duckdb.DuckDBPyConnection | None = None) -> Prepared:
    """Read and validate a file (or a folder or glob of CSV/Parquet parts) into the private
    DuckDB file `out`, ready to merge. Raises ValidationError with an actionable message.
    `store_range` (the store's first and last sales dates) widens the accepted date window.

    A valid file is read once, into typed columns only; the raw text, line numbers and the
    messages that quote them are built only when a check fails, by reading the file again
    (`_explain`): a good file, the common case, does not pay for them.

    With `con` (the store's connection, inside its write transaction: a first load, see
    `_first_load`) the checked rows and keys are temp tables there instead of the file `out`,
    so they are written once, into the store, and not once more into a file of their own."""
    path = Path(path)
    files, kind = parts(path)
    name = file_name or path.name
    if len(files) == 1:
        kind = _check_file(files[0], name, any_size)
    own = con is None
    into = "prepared" if own else "temp"  # where `clean` and `keys` go
    if own:
        con = _private(Path(out))
    digest = _Digest(files)
    try:
        columns, m, date_sql = _mapped(con, files, kind, name, mapping)
        date_q, sku_q, qty_q = (_ident(columns, c) for c in (m.date, m.sku, m.qty))
        store_q = _ident(columns, m.store) if m.store else "NULL"
        store_sql = f"coalesce(nullif(trim(CAST({store_q} AS VARCHAR)), ''), '{DEFAULT_STORE}')"
        regs = m.regressors or []
        _refuse_reserved(regs, name)
        lo, hi = _window(store_range)
        checked = (f"CREATE OR REPLACE {_table(into, 'clean')} AS SELECT KEY AS h, ds, y, plan"
                   + "".join(f", r{i}" for i in range(len(regs)))
                   + f", (ds IS NULL OR ds < DATE '{lo}' OR ds > DATE '{hi}' OR NOSKU "
                   "OR (y IS NULL AND NOT plan) OR y < 0 OR "
                   + (" OR ".join(f"(r{i} IS NULL AND r{i}_filled)" for i in range(len(regs))) or "false")
                   # A row with no units but regressor values is a plan row (a promo or price plan
                   # for future dates): it feeds the regressors table only, so models know their future.
                   + ") AS bad FROM (SELECT *, (y_blank AND ("
                   + (" OR ".join(f"r{i} IS NOT NULL" for i in range(len(regs))) or "false")
                   + ")) AS plan FROM (CELLS))")
        keep_cells = not own and _volume(files, kind) <= CELLS_BYTES
        if keep_cells:
            checked = checked.replace(") AS bad FROM (SELECT *", ") AS bad, sku_cell, store_cell FROM (SELECT *")
        numbers = [qty_q] + [_ident(columns, r) for r in regs]

        def cells(source: str, typed: set[str]) -> str:
            return _cells(sku_q, store_q, store_sql, date_q, date_sql, qty_q, numbers[1:], m.date_format, source, typed)

        # Row order does not matter here (no line numbers), which lets DuckDB read in parallel.
        order = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
        con.execute("SET preserve_insertion_order = false")
        typed = _typed_view(con, kind, columns, date_q if m.date_format == "%Y-%m-%d" else None, numbers)
        # The key hashes the SKU and store cells as written (trimming 73M cells twice cost more
        # than the rest of the row); only a file that spells one series two ways (' A' and 'A')
        # is keyed again by the cleaned names. A row without a SKU shows up in `names`.
        salt, cleaned = 0, False
        while True:
            key = _key_sql(salt, cleaned)
            sql = checked.replace("KEY", key).replace("NOSKU", "sku IS NULL" if cleaned else "false")
            try:
                if not typed:
                    raise duckdb.ConversionException("no typed columns")
                con.execute(sql.replace("CELLS", cells("src_typed", typed)))
            except duckdb.Error:  # a cell the typed reader refuses: the text path decides, and explains
                typed = set()
                _read(con, kind, name, sql.replace("CELLS", cells("src", set())))
            bad = con.execute(f"SELECT count(*) FILTER (WHERE bad) FROM {into}.clean").fetchone()[0]
            if bad:
                break
            # The series' names, read apart: a column of text per row costs the checked table
            # more to write than a second pass over the file costs to read two columns.
            # In memory (a first load of a file of moderate size) the checked rows keep the cells
            # as written, and the names come from them instead of from the file again.
            # Distinct cells first: the cleaning then runs once per series.
            if keep_cells:
                _scan(con, kind, name, _names_sql(key, "sku_cell", "store_cell",
                                                  "(SELECT DISTINCT sku_cell, store_cell FROM temp.clean)"))
            else:
                _scan(con, kind, name, _names_sql(key, sku_q, store_q, f"(SELECT DISTINCT {sku_q}, {store_q} FROM src)"))
            no_sku, shared, spelled = con.execute(
                "SELECT count(*) FILTER (WHERE sku IS NULL) > 0, count(*) > count(DISTINCT h), "
                "count(*) > count(DISTINCT (sku, store)) FROM names").fetchone()
            if no_sku:
                bad = 1
                break
            if spelled and not cleaned:
                cleaned = True
            elif shared and salt + 1 < MAX_SALTS:
                salt += 1  # two series share a hash (1 in 10^8 for a million series): hash again
            else:
                break
        # The store keeps the order rows are written in (its pages read row groups by series id).
        con.execute("SET preserve_insertion_order = ?", [order])
        if own:
            con.execute("USE prepared")  # `clean` from here on is the file's
        dates: list[date] = []
        dup = bad == 0 and _series_keys(con, name, None if own else into, dates, one_read=keep_cells)
        if bad or dup:
            _explain(con, files, kind, m, name, store_range, any_size)
        _refuse_mixed_freq_fast(con, name)
        gaps = {(b - a).days for a, b in zip(dates, dates[1:], strict=False)}
        freq = infer_freq(gaps, dates, store_freq)
        if store_freq and freq != store_freq:
            raise ValidationError(
                f"{name} holds {describe_freq(freq)} data, but this store holds {describe_freq(store_freq)} "
                "data. Upload data at the store's frequency (or use a new store file)."
            )
        return _finish(con, m, regs, freq, dates, digest.value(), name, Path(out) if own else None)
    finally:
        digest.cancel()
        if own:
            con.close()


# Memory for the private validation database; past it DuckDB spills to a temp folder, so a file
# of any size is read with memory bounded by this, not by the file.
MEMORY_LIMIT = os.environ.get("SHELFCAST_INGEST_MEMORY", "1GB")
GLOB_CHARS = set("*?[")


def parts(path: Path) -> tuple[list[Path], str]:
    """The files a path names and their kind: one file, every CSV/Parquet file of a folder, or
    the files a glob matches (`parts/*.parquet`). Parts must share one kind and one header."""
    text = str(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and ACCEPTED.get(p.suffix.lower()) in ("csv", "parquet"))
        what = f"the folder {text!r} holds no .csv or .parquet files"
    elif not path.exists() and GLOB_CHARS & set(text):
        files = sorted(Path(p) for p in glob.glob(text) if Path(p).is_file())
        what = f"no file matches {text!r}"
    else:
        return [path], ACCEPTED.get(path.suffix.lower(), "")
    if not files:
        raise ValidationError(f"{path.name}: {what}.")
    kinds = {ACCEPTED.get(p.suffix.lower()) for p in files}
    if len(kinds) != 1 or kinds - {"csv", "parquet"}:
        raise ValidationError(
            f"{path.name}: the parts mix file types ({', '.join(sorted(p.suffix or '(none)' for p in files[:MAX_LINES]))}). "
            "Give a folder or glob of CSV files only, or of Parquet files only."
        )
    return files, kinds.pop()


def _private(out: Path) -> duckdb.DuckDBPyConnection:
    """The DuckDB a file is checked in: the views over the file in memory, the checked rows in
    the file `out` (attached as `prepared`: compressed on disk, so memory stays within
    MEMORY_LIMIT whatever the file's size; the merge reads it from there)."""
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": str(out.parent / "spill")})
    con.execute("SET enable_progress_bar = false")  # drawn on stdout, where `--json` writes
    con.execute(f"ATTACH '{_sql_path(out)}' AS prepared")
    return con


def _source(con: duckdb.DuckDBPyConnection, files: list[Path], kind: str, name: str) -> list[str]:
    """View `src` over the file(s), columns named c0, c1, ... by position (the header's text
    never reaches SQL), read lazily, and table `sample`, its first SAMPLE rows, which the format
    and type checks read instead of the file. A CSV is sniffed once, here: every later read names
    the dialect and the columns' types itself (`_csv_reader`), since each read_csv that sniffs
    costs a fixed ~0.03 CPU-s and a dozen statements bound the file."""
    if kind == "xlsx":
        from core import xlsx

        columns = xlsx.load(files[0], con, name)
        con.execute("CREATE OR REPLACE TEMP VIEW src AS SELECT * FROM raw")
    else:
        # The paths go in as a variable: a file name is user text and never part of SQL. A view
        # over read_csv reads nothing until queried (a bound parameter would read the whole file).
        con.execute("SET VARIABLE shelfcast_files = ?", [[str(f) for f in files]])
        try:
            if kind == "csv":
                columns = _sniff(con, files[0])
                con.execute(f"CREATE OR REPLACE TEMP VIEW src AS SELECT * FROM {_csv_reader(['VARCHAR'] * len(columns))}")
                # The first rows through a small buffer: the reader's default one (32 MB) is
                # filled whole, even for a LIMIT (0.02 of the 0.025 CPU-s of this at 1M rows).
                head = _csv_reader(["VARCHAR"] * len(columns), buffer=SNIFF_BYTES)
                con.execute(f"CREATE OR REPLACE TEMP TABLE sample AS SELECT * FROM {head} LIMIT {SAMPLE}")
            else:
                con.execute("CREATE OR REPLACE TEMP VIEW src_file AS SELECT * FROM read_parquet(getvariable('shelfcast_files'))")
                columns = [str(r[0]) for r in con.execute("DESCRIBE src_file").fetchall()]
                con.execute(f"CREATE OR REPLACE TEMP VIEW src AS SELECT {_positional(len(columns))} FROM src_file")
                con.execute(f"CREATE OR REPLACE TEMP TABLE sample AS SELECT * FROM src LIMIT {SAMPLE}")
        except duckdb.OutOfMemoryException:
            raise
        except Exception as exc:  # noqa: BLE001 - any reader failure is the file's fault here
            raise _unreadable(name, kind, exc) from exc
    if kind == "xlsx":
        con.execute(f"CREATE OR REPLACE TEMP TABLE sample AS SELECT * FROM src LIMIT {SAMPLE}")
    return columns


SAMPLE = 2000  # rows the date format and the column types are chosen on


# Bytes of a CSV's start the sniffer reads (its buffer: the reader's default of 32 MB is read
# whole and costs a sniff ~0.035 CPU-s; its 20,480-row sample of a sales file fits in 4 MB), and
# that are looked at for a quote other than RFC 4180's double quote.
SNIFF_BYTES = 4 << 20


def _sniff(con: duckdb.DuckDBPyConnection, first: Path) -> list[str]:
    """Sniff the first file's dialect and header once; the dialect goes into session variables
    for `_csv_reader`. Returns the header's column names (as DuckDB's reader names them).

    When the file's start holds no quote of any kind and no backslash (the sniffer would find
    none, and pick none), it is told the quote and escape are RFC 4180's double quote: it then
    tries delimiters only, half its cost (0.025 of a 1M-row file's 0.05 CPU-s), and a quoted
    cell past its sample, as any CSV writer quotes a name with a comma, reads as one cell. A
    file whose start holds quotes or backslashes is sniffed in full, as ever."""
    with open(first, "rb") as f:
        head = f.read(SNIFF_BYTES)
    rfc = not any(c in head for c in (b'"', b"'", b"\\"))
    delim, quote, escape, new_line, comment, skip, cols = con.execute(
        "SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows, Columns "
        "FROM sniff_csv(getvariable('shelfcast_files')[1], header = true, null_padding = true, all_varchar = true, "
        f"buffer_size = {SNIFF_BYTES}" + (", quote = '\"', escape = '\"')" if rfc else ")")).fetchone()
    for key, value in (("delim", delim), ("quote", quote), ("escape", escape), ("new_line", new_line),
                       ("comment", comment)):
        con.execute(f"SET VARIABLE shelfcast_{key} = ?", ["" if value == "(empty)" else value])
    con.execute("SET VARIABLE shelfcast_skip = ?", [int(skip)])
    return [str(c["name"]) for c in cols]


# The reader's buffer for a whole file: its default (32 MB) made the typed pass of a 1M-row
# file cost ~0.35-0.57 CPU-s from run to run, against 0.34-0.36 with 8 MB (10M rows: the same).
READ_BYTES = 8 << 20


def _csv_reader(types: list[str], buffer: int = READ_BYTES) -> str:
    """read_csv over the files with the sniffed dialect and our own column names (c0, c1, ...)
    and types: nothing is detected again. Names and types are ours, never the file's text.
    `buffer`: the reader's buffer in bytes (smaller for a read of the first rows only)."""
    cols = ", ".join(f"'c{i}': '{t}'" for i, t in enumerate(types))
    size = f", buffer_size = {int(buffer)}"
    return ("read_csv(getvariable('shelfcast_files'), auto_detect = false, header = true, null_padding = true, "
            "delim = getvariable('shelfcast_delim'), quote = getvariable('shelfcast_quote'), "
            "escape = getvariable('shelfcast_escape'), new_line = getvariable('shelfcast_new_line'), "
            "comment = getvariable('shelfcast_comment'), skip = getvariable('shelfcast_skip'), "
            f"columns = {{{cols}}}{size})")


def _unreadable(name: str, kind: str, exc: Exception) -> ValidationError:
    first = str(exc).strip().splitlines()[0][:300]
    return ValidationError(f"{name} could not be read as {kind.upper()}: {first}")


def _read(con: duckdb.DuckDBPyConnection, kind: str, name: str, sql: str) -> None:
    """The text path's read of the file (see `_scan`)."""
    _scan(con, kind, name, sql)


def _scan(con: duckdb.DuckDBPyConnection, kind: str, name: str, sql: str) -> None:
    """Run a statement that reads the file: a malformed file fails here, as the file's fault."""
    try:
        con.execute(sql)
    except duckdb.OutOfMemoryException:
        raise
    except (duckdb.InvalidInputException, duckdb.ConversionException, duckdb.IOException) as exc:
        raise _unreadable(name, kind, exc) from exc


# Bytes of CSV (Parquet counts 4x) up to which a first load is checked in memory on the store's
# connection (its checked rows take about as many bytes as the CSV). A bigger one goes the
# ordinary way, through the private file, compressed: spilled past SHELFCAST_INGEST_MEMORY, the
# uncompressed rows cost more to read back than the file (73M rows: 1.78x read_csv's CPU, vs 1.74x).
FIRST_LOAD_BYTES = config.env_float("SHELFCAST_INGEST_FIRST_LOAD_MB", 1000) * 1e6
# Bytes of CSV (Parquet counts 4x) up to which a first load keeps the SKU and store cells in its
# checked rows in memory (~32 bytes a row) rather than read those two columns from the file again.
# 10M rows (421 MiB): the cells cost the typed pass ~0.4 CPU-s and saved the second read ~1.0
# (7.6 v 8.9 CPU-s in all) for 0.3 GB more peak RSS (1.24 GB).
CELLS_BYTES = config.env_float("SHELFCAST_INGEST_CELLS_MB", 512) * 1e6


def _volume(files: list[Path], kind: str) -> float:
    return sum(f.stat().st_size for f in files) * (4 if kind == "parquet" else 1)


def _names_sql(key: str, sku: str, store: str, source: str) -> str:
    """Table `names` (h, sku, store): the series' names, cleaned, with their key, from the
    distinct SKU and store cells (columns `sku` and `store` of `source`, as written)."""
    store_sql = f"coalesce(nullif(trim(CAST({store} AS VARCHAR)), ''), '{DEFAULT_STORE}')"
    return (f"CREATE OR REPLACE TEMP TABLE names AS SELECT DISTINCT {key} AS h, sku, store "
            f"FROM (SELECT nullif(trim(CAST({sku} AS VARCHAR)), '') AS sku, {store_sql} AS store, "
            f"CAST({sku} AS VARCHAR) AS sku_cell, CAST({store} AS VARCHAR) AS store_cell FROM {source})")


MAX_SALTS = 8  # hashings tried before two series that share every hash are refused (never seen)


def _key_sql(salt: int, cleaned: bool = True) -> str:
    """A series' 64-bit key from its SKU and store cells (`cleaned`: trimmed, a blank store read
    as 'all'; else as written); another salt is another hash function."""
    cols = "sku, store" if cleaned else "sku_cell, store_cell"
    return f"hash({cols})" if salt == 0 else f"hash({cols}, {int(salt)})"


def _table(into: str | None, name: str) -> str:
    """`TABLE into.name` for CREATE: a temp table's catalog is named by TEMP, not by `temp.`."""
    return f"TEMP TABLE {name}" if into == "temp" else f"TABLE {into}.{name}" if into else f"TABLE {name}"


# Bits the duplicate check may hold (one per series and day of the file's span): past this it
# counts distinct dates per series instead, exact too but a hash table over every row.
DUP_BITS = 2_000_000_000


def _series_keys(con: duckdb.DuckDBPyConnection, name: str = "the file", into: str | None = None,
                 dates: list[date] | None = None, one_read: bool = False) -> bool:
    """Table `keys`, one row per series (h, sku, store) with what every later check needs, from
    one aggregate over the checked rows (h, ds, plan) joined to the series' names (table `names`:
    h, sku, store, a hash shared by no two series): has_rows (a series seen only in plan rows is
    not created; its plans join an existing one), n (its sales rows), weekdays (a bit per weekday
    of its sales dates), month_start/month_end (all its sales dates on the 1st / the last day)
    dup (a date seen twice, plan rows included), and first_date, last_date, units and zeros of
    its sales rows (a first load's series_stats: core.store.summaries.add_new_series). Returns
    whether any series has a duplicate.

    A duplicate is found with a bitmap of the file's days per series (a set bit per date seen;
    fewer bits than rows means a date came twice), far cheaper than grouping every (series,
    date); the dates are checked ones, so the span is at most the accepted window. A month's
    last day is the day before a 1st (last_day() cost the aggregate a quarter more). The file's
    distinct dates, which the bitmap's bounds come from, are appended to `dates` (the frequency
    is inferred from them): one grouping by date gives both, and whether any row is a plan.
    `one_read`: the names came from the checked rows themselves (not from a second read of the
    file), so only a hash two names share is left to check."""
    by_date = con.execute("SELECT ds, bool_or(plan) FROM clean GROUP BY ds ORDER BY ds").fetchall()
    if dates is None:
        dates = []
    dates[:] = [r[0] for r in by_date]
    lo, hi, plans = dates[0], dates[-1], any(r[1] for r in by_date)
    groups = con.execute("SELECT count(*) FROM names").fetchone()[0]
    sales_only = " FILTER (WHERE NOT plan)" if plans else ""  # most files have no plan rows
    span = (hi - lo).days + 1
    if span * max(groups, 1) <= DUP_BITS:  # literals of our own numbers: bitstring_agg wants constants
        seen = f"bit_count(bitstring_agg(CAST(ds - DATE '{lo.isoformat()}' AS INTEGER), 0, {span - 1}))"
    else:
        seen = "count(DISTINCT ds)"
    con.execute(
        f"""CREATE OR REPLACE {_table(into, 'keys')} AS
            SELECT h, k.sku, k.store, a.* EXCLUDE (h) FROM (
                SELECT h, bool_or(NOT plan) AS has_rows, count(*){sales_only} AS n,
                       coalesce(bit_or(1 << isodow(ds)){sales_only}, 0) AS weekdays,
                       bool_and(day(ds) = 1){sales_only} AS month_start,
                       bool_and(day(ds + 1) = 1){sales_only} AS month_end,
                       {seen} < count(*) AS dup,
                       min(ds){sales_only} AS first_date, max(ds){sales_only} AS last_date,
                       sum(y){sales_only} AS units, count(*) FILTER (WHERE NOT plan AND y = 0) AS zeros
                FROM clean GROUP BY h) a JOIN names k USING (h)"""
    )
    # Every checked row's series must have a name, and every name rows: else the file changed
    # between the two reads. (Names taken from the checked rows cover them all: only a key two
    # names share, past every salt, could still make two rows of `keys` from one series.)
    rows = "(SELECT count(DISTINCT h) FROM names)" if one_read else "(SELECT count(DISTINCT h) FROM clean)"
    if con.execute(f"SELECT (SELECT count(*) FROM keys) <> {rows} "  # noqa: S608 - own SQL
                   "OR (SELECT count(*) FROM keys) <> (SELECT count(*) FROM names)").fetchone()[0]:
        raise ValidationError(f"{name} changed while it was being read. Nothing was loaded; upload it again.")
    return bool(con.execute("SELECT bool_or(dup) FROM keys").fetchone()[0])


def _explain(con: duckdb.DuckDBPyConnection, files: list[Path], kind: str, m: Mapping, name: str,
             store_range: tuple[date | None, date | None], any_size: bool) -> None:
    """A check failed: read the file again, this time with line numbers and raw text beside the
    parsed values, and raise the message naming every problem. Parts are explained one by one
    (their own line numbers); a duplicate across two parts is named without lines."""
    problems: list[str] = []
    for f in files:
        label = name if len(files) == 1 else f.name
        problems += [f"{label}: {p}" if len(files) > 1 else p for p in _explain_one(f, m, label, store_range, any_size)]
    if not problems:
        problems = [_cross_part_duplicates(con)]
    raise ValidationError(f"{name}: " + " ".join(problems) + " Nothing was loaded.")


def _explain_one(path: Path, m: Mapping, name: str,
                 store_range: tuple[date | None, date | None], any_size: bool) -> list[str]:
    con = duckdb.connect()
    try:
        columns = _load(path, con, name, any_size)
        if con.execute("SELECT count(*) FROM raw").fetchone()[0] == 0:
            return ["has a header but no data rows."]
        date_q, sku_q, qty_q = (_ident(columns, c) for c in (m.date, m.sku, m.qty))
        date_sql, fmt = _date_expr(con, date_q, m.date, m.date_format, name)
        store_sql = (
            f"coalesce(nullif(trim(CAST({_ident(columns, m.store)} AS VARCHAR)), ''), '{DEFAULT_STORE}')"
            if m.store else f"'{DEFAULT_STORE}'"
        )
        regs = m.regressors or []
        reg_sql = "".join(
            f", {_flag_expr(_ident(columns, r))} AS r{i}, CAST({_ident(columns, r)} AS VARCHAR) AS r{i}_raw"
            for i, r in enumerate(regs)
        )
        any_reg = " OR ".join(f"({_flag_expr(_ident(columns, r))}) IS NOT NULL" for r in regs) or "false"
        plan = f"(nullif(trim(CAST({qty_q} AS VARCHAR)), '') IS NULL AND ({any_reg}))"
        con.execute(
            f"CREATE TABLE clean AS SELECT rowid + 2 AS _line, nullif(trim(CAST({sku_q} AS VARCHAR)), '') AS sku, "
            f"{store_sql} AS store, {date_sql} AS ds, {_number_expr(qty_q)} AS y, {plan} AS plan, "
            f"CAST({date_q} AS VARCHAR) AS ds_raw, CAST({qty_q} AS VARCHAR) AS y_raw{reg_sql} FROM raw"
        )
        problems = _bad_rows_messages(con, m, regs, fmt or "a date", _window(store_range))
        return problems + [d for d in [_duplicates(con)] if d]
    finally:
        con.close()


def _cross_part_duplicates(con: duckdb.DuckDBPyConnection) -> str:
    """Rows of two parts for one (SKU, store, date), from the checked table (no lines)."""
    dups = con.execute(
        f"""SELECT count(*) OVER (), sku, store, CAST(ds AS VARCHAR) FROM clean JOIN keys USING (h)
            GROUP BY sku, store, ds HAVING count(*) > 1 ORDER BY 2, 3, 4 LIMIT {SHOW}""").fetchall()
    examples = "; ".join(f"SKU {_short(sku)} at store {_short(store)} on {ds}" for _n, sku, store, ds in dups)
    return (f"{dups[0][0] if dups else 0:,} (SKU, store, date) combination(s) appear in more than one "
            f"part: {examples}. Each SKU may have one row per store and date; add them up before uploading.")


def _bad_rows_messages(con: duckdb.DuckDBPyConnection, m: Mapping, regs: list[str], fmt_name: str,
                       window: tuple[date, date]) -> list[str]:
    """A sentence for every failing row check, with its count and first lines."""
    lo, hi = window
    checks = [
        ("ds IS NULL", "ds_raw", lambda n, rows: (
            f"{n} row(s) have a date in column {m.date!r} that could not be read as {fmt_name} "
            f"({rows}). Fix or remove those rows.")),
        (f"ds < DATE '{lo}' OR ds > DATE '{hi}'", "ds_raw", lambda n, rows: (
            f"{n} row(s) have a date in column {m.date!r} outside {lo} to {hi} ({rows}): a typo "
            "in the year? Dates are accepted from SHELFCAST_DATE_YEARS_BACK years before the "
            "earliest of today and the store's first date to SHELFCAST_DATE_YEARS_AHEAD years "
            "after the latest of today and its last date.")),
        ("sku IS NULL", "sku", lambda n, rows: f"{n} row(s) have no SKU in column {m.sku!r} ({rows})."),
        ("y IS NULL AND nullif(trim(y_raw), '') IS NOT NULL", "y_raw", lambda n, rows: (
            f"{n} row(s) have a quantity in column {m.qty!r} that is not a number ({rows}). "
            "Quantities must be numbers such as 12 or 3.5.")),
        ("y IS NULL AND nullif(trim(y_raw), '') IS NULL AND NOT plan", "y_raw", lambda n, rows: (
            f"{n} row(s) have no quantity in column {m.qty!r} ({rows}). Fill it in; rows without "
            "units are accepted only as plans (with price/promo values).")),
        ("y < 0", "y_raw", lambda n, rows: (
            f"{n} row(s) have a negative quantity in column {m.qty!r} ({rows}). Record returns "
            "separately; units sold cannot be below zero.")),
    ]
    for i, r in enumerate(regs):
        checks.append((f"r{i} IS NULL AND nullif(trim(r{i}_raw), '') IS NOT NULL", f"r{i}_raw",
                       lambda n, rows, r=r: (
                           f"{n} row(s) in regressor column {r!r} are not numbers or yes/no "
                           f"({rows}). Fix them, or leave {r!r} out of the mapping.")))
    return [msg for where, shown, make in checks if (msg := _bad_rows(con, where, shown, make))]


def _window(store_range: tuple[date | None, date | None]) -> tuple[date, date]:
    """The dates a file may hold: around today and the store's own range (see YEARS_BACK)."""
    today = date.today()
    first, last = store_range
    lo = min(today, first or today).toordinal() - round(365.25 * YEARS_BACK)
    hi = max(today, last or today).toordinal() + round(365.25 * YEARS_AHEAD)
    return date.fromordinal(max(lo, 1)), date.fromordinal(min(hi, date.max.toordinal()))


def _refuse_mixed_freq(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Refuse a file whose series have different frequencies: one store holds one frequency, and
    a weekly series read as daily gets a forecast of 0 six days a week. Each series with at least
    three dates is classed daily (some dates one day apart), weekly (all on one weekday, whole
    weeks apart) or monthly (all on the 1st, or all on the last day, of their month); others (a
    slow mover with a sale now and then) take any class. The class holding most rows wins and
    the series of the other classes are named."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE series_kind AS
           WITH g AS (
               SELECT h, ds, ds - lag(ds) OVER (PARTITION BY h ORDER BY ds) AS gap
               FROM clean WHERE NOT plan),
           per AS (
               SELECT h, count(*) AS n, min(gap) AS smallest,
                      count(DISTINCT dayofweek(ds)) AS weekdays,
                      bool_and(gap IS NULL OR gap % 7 = 0) AS whole_weeks,
                      bool_and(day(ds) = 1) OR bool_and(ds = last_day(ds)) AS month_edge
               FROM g GROUP BY h)
           SELECT k.sku, k.store, n,
                  CASE WHEN smallest = 1 THEN 'daily'
                       WHEN n >= 3 AND weekdays = 1 AND whole_weeks THEN 'weekly'
                       WHEN n >= 3 AND smallest >= 28 AND month_edge THEN 'monthly' END AS kind
           FROM per JOIN (SELECT h, sku, store FROM keys) k USING (h)"""
    )
    kinds = con.execute(
        """SELECT kind, count(*) FROM series_kind WHERE kind IS NOT NULL
           GROUP BY kind ORDER BY sum(n) DESC, 1"""
    ).fetchall()
    if len(kinds) > 1:
        main = kinds[0][0]
        odd = con.execute(
            """SELECT count(*) OVER (), sku, store, kind FROM series_kind
               WHERE kind IS NOT NULL AND kind <> ? ORDER BY sku, store LIMIT ?""",
            [main, MAX_LINES],
        ).fetchall()
        listed = [f"{_short(sku)} at {_short(store)} ({kind})" for _n, sku, store, kind in odd]
        raise ValidationError(
            f"{name} mixes frequencies: {kinds[0][1]:,} series are {main}, but {odd[0][0]:,} "
            f"series are not: {_capped(listed, odd[0][0])}. A store holds one frequency; upload "
            "those series to a separate store, or at the same frequency as the rest (daily: with "
            "0 on days without sales)."
        )
    con.execute("DROP TABLE series_kind")


def _refuse_mixed_freq_fast(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """`_refuse_mixed_freq` without its window over every row when the answer is plain."""
    if not _one_freq(con):
        _refuse_mixed_freq(con, name)


def _one_freq(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the per-series figures of `keys` (see `_series_keys`) show one frequency for
    certain. All on one weekday means whole weeks apart (weekly); all on the 1st or all on the
    last day means 28+ days apart (monthly); only the other series can have dates a day apart
    (daily). With no weekly and no monthly series, or only one of them and no series that could
    be daily, the file holds one frequency; otherwise only the exact check can tell."""
    weekly, monthly, maybe_daily = con.execute(
        """WITH per AS (
               SELECT n, bit_count(weekdays) AS weekdays, month_start OR month_end AS month_edge FROM keys)
           SELECT count(*) FILTER (WHERE n >= 3 AND weekdays = 1),
                  count(*) FILTER (WHERE n >= 3 AND weekdays > 1 AND month_edge),
                  count(*) FILTER (WHERE n >= 2 AND weekdays > 1 AND NOT month_edge)
           FROM per"""
    ).fetchone()
    return (weekly > 0) + (monthly > 0) + (maybe_daily > 0 and (weekly > 0 or monthly > 0)) < 2


def _finish(con: duckdb.DuckDBPyConnection, m: Mapping, regs: list[str], freq: str, dates: list,
            sha256: str, name: str, out: Path | None) -> Prepared:
    """Last calendar check; the checked rows and the series keys (h, sku, store, has_rows, ...)
    stay in the private file `out`, which is closed for the merge to attach."""
    misaligned = check_alignment(dates, freq)
    if misaligned:
        raise ValidationError(
            f"{name}: dates {_capped(misaligned)} do not fall on the "
            f"{describe_freq(freq)} calendar of the rest of the data."
        )
    n_rows, n_series = con.execute("SELECT sum(n), count(*) FILTER (WHERE n > 0) FROM keys").fetchone()
    if out is not None:
        con.execute("USE memory")
        con.execute("DETACH prepared")
    return Prepared(
        path=out, regressors=list(regs), mapping=m, freq=freq, first_date=dates[0],
        last_date=dates[-1], sha256=sha256, file_name=name, n_rows=int(n_rows),
        n_series=int(n_series),
    )


def _sql_path(path: Path) -> str:
    """A path of ours (a temp folder) as a SQL string literal: ATTACH takes no bound values."""
    return str(path).replace("'", "''")


# Column names Prophet uses itself: a regressor with one of these names would break its fit.
RESERVED = {"ds", "y", "cap", "floor", "y_scaled", "cap_scaled", "trend", "additive_terms",
            "multiplicative_terms", "holidays", "zeros", "yhat", "weekly", "yearly", "daily",
            "extra_regressors_additive", "extra_regressors_multiplicative"}


def _refuse_reserved(regs: list[str], name: str) -> None:
    bad = [r for r in regs if r.strip().lower() in RESERVED or r.strip().lower().endswith(("_lower", "_upper"))]
    if bad:
        raise ValidationError(
            f"{name}: regressor column(s) {', '.join(map(repr, bad))} have names the forecasting models "
            "use themselves. Rename them (for example 'promo_flag') or leave them out of the mapping."
        )


def _duplicates(con: duckdb.DuckDBPyConnection) -> str | None:
    """The duplicate (SKU, store, date) rows, first groups and lines; None when there are none.
    Dates are shown as text: a year-0 date has no Python date."""
    dups = con.execute(
        """SELECT count(*) OVER (), sku, store, CAST(ds AS VARCHAR), list(_line ORDER BY _line)[1:?], count(*)
           FROM clean GROUP BY sku, store, ds HAVING count(*) > 1 ORDER BY min(_line) LIMIT ?""",
        [MAX_LINES, SHOW],
    ).fetchall()
    if dups:
        examples = "; ".join(
            f"SKU {_short(sku)} at store {_short(store)} on {ds} (lines {_capped(lines, n)})"
            for _n, sku, store, ds, lines, n in dups
        )
        return (
            f"{dups[0][0]:,} (SKU, store, date) combination(s) appear more than once: {examples}. "
            "Each SKU may have one row per store and date; add them up before uploading."
        )
    return None


def _sha256(files: Path | list[Path], stop: threading.Event | None = None) -> str:
    """Of the file, or of its parts in name order (the parts' bytes, one after the other)."""
    h = hashlib.sha256()
    for path in [files] if isinstance(files, Path) else files:
        with open(path, "rb") as f:
            for chunk in iter(lambda f=f: f.read(1 << 20), b""):
                if stop is not None and stop.is_set():
                    return ""
                h.update(chunk)
    return h.hexdigest()


class _Digest:
    """The files' SHA-256, computed in a thread while DuckDB reads and checks them (hashlib lets
    go of the GIL): on a 3 GB file, seconds of one core the upload would otherwise wait for at
    its end. Cancelled when the file is refused."""

    def __init__(self, files: list[Path]) -> None:
        self._stop = threading.Event()
        self._result: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(files,), name="shelfcast-sha256", daemon=True)
        self._thread.start()

    def _run(self, files: list[Path]) -> None:
        try:
            self._result = _sha256(files, self._stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by value()
            self._error = exc

    def value(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result or ""

    def cancel(self) -> None:
        self._stop.set()


def describe_freq(freq: str) -> str:
    if freq == "D":
        return "daily"
    if freq.startswith("W"):
        return f"weekly ({freq})"
    return {"MS": "monthly (month start)", "ME": "monthly (month end)"}.get(freq, freq)


def ingest(path: str | os.PathLike, actor: Actor, mapping: Mapping | None = None, *,
           db: str | os.PathLike | None = None, file_name: str | None = None,
           any_size: bool = False) -> IngestResult:
    """Validate a file (or a folder or glob of parts) and merge it into the store in one
    transaction (upsert by sku, store, date). The upload size limit is the browser's; the
    command line passes `any_size`. The store is held only for the merge, not while the file
    is read and checked, except for a first load (`_first_load`), when there is nothing to
    serve yet."""
    require(actor, "upload")
    result, store_freq, store_range = _first_load(path, actor, mapping, db, file_name, any_size)
    if result is None:
        with tempfile.TemporaryDirectory(prefix="shelfcast-ingest-") as tmp:
            prep = prepare(path, mapping, file_name=file_name, store_freq=store_freq,
                           store_range=store_range, out=Path(tmp) / "prepared.duckdb", any_size=any_size)
            with session(db, write=True) as s:
                result = _record(s, prep, actor, lambda ds_id: sales.merge(s, prep.path, prep.regressors, ds_id))
    for hook in AFTER_INGEST:
        hook(result, actor, db)
    return result


def _first_load(path: str | os.PathLike, actor: Actor, mapping: Mapping | None, db: str | os.PathLike | None,
                file_name: str | None, any_size: bool,
                ) -> tuple[IngestResult | None, str | None, tuple[date | None, date | None]]:
    """Into a store without series (a first load: the common case, and the benchmark's), the
    file is read on the store's own connection, holding its write lock, and its rows written
    once, not into a private file first and then again. A CSV is read straight into the store
    (core.ingest_stream: 1M rows 0.83-0.85 v 0.88-0.89 CPU-s, 7.3M 5.0 v 5.6-5.9, 73M 49.5 v
    ~62-70); a file that is not plain for that, or a Parquet file, up to FIRST_LOAD_BYTES is
    checked in temp tables there and merged from them. The store itself changes only in one
    transaction; a refused file leaves it unchanged as ever. Otherwise (the store has series,
    an Excel file, a bigger file that is not plain) it returns no result and the store's
    frequency and date range, for the ordinary path."""
    files, kind = parts(Path(path))
    kind = kind if len(files) > 1 else ACCEPTED.get(files[0].suffix.lower())
    readable = kind in ("csv", "parquet") and all(f.is_file() for f in files)
    fits = readable and _volume(files, kind) <= FIRST_LOAD_BYTES
    # A CSV is read straight into the store (core.ingest_stream), its rows written once; a file
    # that is not plain comes back to the checks here (or, too big for them, the ordinary path).
    streamed = readable and kind == "csv"
    with session(db, write=fits or streamed) as s:
        store_freq = datasets.get_setting(s, "freq")
        store_range = sales.date_range(s)
        con = raw(s)
        if not (fits or streamed) or not con.execute("SELECT NOT EXISTS (SELECT 1 FROM series)").fetchone()[0]:
            return None, store_freq, store_range
        con.execute("SET enable_progress_bar = false")  # drawn on stdout, where `--json` writes
        # The checks run outside a transaction, each statement committed (only temp objects of
        # this connection: the store is untouched until the merge): rows written inside an open
        # transaction are the transaction's own, which DuckDB scanned about twice as slowly.
        con.execute("COMMIT")
        if streamed:
            from core import ingest_stream

            name = file_name or Path(path).name
            result = ingest_stream._first_load(s, con, files, kind, mapping, name, store_range, actor, any_size)
            if result is not None or not fits:
                return result, store_freq, store_range
            con.execute("COMMIT")  # the empty transaction it left open: the checks run outside one
        try:
            prep = prepare(path, mapping, file_name=file_name, store_freq=store_freq,
                           store_range=store_range, any_size=any_size, con=con)
        except BaseException:
            _drop_temps(con)
            raise
        finally:
            con.execute("BEGIN TRANSACTION")
        result = _record(s, prep, actor, lambda ds_id: sales.merge_tables(s, "temp", prep.regressors, ds_id))
        _drop_temps(con)
        return result, store_freq, store_range


def _drop_temps(con: duckdb.DuckDBPyConnection) -> None:
    """A first load's temp objects: the store's connection may serve on (the app's keeper)."""
    for table in ("clean", "keys", "names", "cells", "sample", "series_kind"):
        con.execute(f"DROP TABLE IF EXISTS temp.{table}")
    for view in ("src", "src_typed", "src_file", "file_rows"):
        con.execute(f"DROP VIEW IF EXISTS temp.{view}")


def _record(s, prep: Prepared, actor: Actor, merge: Callable[[int], tuple[int, int]]) -> IngestResult:
    """The dataset record and the merge, in the caller's write transaction."""
    store_freq = datasets.get_setting(s, "freq")
    if store_freq and prep.freq != store_freq:
        raise ValidationError(
            f"{prep.file_name} holds {describe_freq(prep.freq)} data, but this store holds "
            f"{describe_freq(store_freq)} data."
        )
    ds_id = datasets.new_dataset(
        s, file_name=prep.file_name, sha256=prep.sha256, series_count=prep.n_series, first_date=prep.first_date,
        last_date=prep.last_date, freq=prep.freq, columns=json.dumps(asdict(prep.mapping)), created_by=actor.name)
    added, updated = merge(ds_id)
    datasets.set_rows(s, ds_id, added, updated)
    if not store_freq:
        datasets.set_setting(s, "freq", prep.freq)
    from core.store import registry, summaries

    return IngestResult(
        dataset_id=ds_id, file_name=prep.file_name, rows_added=added, rows_updated=updated,
        series=prep.n_series, first_date=prep.first_date, last_date=prep.last_date,
        freq=prep.freq, mapping=asdict(prep.mapping),
        known={"rollups_current": summaries.series_stats_current(s), "active_version": registry.active_version_id(s)},
    )


# Called after every accepted ingest, outside its transaction (monitoring re-evaluates alerts).
AFTER_INGEST: list = []


def _monitor(result: IngestResult, actor: Actor, db) -> None:
    """Re-evaluate alert rules on the new actuals (never raises; see core.monitoring). Without
    an active version there is nothing to monitor, and importing scipy costs seconds."""
    from core.store import registry

    known = getattr(result, "known", {})
    if "active_version" in known:
        if known["active_version"] is None:
            return
    else:
        with session(db) as s:
            if registry.active_version_id(s) is None:
                return
    from core import monitoring

    monitoring.after_ingest(result, actor, db)


AFTER_INGEST.append(_monitor)

import core.plan_rollups  # noqa: E402, F401 - registers the Forecast view's kept actuals refresh
import core.rollups  # noqa: E402, F401 - registers the sales rollup refresh (the Data page reads it)
