"""Sales history in long format: one row per (series, date). A series is one SKU at one store.

`series_id` is the `unique_id` of the Nixtla/Prophet convention; `ds` and `y` keep their names.
Regressors (price, promo, temperature...) may run past the last actual (a promo plan), which is
how a model knows their future values. They are stored in slots, columns v{k} (the value) and
d{k} (its dataset id) per name, and `regressor_names` says which name slot k holds, so a name
(user text) never reaches DDL or SQL text:
- a date with a sale keeps its regressors in its `sales` row. There d{k} is NULL when the value
  came with the row's units (the row's dataset_id says where from), set only when a later file
  left the units alone (a plan) or an earlier value was kept (a blank cell); a slot is there when
  v{k} or d{k} is set. Written with the units, they cost one table write, not two: a second table
  with its own series id and date cost an ingest more than any check.
- a date without a sale (a plan past the last actual) is a row of `regressor_values`, where a
  slot is there when d{k} is set.
A (series, date) is in one of the two, never both. The view `regressors` (series_id, ds, name,
value, dataset_id) shows them long, as the table of that name once held them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlmodel import Session

from core.store import datasets
from core.store.db import raw
from core.store.schema import DDL

if TYPE_CHECKING:  # pandas costs a CLI command that does not read sales a second
    import duckdb
    import pandas as pd

DDL += [
    "CREATE SEQUENCE IF NOT EXISTS series_id_seq START 1",
    """CREATE TABLE IF NOT EXISTS series (
        series_id INTEGER PRIMARY KEY DEFAULT nextval('series_id_seq'),
        sku VARCHAR NOT NULL,
        store VARCHAR NOT NULL,
        UNIQUE (sku, store))""",
    # Slot columns v{k} DOUBLE, d{k} INTEGER are added to `sales` and `regressor_values` as
    # names appear (_add_slots).
    """CREATE TABLE IF NOT EXISTS sales (
        series_id INTEGER NOT NULL,
        ds DATE NOT NULL,
        y DOUBLE NOT NULL,
        dataset_id INTEGER NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS regressor_names (slot INTEGER PRIMARY KEY, name VARCHAR NOT NULL UNIQUE)",
    "CREATE TABLE IF NOT EXISTS regressor_values (series_id INTEGER NOT NULL, ds DATE NOT NULL)",
    lambda s: _regressors_layout(raw(s)),
    # Append-only audit of deleted date ranges (who, when, range, filters, rows, why).
    "CREATE SEQUENCE IF NOT EXISTS sales_deletions_id_seq START 1",
    """CREATE TABLE IF NOT EXISTS sales_deletions (
        id INTEGER PRIMARY KEY DEFAULT nextval('sales_deletions_id_seq'),
        dataset_id INTEGER NOT NULL,
        date_from DATE,
        date_to DATE,
        sku VARCHAR,
        store VARCHAR,
        sales_rows BIGINT NOT NULL,
        regressor_rows BIGINT NOT NULL,
        note VARCHAR NOT NULL,
        actor VARCHAR NOT NULL,
        deleted_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)""",
]

# The dataset id of the upload being merged, as SQL (a session variable: no id in SQL text).
_DATASET = "CAST(getvariable('shelfcast_dataset') AS INTEGER)"


def merge(s: Session, prepared: Path, regressors: list[str], dataset_id: int) -> tuple[int, int]:
    """Merge a validated file (the private DuckDB file `prepared`: tables keys (h, sku, store,
    has_rows) and clean (h, ds, y, plan, r0, r1, ...), see core.ingest) into the store; new
    values replace old ones for the same series and date. Returns (rows added, rows updated).

    Rows are keyed by series id once, through the small keys table, and read straight from the
    attached file: nothing passes through Python. Old rows are looked for only when some incoming
    series was already in the store, so a first load is a plain insert."""
    con = raw(s)
    con.execute("SET enable_progress_bar = false")  # drawn on stdout, where `--json` writes
    return merge_tables(s, _attach(s, con, prepared), regressors, dataset_id)


