"""A first load of a big CSV file, read straight into the store: no checked copy of its rows.

Why: past SHELFCAST_INGEST_FIRST_LOAD_MB a first load went the ordinary way, through a private
file of checked rows that was written, read twice (the series' figures, then the merge) and
written again into `sales`, with a second read of the file for the series' names: 73M rows cost
~1.5x DuckDB's own read_csv of the file. Here the file is read twice, but each read does only
what it must: one read of the SKU and store cells gives the series (their names cleaned once
each), and one typed read writes the rows into `sales`, keyed through them. Every row check a
good file passes is made on that read, and a row that fails one fails the insert; the series'
figures (duplicates, frequency, the rollup) come from the rows just written.

Anything but a plain file (a row to refuse, a plan row, a cell the typed reader refuses, a
duplicate, a frequency that needs the row-by-row check) rolls the transaction back and the
ordinary path reads the file again: it decides, and explains a refusal line by line, as ever.
The store changes only in the one transaction, committed by the caller's session.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import duckdb

from core.access import Actor, require
from core.errors import ValidationError
from core.freq import check_alignment, infer_freq
from core.ingest import (
    DEFAULT_STORE,
    DUP_BITS,
    MAX_SALTS,
    IngestResult,
    Mapping,
    _check_file,
    _Digest,
    _drop_temps,
    _ident,
    _key_sql,
    _mapped,
    _one_freq,
    _refuse_reserved,
    _typed_view,
    _window,
)
from core.store import datasets, registry, sales, summaries

# The rows the streamed insert refuses: a message for the log only (the ordinary path explains).
_ROW_CHECK = "shelfcast: a row the ordinary path must explain"


class _NotPlain(Exception):
    """The file needs the ordinary path (see the module's docstring)."""


def _first_load(s, con: duckdb.DuckDBPyConnection, files: list[Path], kind: str, mapping: Mapping | None,
               name: str, store_range, actor: Actor, any_size: bool) -> IngestResult | None:
    """Load `files` into the store of session `s` (no series yet; `con` its connection, outside
    a transaction). Returns None, the store as it was, when the file needs the ordinary path.
    On return or raise a transaction is open on `con` again, as the session expects: the
    load's own, to commit, or an empty one. Private: core.ingest.ingest is the way in (it
    requires the upload permission, as this does again)."""
    require(actor, "upload")
    in_txn = False
    digest = _Digest(files)
    try:
        if len(files) == 1:
            _check_file(files[0], name, any_size)
        regs, mapped = _series(con, files, kind, mapping, name, store_range)
        con.execute("BEGIN TRANSACTION")
        in_txn = True
        result = _write(s, con, regs, mapped, name, digest, actor)
        _drop_temps(con)
        return result
    except BaseException as exc:
        digest.cancel()
        if in_txn:
            con.execute("ROLLBACK")
        _drop_temps(con)
        con.execute("BEGIN TRANSACTION")
        if isinstance(exc, _NotPlain):
            return None
        raise


def _series(con: duckdb.DuckDBPyConnection, files: list[Path], kind: str, mapping: Mapping | None, name: str,
            store_range) -> tuple[list[str], Mapping]:
    """The file's mapping; temp table `names` (h, sku, store, n: its distinct SKU and store
    cells, keyed by a hash no two of them share, with the cleaned names and their rows); temp
    view `file_rows` (h, ds, y, r0, r1, ...), the typed read that fails on a row to refuse."""
    columns, m, _date_sql = _mapped(con, files, kind, name, mapping)
    if kind != "csv" or m.date_format != "%Y-%m-%d":
        raise _NotPlain
    date_q, sku_q, qty_q = (_ident(columns, c) for c in (m.date, m.sku, m.qty))
    store_q = _ident(columns, m.store) if m.store else "CAST(NULL AS VARCHAR)"
    regs = m.regressors or []
    _refuse_reserved(regs, name)
    numbers = [qty_q] + [_ident(columns, r) for r in regs]
    if _typed_view(con, kind, columns, date_q, numbers) != {date_q, *numbers}:
        raise _NotPlain
    con.execute(f"""CREATE OR REPLACE TEMP TABLE cells AS
                    SELECT sku_cell, store_cell, nullif(trim(sku_cell), '') AS sku,
                           coalesce(nullif(trim(store_cell), ''), '{DEFAULT_STORE}') AS store, n
                    FROM (SELECT {sku_q} AS sku_cell, {store_q} AS store_cell, count(*) AS n FROM src GROUP BY ALL)""")  # noqa: S608 - own SQL
    if con.execute("SELECT count(*) FILTER (WHERE sku IS NULL) FROM cells").fetchone()[0]:
        raise _NotPlain
    for salt in range(MAX_SALTS):  # a hash two cells share (1 in 10^8 for a million series): another
        key = _key_sql(salt, cleaned=False)
        con.execute(f"CREATE OR REPLACE TEMP TABLE names AS SELECT {key} AS h, sku, store, n FROM cells")  # noqa: S608 - own SQL
        if con.execute("SELECT count(DISTINCT h) = count(*) FROM names").fetchone()[0]:
            break
    else:
        raise _NotPlain
    lo, hi = _window(store_range)
    refused = f"ds IS NULL OR ds < DATE '{lo}' OR ds > DATE '{hi}' OR y IS NULL OR y < 0"
    cols = "".join(f", {q} AS r{i}" for i, q in enumerate(numbers[1:]))
    con.execute(f"""CREATE OR REPLACE TEMP VIEW file_rows AS
                    SELECT {key} AS h, ds, CASE WHEN {refused} THEN error('{_ROW_CHECK}') ELSE y END AS y
                           {"".join(f", r{i}" for i in range(len(regs)))}
                    FROM (SELECT {sku_q} AS sku_cell, {store_q} AS store_cell, {date_q} AS ds, {qty_q} AS y{cols}
                          FROM src_typed)""")  # noqa: S608 - own SQL
    return regs, m


def _write(s, con: duckdb.DuckDBPyConnection, regs: list[str], m: Mapping, name: str, digest: _Digest,
           actor: Actor) -> IngestResult:
    """The dataset record, the series and the rows, then the checks on the rows written and the
    record completed: one transaction (the caller's)."""
    store_freq = datasets.get_setting(s, "freq")
    ds_id = datasets.new_dataset(s, file_name=name, sha256="", series_count=0, first_date=None, last_date=None,
                                 freq="", columns=json.dumps(asdict(m)), created_by=actor.name,
                                 id=datasets.next_id(s, "datasets_id_seq"))
    try:
        added = sales.insert_first(s, "file_rows", regs, ds_id)
    except (duckdb.OutOfMemoryException, duckdb.InterruptException):
        raise
    except duckdb.Error as exc:  # a row to refuse or explain, a cell the typed reader refuses
        raise _NotPlain from exc
    if added != con.execute("SELECT sum(n) FROM names").fetchone()[0]:
        raise ValidationError(f"{name} changed while it was being read. Nothing was loaded; upload it again.")
    dates = sales.first_load_keys(s, DUP_BITS)
    dup, n_series = con.execute("SELECT bool_or(dup), count(*) FROM keys").fetchone()
    if dup or not _one_freq(con):  # the row-by-row checks of the ordinary path decide and explain
        raise _NotPlain
    try:
        freq = infer_freq({(b - a).days for a, b in zip(dates, dates[1:], strict=False)}, dates, store_freq)
    except ValidationError as exc:
        raise _NotPlain from exc
    if (store_freq and freq != store_freq) or check_alignment(dates, freq):
        raise _NotPlain
    datasets.complete(s, ds_id, sha256=digest.value(), series_count=n_series, first_date=dates[0],
                      last_date=dates[-1], freq=freq, rows_added=added)
    if not store_freq:
        datasets.set_setting(s, "freq", freq)
    summaries.add_new_series(s, "keys", ds_id, by_id=True)
    # The load stands: the ids it took are drawn (a back-out above drew none; see datasets.next_id)
    datasets.draw_to(s, "datasets_id_seq", ds_id)
    datasets.draw_to(s, "series_id_seq", con.execute("SELECT max(series_id) FROM keys").fetchone()[0])
    return IngestResult(
        dataset_id=ds_id, file_name=name, rows_added=added, rows_updated=0, series=n_series,
        first_date=dates[0], last_date=dates[-1], freq=freq, mapping=asdict(m),
        known={"rollups_current": summaries.series_stats_current(s), "active_version": registry.active_version_id(s)},
    )
