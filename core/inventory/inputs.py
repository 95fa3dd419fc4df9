"""Stock snapshots and replenishment policies, uploaded like sales.

The file is read with `core.ingest`'s reader (same formats, positional column names so header
text never reaches SQL; the upload size limit binds the browser, `any_size` is the command line's) into a private in-memory DuckDB. Unlike sales, every check
runs and every problem is reported in one message, so a planner fixes the file once; the store
is only opened to write after the whole file passed.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from core import ingest
from core.access import Actor, require
from core.errors import ValidationError
from core.inventory.policy import DEFAULTS
from core.store import inventory as inv
from core.store import sales, session

KINDS = ("stock", "policy")

ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("as_of", "snapshot_date", "stock_date", *ingest.ALIASES["date"]),
    "sku": ingest.ALIASES["sku"],
    "store": ingest.ALIASES["store"],
    "on_hand": ("on_hand", "onhand", "stock_on_hand", "soh", "stock", "inventory", "qty_on_hand",
                "on_hand_qty", "quantity", "qty", "units"),
    "lead_time": ("lead_time", "leadtime", "lead_time_periods", "lead_time_days", "lt"),
    "review_period": ("review_period", "review", "review_cycle", "order_cycle"),
    "service_level": ("service_level", "target_service_level", "csl", "service"),
    "pack_size": ("pack_size", "pack", "case_pack", "case_size", "pack_qty"),
    "min_order": ("min_order", "moq", "minimum_order", "min_order_qty"),
    "unit_cost": ("unit_cost", "cost", "cost_price", "unit_cost_price"),
    "price": ("price", "unit_price", "sell_price", "retail_price", "selling_price"),
}
ROLES = {
    "stock": ("date", "sku", "store", "on_hand"),
    "policy": ("sku", "store", *inv.POLICY_FIELDS),
}
REQUIRED = {"stock": ("sku", "on_hand"), "policy": ("sku",)}

# Policy field -> (SQL condition on the parsed value that is refused, what the value must be).
POLICY_RULES: dict[str, tuple[str, str]] = {
    "lead_time": ("v < 0 OR v <> floor(v)", "a whole number of periods, 0 or more"),
    "review_period": ("v < 1 OR v <> floor(v)", "a whole number of periods, 1 or more"),
    "service_level": ("v <= 0 OR v >= 1", "a fraction between 0 and 1 (0.95 for 95%)"),
    "pack_size": ("v <= 0", "more than 0"),
    "min_order": ("v < 0", "0 or more"),
    "unit_cost": ("v < 0", "0 or more"),
    "price": ("v < 0", "0 or more"),
}


@dataclass
class InventoryResult:
    dataset_id: int
    kind: str
    file_name: str
    rows: int
    mapping: dict
    defaults: dict = field(default_factory=dict)  # field -> {"value": v, "rows": n, "all": bool}

    def to_json(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        text = f"{self.file_name}: {self.rows} {self.kind} rows loaded (inventory dataset {self.dataset_id})"
        if self.defaults:
            parts = [f"{k} = {d['value']} ({'column absent' if d['all'] else str(d['rows']) + ' blank rows'})"
                     for k, d in self.defaults.items()]
            text += "; defaults used: " + ", ".join(parts)
        return text


def _mapping(columns: list[str], kind: str, given: dict[str, str] | None, name: str) -> dict[str, str]:
    given = {k: v for k, v in (given or {}).items() if v}
    unknown_roles = sorted(set(given) - set(ROLES[kind]))
    if unknown_roles:
        raise ValidationError(f"{name}: {', '.join(unknown_roles)} is not a {kind} column role; "
                              f"the roles are {', '.join(ROLES[kind])}.")
    out: dict[str, str] = {}
    for role in ROLES[kind]:
        if role in given:
            if given[role] not in columns:
                raise ValidationError(f"{name}: the column '{given[role]}' chosen for {role} is not in "
                                      f"the file. Its columns are: {', '.join(columns)}.")
            out[role] = given[role]
    lower = {c.lower().strip(): c for c in columns}
    for role in ROLES[kind]:
        if role in out:
            continue
        hit = next((lower[a] for a in ALIASES[role] if a in lower and lower[a] not in out.values()), None)
        if hit:
            out[role] = hit
    missing = [r for r in REQUIRED[kind] if r not in out]
    if missing:
        raise ValidationError(f"{name}: no column found for {', '.join(missing)}. The file's columns "
                              f"are: {', '.join(columns)}. Choose them in the column mapping.")
    return out


def inspect_inventory(path: str | os.PathLike, kind: str, file_name: str | None = None,
                      rows: int = 5) -> tuple[list[str], dict[str, str], object]:
    """The file's columns, the roles recognised from their names (possibly incomplete) and its
    first rows: what the upload form's column mapping starts from. Nothing is written."""
    if kind not in KINDS:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}.")
    path = Path(path)
    con = duckdb.connect()
    try:
        columns = ingest._load(path, con, file_name or path.name)
        preview = con.execute("SELECT * FROM raw LIMIT ?", [rows]).df()
        preview.columns = columns
    finally:
        con.close()
    lower = {c.lower().strip(): c for c in columns}
    guess: dict[str, str] = {}
    for role in ROLES[kind]:
        hit = next((lower[a] for a in ALIASES[role] if a in lower and lower[a] not in guess.values()), None)
        if hit:
            guess[role] = hit
    return columns, guess, preview