def merge_tables(s: Session, p: str, regressors: list[str], dataset_id: int) -> tuple[int, int]:
    """`merge` from the tables keys and clean of catalog `p`: the attached file, or `temp` when
    a first load was checked inside the store's own transaction (core.ingest)."""
    con = raw(s)
    slots = _add_slots(con, regressors) if regressors else {}  # DDL before any row is written
    mine: dict[int, str] = {}  # slot -> the file's column (the first, if a name is mapped twice)
    for i, name in enumerate(regressors):
        mine.setdefault(slots[name], f"r{i}")
    known = con.execute(f"SELECT count(*) FROM {p}.keys SEMI JOIN series USING (sku, store)").fetchone()[0]  # noqa: S608 - own alias
    con.execute(f"INSERT INTO series (sku, store) SELECT sku, store FROM {p}.keys "  # noqa: S608 - own alias
                "ANTI JOIN series USING (sku, store) WHERE has_rows ORDER BY 1, 2")
    con.execute(f"CREATE OR REPLACE TEMP TABLE incoming_ids AS SELECT k.h, s.series_id "  # noqa: S608 - own alias
                f"FROM {p}.keys k JOIN series s USING (sku, store)")
    con.execute("SET VARIABLE shelfcast_dataset = ?", [dataset_id])
    if known:
        updated = _merge_overlap(con, p, mine)
    else:
        _insert_new(con, p, mine)
        updated = 0
    # The sales rows of the file: each series' n (core.ingest._series_keys), not a scan of every row.
    total = con.execute(f"SELECT coalesce(sum(n), 0) FROM {p}.keys").fetchone()[0]  # noqa: S608 - own alias
    if not known:  # every series new: their rollup rows come from the file's per-series figures
        from core.store import summaries  # it imports this module

        summaries.add_new_series(s, f"{p}.keys", dataset_id)
    con.execute("DROP TABLE incoming_ids")
    return int(total - updated), int(updated)


def _insert_new(con: duckdb.DuckDBPyConnection, p: str, mine: dict[int, str]) -> None:
    """Every series of the file is new: its sales go in with their regressors (d{k} NULL: the
    row's dataset), its plan rows into `regressor_values`. One write per row, nothing to look up."""
    targets = "".join(f", v{k}" for k in mine)
    values = "".join(f", r.{c}" for c in mine.values())
    con.execute(f"INSERT INTO sales (series_id, ds, y, dataset_id{targets}) "  # noqa: S608 - own SQL
                f"SELECT i.series_id, r.ds, r.y, {_DATASET}{values} "
                f"FROM {p}.clean r JOIN incoming_ids i USING (h) WHERE NOT r.plan")
    if mine:
        targets = ", ".join(f"v{k}, d{k}" for k in mine)
        values = ", ".join(f"r.{c}, CASE WHEN r.{c} IS NOT NULL THEN {_DATASET} END" for c in mine.values())
        con.execute(f"INSERT INTO regressor_values (series_id, ds, {targets}) "  # noqa: S608 - own SQL
                    f"SELECT i.series_id, r.ds, {values} FROM {p}.clean r JOIN incoming_ids i USING (h) WHERE r.plan")


def insert_first(s: Session, rows: str, regressors: list[str], dataset_id: int) -> int:
    """A first load read straight from its file (core.ingest_stream): the series of temp table
    `names` (h, sku, store: the file's distinct SKU and store cells, keyed, with their cleaned
    names; two spellings of one name make one series), then the file's rows from temp view
    `rows` (h, ds, y, r0, r1, ...) in one insert: no checked copy of them in between. Returns
    the rows written."""
    con = raw(s)
    slots = _add_slots(con, regressors) if regressors else {}  # DDL before any row is written
    mine: dict[int, str] = {}  # slot -> the file's column (the first, if a name is mapped twice)
    for i, name in enumerate(regressors):
        mine.setdefault(slots[name], f"r{i}")
    # ids as the sequence would give them, drawn when the load stands (datasets.next_id)
    con.execute("INSERT INTO series (series_id, sku, store) SELECT ? + row_number() OVER (ORDER BY sku, store) - 1, "
                "sku, store FROM (SELECT DISTINCT sku, store FROM names)", [datasets.next_id(s, "series_id_seq")])
    con.execute("CREATE OR REPLACE TEMP TABLE incoming_ids AS SELECT n.h, s.series_id "
                "FROM names n JOIN series s USING (sku, store)")
    con.execute("SET VARIABLE shelfcast_dataset = ?", [dataset_id])
    targets = "".join(f", v{k}" for k in mine)
    values = "".join(f", r.{c}" for c in mine.values())
    n = con.execute(f"INSERT INTO sales (series_id, ds, y, dataset_id{targets}) "  # noqa: S608 - own names
                    f"SELECT i.series_id, r.ds, r.y, {_DATASET}{values} FROM {rows} r JOIN incoming_ids i USING (h)"
                    ).fetchone()[0]
    con.execute("DROP TABLE incoming_ids")
    return int(n)


def first_load_keys(s: Session, dup_bits: int) -> list[date]:
    """After `insert_first` (the store held no sales before it): the sales dates, in order, and
    temp table `keys`, one row per series with what the checks and the rollup need (series_id,
    n, weekdays, month_start, month_end, dup, first_date, last_date, units, zeros), as
    core.ingest._series_keys computes them from a file's checked rows: a date seen twice is found
    with a bitmap of the file's days per series while that fits in `dup_bits`."""
    con = raw(s)
    dates = [r[0] for r in con.execute("SELECT ds FROM sales GROUP BY ds ORDER BY ds").fetchall()]
    span = (dates[-1] - dates[0]).days + 1
    groups = con.execute("SELECT count(*) FROM series").fetchone()[0]
    if span * max(groups, 1) <= dup_bits:  # literals of our own numbers: bitstring_agg wants constants
        seen = f"bit_count(bitstring_agg(CAST(ds - DATE '{dates[0].isoformat()}' AS INTEGER), 0, {span - 1}))"
    else:
        seen = "count(DISTINCT ds)"
    # The rows of the open transaction: a second thread aggregating them doubled the statement's
    # CPU and gained no time (7.3M rows: 1.0-1.1 v 0.54 CPU-s, 0.55 s wall either way).
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.execute("SET threads = 1")
    try:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE keys AS
                        SELECT series_id, count(*) AS n, bit_or(1 << isodow(ds)) AS weekdays,
                               bool_and(day(ds) = 1) AS month_start, bool_and(day(ds + 1) = 1) AS month_end,
                               {seen} < count(*) AS dup, min(ds) AS first_date, max(ds) AS last_date,
                               sum(y) AS units, count(*) FILTER (WHERE y = 0) AS zeros
                        FROM sales GROUP BY series_id""")  # noqa: S608 - own SQL
    finally:
        con.execute("SET threads = ?", [threads])
    return dates


def _merge_overlap(con: duckdb.DuckDBPyConnection, p: str, mine: dict[int, str]) -> int:
    """Merge the file's rows over the stored ones of the same series and date, slot by slot: a
    sale takes the new units; a slot takes the file's value, and keeps the stored one (with its
    dataset id) where the file leaves it empty (another regressor, a blank cell, a plan row over
    a sale). Returns the sales rows replaced (a file holds one row per series and date)."""
    every = [r[0] for r in con.execute("SELECT slot FROM regressor_names ORDER BY slot").fetchall()]
    cols = "".join(f", r.{c}" for c in mine.values())
    con.execute(f"CREATE OR REPLACE TEMP TABLE incoming_rows AS SELECT i.series_id, r.ds, r.y, r.plan{cols} "  # noqa: S608 - own SQL
                f"FROM {p}.clean r JOIN incoming_ids i USING (h)")
    # The stored row of each key: a sale (o) or a plan (p), never both; a slot's dataset id made
    # explicit (e{k}: NULL = not there). Most stores hold no plans: no join for them.
    plans = con.execute("SELECT EXISTS (SELECT 1 FROM regressor_values)").fetchone()[0]
    old_v = {k: f"coalesce(o.v{k}, p.v{k})" if plans else f"o.v{k}" for k in every}
    old_e = {k: f"CASE WHEN o.v{k} IS NOT NULL OR o.d{k} IS NOT NULL THEN coalesce(o.d{k}, o.dataset_id) "
                f"ELSE {f'p.d{k}' if plans else 'NULL'} END" for k in every}
    slots = "".join(
        (f", CASE WHEN n.{mine[k]} IS NOT NULL THEN n.{mine[k]} ELSE {old_v[k]} END AS v{k}"
         f", CASE WHEN n.{mine[k]} IS NOT NULL THEN {_DATASET} ELSE {old_e[k]} END AS e{k}")
        if k in mine else f", {old_v[k]} AS v{k}, {old_e[k]} AS e{k}"
        for k in every)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE merged_rows AS
                    SELECT n.series_id, n.ds, CASE WHEN n.plan THEN o.y ELSE n.y END AS y,
                           CASE WHEN n.plan THEN o.dataset_id ELSE {_DATASET} END AS dataset_id,
                           o.y IS NOT NULL AND NOT n.plan AS replaced{slots}
                    FROM incoming_rows n LEFT JOIN sales o USING (series_id, ds)
                    {"LEFT JOIN regressor_values p USING (series_id, ds)" if plans else ""}""")  # noqa: S608 - own SQL
    for table in ("sales", "regressor_values") if plans else ("sales",):
        con.execute(f"DELETE FROM {table} USING incoming_rows i "  # noqa: S608 - own table names
                    f"WHERE {table}.series_id = i.series_id AND {table}.ds = i.ds")
    # In `sales` a slot's dataset id is NULL when it is the row's own (the common case).
    s_cols = "".join(f", v{k}, CASE WHEN v{k} IS NOT NULL AND e{k} = dataset_id THEN NULL ELSE e{k} END AS d{k}"
                     for k in every)
    con.execute(f"INSERT INTO sales BY NAME SELECT series_id, ds, y, dataset_id{s_cols} "  # noqa: S608 - slot numbers
                "FROM merged_rows WHERE y IS NOT NULL")
    if every:
        r_cols = "".join(f", v{k}, e{k} AS d{k}" for k in every)
        any_slot = " OR ".join(f"e{k} IS NOT NULL" for k in every)
        con.execute(f"INSERT INTO regressor_values BY NAME SELECT series_id, ds{r_cols} "  # noqa: S608 - slot numbers
                    f"FROM merged_rows WHERE y IS NULL AND ({any_slot})")
    updated = con.execute("SELECT count(*) FILTER (WHERE replaced) FROM merged_rows").fetchone()[0]
    con.execute("DROP TABLE incoming_rows")
    con.execute("DROP TABLE merged_rows")
    return int(updated)