def _problem(con: duckdb.DuckDBPyConnection, where: str, shown: str, message: str) -> str | None:
    """One problem line ('{n}' rows and '{rows}' quoted) when any row of `clean` matches."""
    bad = con.execute(
        f"SELECT count(*) OVER (), _line, {shown} FROM clean WHERE {where} ORDER BY _line LIMIT {ingest.SHOW}"  # noqa: S608 - generated names (c0.., fields)
    ).fetchall()
    if not bad:
        return None
    return message.format(n=bad[0][0], rows=ingest._lines([(r[1], r[2]) for r in bad]))


def prepare(path: str | os.PathLike, kind: str, mapping: dict[str, str] | None, known: pa.Table,
            *, file_name: str | None = None, default_date=None,
            any_size: bool = False) -> tuple[pa.Table, dict, dict, str]:
    """Validate a stock or policy file against the store's series. Returns the clean rows, the
    mapping used, the defaults applied and the file's sha256; raises with every problem.
    `any_size`: the command line's read, which the browser's upload limit does not bind."""
    if kind not in KINDS:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}.")
    path = Path(path)
    name = file_name or path.name
    con = duckdb.connect()
    try:
        columns = ingest._load(path, con, name, any_size)
        if con.execute("SELECT count(*) FROM raw").fetchone()[0] == 0:
            raise ValidationError(f"{name} has a header but no data rows.")
        m = _mapping(columns, kind, mapping, name)
        q = {role: ingest._ident(columns, col) for role, col in m.items()}
        text = {role: f"nullif(trim(CAST({c} AS VARCHAR)), '')" for role, c in q.items()}
        store = (f"coalesce({text['store']}, '{ingest.DEFAULT_STORE}')" if kind == "stock"
                 else text["store"]) if "store" in q else (f"'{ingest.DEFAULT_STORE}'" if kind == "stock" else "NULL")
        select = ["rowid + 2 AS _line", f"{text['sku']} AS sku", f"{store} AS store"]
        numbers = ["on_hand"] if kind == "stock" else [f for f in inv.POLICY_FIELDS if f in q]
        for f in numbers:
            select += [f"{ingest._number_expr(q[f])} AS {f}", f"{text[f]} AS {f}_raw"]
        if kind == "stock" and "date" in q:
            date_sql, _fmt = ingest._date_expr(con, q["date"], m["date"], None, name)
            select += [f"{date_sql} AS as_of", f"{text['date']} AS as_of_raw"]
        elif kind == "stock":
            if default_date is None:
                raise ValidationError(f"{name}: the file has no date column and the store has no sales "
                                      "yet to date the snapshot by. Add a date column.")
            select += ["CAST(? AS DATE) AS as_of", "'' AS as_of_raw"]
        con.execute(f"CREATE TABLE clean AS SELECT {', '.join(select)} FROM raw",  # noqa: S608 - generated names (c0.., fields)
                    [default_date] if kind == "stock" and "date" not in q else [])
        con.register("known", known)
        problems = _problems(con, kind, m, numbers, name)
        if problems:
            raise ValidationError(
                f"{name}: {len(problems)} problem(s) found; nothing was loaded.\n- " + "\n- ".join(problems)
            )
        return _rows(con, kind, m, numbers, default_date), m, _defaults(con, kind, numbers, default_date, m), \
            ingest._sha256(path)
    finally:
        con.close()