# Memory for moving an older layout's regressors into the slots (once per store, on open).
MIGRATE_MEMORY = os.environ.get("SHELFCAST_MIGRATE_MEMORY", "2GB")


def _regressors_layout(con: duckdb.DuckDBPyConnection) -> None:
    """Bring an older store's regressors into this layout, then (re)make the view. Runs with the
    schema, in its transaction: a store migrates on open. Two older layouts:
    - a long `regressors` table (series_id, ds, name, value, dataset_id): grouped into slots;
    - every regressor row in `regressor_values` (no slot columns in `sales`): the rows of dates
      with a sale move into their sales rows."""
    kind = con.execute(
        """SELECT table_type FROM information_schema.tables
           WHERE table_catalog = current_database() AND table_schema = 'main' AND table_name = 'regressors'"""
    ).fetchone()
    long = bool(kind and kind[0] == "BASE TABLE")
    names = [r[0] for r in con.execute("SELECT DISTINCT name FROM regressors ORDER BY 1").fetchall()] if long else []
    have = {r[0] for r in con.execute(
        """SELECT column_name FROM information_schema.columns
           WHERE table_catalog = current_database() AND table_schema = 'main' AND table_name = 'sales'""").fetchall()}
    slots = [r[0] for r in con.execute("SELECT slot FROM regressor_names ORDER BY slot").fetchall()]
    wide = any(f"v{k}" not in have for k in slots)
    if not (long or wide):
        _regressors_view(con)
        return
    limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    con.execute("SET memory_limit = ?", [MIGRATE_MEMORY])  # a big store's rows: bounded, spilling past it
    try:
        for k in slots:  # slots the older layout gave `regressor_values` only
            con.execute(f"ALTER TABLE sales ADD COLUMN IF NOT EXISTS v{k} DOUBLE")
            con.execute(f"ALTER TABLE sales ADD COLUMN IF NOT EXISTS d{k} INTEGER")
        if long:
            by_slot = _add_slots(con, names, view=False)
            cols = ", ".join(f"first(value) FILTER (WHERE slot = {k}) AS v{k}, "
                             f"first(dataset_id) FILTER (WHERE slot = {k}) AS d{k}" for k in sorted(by_slot.values()))
            if cols:
                con.execute(f"INSERT INTO regressor_values BY NAME SELECT series_id, ds, {cols} "  # noqa: S608 - slot numbers
                            "FROM regressors JOIN regressor_names USING (name) GROUP BY series_id, ds")
            con.execute("DROP TABLE regressors")
        _move_to_sales(con)
    finally:
        con.execute("SET memory_limit = ?", [limit])
    _regressors_view(con)


def _move_to_sales(con: duckdb.DuckDBPyConnection) -> None:
    """Move the `regressor_values` rows of dates with a sale into their sales rows (a slot's
    dataset id kept only where it is not the row's own), leaving there only dates without one."""
    every = [r[0] for r in con.execute("SELECT slot FROM regressor_names ORDER BY slot").fetchall()]
    if not every:
        return
    sets = ", ".join(f"v{k} = r.v{k}, d{k} = CASE WHEN r.v{k} IS NOT NULL AND r.d{k} = sales.dataset_id "
                     f"THEN NULL ELSE r.d{k} END" for k in every)
    con.execute(f"UPDATE sales SET {sets} FROM regressor_values r "  # noqa: S608 - slot numbers
                "WHERE sales.series_id = r.series_id AND sales.ds = r.ds")
    con.execute("""DELETE FROM regressor_values USING sales
                   WHERE regressor_values.series_id = sales.series_id AND regressor_values.ds = sales.ds""")


def _regressors_view(con: duckdb.DuckDBPyConnection) -> None:
    """The long view over the slots: per slot, a branch over `sales` and one over
    `regressor_values`; only slot numbers are SQL text."""
    slots = [r[0] for r in con.execute("SELECT slot FROM regressor_names ORDER BY slot").fetchall()]
    branches = [
        branch
        for k in slots
        for branch in (
            f"SELECT v.series_id, v.ds, n.name, v.v{k} AS value, coalesce(v.d{k}, v.dataset_id) AS dataset_id "  # noqa: S608 - slot numbers
            f"FROM sales v, regressor_names n WHERE n.slot = {k} AND (v.v{k} IS NOT NULL OR v.d{k} IS NOT NULL)",
            f"SELECT v.series_id, v.ds, n.name, v.v{k} AS value, v.d{k} AS dataset_id "  # noqa: S608 - slot numbers
            f"FROM regressor_values v, regressor_names n WHERE n.slot = {k} AND v.d{k} IS NOT NULL",
        )
    ] or ["SELECT CAST(NULL AS INTEGER) AS series_id, CAST(NULL AS DATE) AS ds, CAST(NULL AS VARCHAR) AS name, "
          "CAST(NULL AS DOUBLE) AS value, CAST(NULL AS INTEGER) AS dataset_id WHERE false"]
    con.execute("CREATE OR REPLACE VIEW regressors AS " + " UNION ALL ".join(branches))


def _add_slots(con: duckdb.DuckDBPyConnection, names: list[str], view: bool = True) -> dict[str, int]:
    """The slot of every name, giving new names the next free slots (two columns each, in both
    tables)."""
    slots = dict(con.execute("SELECT name, slot FROM regressor_names").fetchall())
    new = [n for n in dict.fromkeys(names) if n not in slots]
    for name in new:
        k = max(slots.values(), default=-1) + 1
        con.execute("INSERT INTO regressor_names (slot, name) VALUES (?, ?)", [k, name])
        for table in ("sales", "regressor_values"):
            con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS v{k} DOUBLE")
            con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS d{k} INTEGER")
        slots[name] = k
    if new and view:
        _regressors_view(con)
    return slots