def _problems(con: duckdb.DuckDBPyConnection, kind: str, m: dict, numbers: list[str], name: str) -> list[str]:
    checks: list[tuple[str, str, str]] = [
        ("sku IS NULL", "sku", f"{{n}} row(s) have no SKU in column '{m['sku']}' ({{rows}})."),
    ]
    if kind == "stock" and "date" in m:
        checks.append(("as_of IS NULL", "as_of_raw",
                       f"{{n}} row(s) have a date in column '{m['date']}' that could not be read ({{rows}})."))
    for f in numbers:
        checks.append((f"{f} IS NULL AND {f}_raw IS NOT NULL", f"{f}_raw",
                       f"{{n}} row(s) have text where column '{m[f]}' ({f}) needs a number ({{rows}})."))
    if kind == "stock":
        checks += [
            ("on_hand IS NULL AND on_hand_raw IS NULL", "on_hand_raw",
             f"{{n}} row(s) have no stock in column '{m['on_hand']}' ({{rows}})."),
            ("on_hand < 0", "on_hand_raw",
             f"{{n}} row(s) have negative stock in column '{m['on_hand']}' ({{rows}}); on hand is 0 or more."),
        ]
    for f in numbers if kind == "policy" else []:
        cond, need = POLICY_RULES[f]
        checks.append((f"({cond.replace('v', f)})", f"{f}_raw",
                       f"{{n}} row(s) have a {f.replace('_', ' ')} in column '{m[f]}' that is not {need} ({{rows}})."))
    checks.append(("sku IS NOT NULL AND sku NOT IN (SELECT sku FROM known)", "sku",
                   f"{{n}} row(s) name a SKU in column '{m['sku']}' that has no sales in this store "
                   "({rows}). Upload its sales first, or fix the SKU."))
    if "store" in m or kind == "stock":
        where = ("sku IN (SELECT sku FROM known) AND store IS NOT NULL AND "
                 "NOT EXISTS (SELECT 1 FROM known k WHERE k.sku = clean.sku AND k.store = clean.store)")
        col = f"in column '{m['store']}'" if "store" in m else "(no store column: 'all')"
        checks.append((where, "store",
                       f"{{n}} row(s) name a store {col} where that SKU has no sales ({{rows}})."))
    keys = "sku, store, as_of" if kind == "stock" else "sku, store"
    out = [p for where, shown, msg in checks if (p := _problem(con, where, shown, msg))]
    dups = con.execute(
        f"""SELECT count(*) OVER (), list(_line ORDER BY _line) FROM clean WHERE sku IS NOT NULL
            GROUP BY {keys} HAVING count(*) > 1 ORDER BY min(_line) LIMIT {ingest.SHOW}"""  # noqa: S608 - fixed names
    ).fetchall()
    if dups:
        what = "SKU, store and date" if kind == "stock" else "SKU and store"
        out.append(f"{dups[0][0]} {what} combination(s) appear more than once ("
                   + "; ".join("lines " + ", ".join(map(str, d[1])) for d in dups) + ").")
    return out


def _rows(con: duckdb.DuckDBPyConnection, kind: str, m: dict, numbers: list[str], default_date) -> pa.Table:
    if kind == "stock":
        return con.execute("SELECT sku, store, as_of, on_hand FROM clean").fetch_arrow_table()
    fields = []
    for f in inv.POLICY_FIELDS:
        cast = "INTEGER" if f in ("lead_time", "review_period") else "DOUBLE"
        fields.append(f"CAST({f'coalesce({f}, ?)' if f in numbers else '?'} AS {cast}) AS {f}")
    params = [DEFAULTS[f] for f in inv.POLICY_FIELDS]
    return con.execute(f"SELECT sku, store, {', '.join(fields)} FROM clean", params).fetch_arrow_table()  # noqa: S608 - generated names (c0.., fields)


def _defaults(con: duckdb.DuckDBPyConnection, kind: str, numbers: list[str], default_date, m: dict) -> dict:
    """Which fields took a default, with the value and on how many rows (all: column absent)."""
    n = con.execute("SELECT count(*) FROM clean").fetchone()[0]
    if kind == "stock":
        return {} if "date" in m else {"date": {"value": str(default_date), "rows": n, "all": True}}
    out = {}
    for f in inv.POLICY_FIELDS:
        if f not in numbers:
            out[f] = {"value": DEFAULTS[f], "rows": n, "all": True}
            continue
        blank = con.execute(f"SELECT count(*) FROM clean WHERE {f}_raw IS NULL").fetchone()[0]  # noqa: S608 - generated names (c0.., fields)
        if blank:
            out[f] = {"value": DEFAULTS[f], "rows": blank, "all": False}
    return out


def ingest_inventory(db: str | os.PathLike | None, actor: Actor, path: str | os.PathLike, kind: str,
                     mapping: dict[str, str] | None = None, *, file_name: str | None = None,
                     any_size: bool = False) -> InventoryResult:
    """Validate a stock or policy file and load it as a new inventory dataset version, in one
    transaction. A refused file changes nothing. `any_size` lifts the browser's upload limit
    (SHELFCAST_MAX_UPLOAD_MB): the command line passes it."""
    require(actor, "upload")
    with session(db) as s:
        known = inv.known_series(s)
        default_date = sales.counts(s)["last_date"]
    rows, m, defaults, sha = prepare(path, kind, mapping, known, file_name=file_name,
                                     default_date=default_date, any_size=any_size)
    name = file_name or Path(path).name
    with session(db, write=True) as s:
        d = inv.add_dataset(s, inv.InventoryDataset(
            kind=kind, file_name=name, sha256=sha, rows=rows.num_rows, columns=json.dumps(m),
            defaults=json.dumps(defaults, default=str), created_by=actor.name))
        (inv.insert_stock if kind == "stock" else inv.insert_policies)(s, rows, d.id)
        result = InventoryResult(dataset_id=int(d.id), kind=kind, file_name=name, rows=rows.num_rows,
                                 mapping=m, defaults=defaults)
    from core.inventory import proposals, simulate  # imported when needed: scipy and the maths

    proposals.refresh(db)  # the kept proposals and replays follow the new stock / policies
    simulate.refresh(db)
    return result