def _attach(s: Session, con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """Attach the prepared file read-only under a fresh name, detached when the transaction
    ends (DuckDB refuses to detach a database the open transaction has read; the store's
    instance may be shared by the server's other sessions, so it must not stay attached)."""
    from sqlalchemy import event

    alias = f"prepared_{secrets.token_hex(6)}"
    con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS {alias} (READ_ONLY)")

    def detach(*_: object) -> None:
        with contextlib.suppress(Exception):  # a closed connection has detached it already
            con.execute(f"DETACH DATABASE IF EXISTS {alias}")

    event.listen(s, "after_commit", detach, once=True)
    event.listen(s, "after_rollback", detach, once=True)
    return alias


def counts(s: Session) -> dict:
    row = s.execute(
        text(
            """SELECT (SELECT count(*) FROM sales), (SELECT count(DISTINCT series_id) FROM sales),
                      (SELECT count(DISTINCT sku) FROM series), (SELECT count(DISTINCT store) FROM series),
                      (SELECT min(ds) FROM sales), (SELECT max(ds) FROM sales)"""
        )
    ).one()
    keys = ("rows", "series", "skus", "stores", "first_date", "last_date")
    return dict(zip(keys, row, strict=True))


def series_summary(s: Session) -> pd.DataFrame:
    """Per series: span, number of periods, total and mean units, share of zero periods."""
    return raw(s).execute(
        """SELECT se.sku, se.store, min(ds) AS first_date, max(ds) AS last_date,
                  count(*) AS periods, sum(y) AS total_units, avg(y) AS mean_units,
                  avg(CASE WHEN y = 0 THEN 1 ELSE 0 END) AS zero_share
           FROM sales JOIN series se USING (series_id)
           GROUP BY se.sku, se.store ORDER BY se.sku, se.store"""
    ).df()


def skus(s: Session) -> list[str]:
    return [r[0] for r in raw(s).execute("SELECT DISTINCT sku FROM series ORDER BY 1").fetchall()]


def stores(s: Session) -> list[str]:
    return [r[0] for r in raw(s).execute("SELECT DISTINCT store FROM series ORDER BY 1").fetchall()]


def history(s: Session, sku: str, store: str | None = None) -> pd.DataFrame:
    """One SKU's units by date, at one store or summed over stores."""
    return raw(s).execute(
        """SELECT ds, sum(y) AS y FROM sales JOIN series USING (series_id)
           WHERE sku = ? AND (? IS NULL OR store = ?) GROUP BY ds ORDER BY ds""",
        [sku, store, store],
    ).df()


def load_sales(s: Session, until: date | None = None) -> pd.DataFrame:
    """All series in long format: series_id, sku, store, ds, y (ordered)."""
    return raw(s).execute(
        """SELECT series_id, sku, store, ds, y FROM sales JOIN series USING (series_id)
           WHERE ? IS NULL OR ds <= ? ORDER BY series_id, ds""",
        [until, until],
    ).df()


def load_regressors(s: Session) -> pd.DataFrame:
    """Regressors wide: series_id, ds, one column per regressor name (pivoted in DuckDB)."""
    con = raw(s)
    if not con.execute("SELECT count(*) FROM regressors").fetchone()[0]:
        import pandas as pd

        return pd.DataFrame(columns=["series_id", "ds"])
    return con.execute(
        "PIVOT (SELECT series_id, ds, name, value FROM regressors) ON name USING first(value) "
        "GROUP BY series_id, ds ORDER BY series_id, ds"
    ).df()


def regressors_wide(s: Session, names: list[str]) -> pd.DataFrame:
    """series_id, ds and one column per name (in `names` order), one row per series and date
    that has any of them: what core.store.training_reads.regressors_wide returns, read from the
    slots directly instead of unpivoting them through the `regressors` view and back."""
    import pandas as pd

    con = raw(s)
    slots = dict(con.execute("SELECT name, slot FROM regressor_names").fetchall())
    known = [slots[n] for n in names if n in slots]
    if not names or not known:
        return pd.DataFrame(columns=["series_id", "ds", *names])
    # A slot is there in `sales` when its value or dataset id is set, in `regressor_values`
    # when its dataset id is (see the module's docstring).
    there = {"sales": "(v{k} IS NOT NULL OR d{k} IS NOT NULL)", "regressor_values": "d{k} IS NOT NULL"}
    reads = []
    for table, cond in there.items():
        cols = ", ".join(f"CASE WHEN {cond.format(k=slots[n])} THEN v{slots[n]} END AS r{i}" if n in slots
                         else f"CAST(NULL AS DOUBLE) AS r{i}" for i, n in enumerate(names))
        have = " OR ".join(cond.format(k=k) for k in known)
        reads.append(f"SELECT series_id, ds, {cols} FROM {table} WHERE {have}")  # noqa: S608 - slot numbers
    df = con.execute(" UNION ALL ".join(reads) + " ORDER BY series_id, ds").df()
    df.columns = ["series_id", "ds", *names]
    df["ds"] = pd.to_datetime(df["ds"])
    return df


def data_hash(s: Session) -> str:
    """An order-independent fingerprint of the sales and regressor contents, for lineage."""
    row = raw(s).execute(
        """SELECT (SELECT coalesce(bit_xor(hash(series_id, ds, y)), 0) FROM sales),
                  (SELECT coalesce(bit_xor(hash(series_id, ds, name, value)), 0) FROM regressors),
                  (SELECT count(*) FROM sales)"""
    ).fetchone()
    return f"{row[0]:016x}{row[1]:016x}-{row[2]}"


def date_range(s: Session) -> tuple[date | None, date | None]:
    """The first and last sales dates, clamped to what Python dates can hold (a store written
    before dates were checked may hold year 0 or 10000)."""
    row = raw(s).execute(
        """SELECT CASE WHEN count(*) > 0 THEN greatest(min(ds), DATE '0001-01-01') END,
                  CASE WHEN count(*) > 0 THEN least(max(ds), DATE '9999-12-31') END
           FROM sales"""
    ).fetchone()
    return row[0], row[1]


def _mark_range(s: Session, date_from: date | None, date_to: date | None, sku: str | None,
                store: str | None) -> None:
    """Temp table `del_keys` (table, series_id, ds) of the rows a range deletion covers; an open
    bound or filter is NULL. Literal SQL with bound values only."""
    raw(s).execute(
        """CREATE OR REPLACE TEMP TABLE del_keys AS
           WITH ids AS (SELECT series_id FROM series
                        WHERE ($3 IS NULL OR sku = $3) AND ($4 IS NULL OR store = $4))
           SELECT 'sales' AS tbl, series_id, ds FROM sales JOIN ids USING (series_id)
           WHERE ($1 IS NULL OR ds >= $1) AND ($2 IS NULL OR ds <= $2)
           UNION ALL
           SELECT 'regressors', series_id, ds FROM regressors JOIN ids USING (series_id)
           WHERE ($1 IS NULL OR ds >= $1) AND ($2 IS NULL OR ds <= $2)""",
        [date_from, date_to, sku, store],
    )


def range_extent(s: Session, date_from: date | None, date_to: date | None, sku: str | None,
                 store: str | None) -> tuple[int, int, int, date | None, date | None]:
    """What a deletion would remove: sales rows, regressor rows, series, first and last date
    (clamped to Python's dates: a store from before dates were checked may hold year 10000)."""
    _mark_range(s, date_from, date_to, sku, store)
    row = raw(s).execute(
        """SELECT count(*) FILTER (WHERE tbl = 'sales'), count(*) FILTER (WHERE tbl = 'regressors'),
                  count(DISTINCT series_id) FILTER (WHERE tbl = 'sales'),
                  CASE WHEN count(*) > 0 THEN greatest(min(ds), DATE '0001-01-01') END,
                  CASE WHEN count(*) > 0 THEN least(max(ds), DATE '9999-12-31') END
           FROM del_keys"""
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2]), row[3], row[4]


def delete_range(s: Session, date_from: date | None, date_to: date | None, sku: str | None,
                 store: str | None, dataset_id: int, note: str, actor: str) -> tuple[int, int]:
    """Delete sales and regressor rows in a date range (optionally one SKU and/or store) and
    record it in sales_deletions. Returns (sales rows, regressor rows) deleted."""
    con = raw(s)
    _mark_range(s, date_from, date_to, sku, store)
    n_sales = con.execute(
        """DELETE FROM sales USING del_keys k
           WHERE k.tbl = 'sales' AND sales.series_id = k.series_id AND sales.ds = k.ds"""
    ).fetchone()[0]
    # del_keys holds a row per regressor value (the view is long); a wide row holds them all.
    n_regs = con.execute("SELECT count(*) FROM del_keys WHERE tbl = 'regressors'").fetchone()[0]
    con.execute(
        """DELETE FROM regressor_values USING (SELECT DISTINCT series_id, ds FROM del_keys WHERE tbl = 'regressors') k
           WHERE regressor_values.series_id = k.series_id AND regressor_values.ds = k.ds""")
    con.execute("DROP TABLE del_keys")
    con.execute(
        """INSERT INTO sales_deletions (dataset_id, date_from, date_to, sku, store, sales_rows,
                                        regressor_rows, note, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [dataset_id, date_from, date_to, sku, store, n_sales, n_regs, note, actor],
    )
    return int(n_sales), int(n_regs)


def deletions(s: Session) -> pd.DataFrame:
    """The deletion audit, newest first."""
    return raw(s).execute("SELECT * FROM sales_deletions ORDER BY id DESC").df()
