"""Per-version rollups of the chosen backtests, which Compare, the gate and Train read instead of
every backtest row (at 100,000 series a version holds 4-12M of them, and Compare grouped them
all on every view).

A ready version's backtests and forecasts never change, so its rollups are built once: by the
write that makes it ready (`build(s, vid)` in training's final transaction) and, for versions
made before this module existed, on open (the DDL below, run when the store code changes). A
version without rollups (`built` says which) is read from the raw rows, with the same SQL
shape, so a missing build is slow, never wrong.

- version_pooled:  pooled WAPE of the chosen backtests (the leaderboard, the gate's no-common-
                   ground message), exactly the SQL of core.store.registry.pooled_wape;
- version_series:  per series, the serving model and its backtest abs_err, abs_y, points
                   (Compare at SKU x store, the serving model of every series for Train);
- version_sku_bt:  per SKU, fold and date, the stores' actuals and predictions summed (Compare at
                   SKU level and its one-SKU chart): sums of all rows (the chart) and of rows
                   with both sides present (the WAPE);
- version_cutoff:  per series and cut-off, abs_err, abs_y, points and a fingerprint of the
                   dates (the gate's common ground: two versions' (series, cut-off) cells share
                   every point when points and fingerprints agree).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from core.store import metrics, sales, versions  # noqa: F401 - tables and macros we read
from core.store.db import raw
from core.store.schema import DDL

if TYPE_CHECKING:
    import pandas as pd

# Each rollup's SELECT over `chosen_backtests(ids)` / `serving_models(ids)` for a list `ids`
# (a bound list, or the SQL of one in the migration below).
_POOLED = """SELECT version_id, metric_wape(y, yhat) AS wape FROM chosen_backtests({ids})
              WHERE y IS NOT NULL AND yhat IS NOT NULL GROUP BY version_id"""
_SERIES = """SELECT sm.version_id, sm.series_id, sm.model, e.abs_err, e.abs_y, coalesce(e.n, 0) AS n
              FROM serving_models({ids}) sm LEFT JOIN (
                  SELECT version_id, series_id, metric_abs_err(y, yhat) AS abs_err,
                         metric_abs_y(y, yhat) AS abs_y, count(*) AS n
                  FROM chosen_backtests({ids}) WHERE y IS NOT NULL AND yhat IS NOT NULL GROUP BY version_id, series_id
              ) e USING (version_id, series_id)"""
_SKU_BT = """SELECT version_id, se.sku, fold, min(cutoff) AS cutoff, ds, sum(y) AS y, sum(yhat) AS yhat,
                     sum(y) FILTER (WHERE y IS NOT NULL AND yhat IS NOT NULL) AS y_ok, sum(yhat) FILTER (WHERE y IS NOT NULL AND yhat IS NOT NULL) AS yhat_ok,
                     count(*) FILTER (WHERE y IS NOT NULL AND yhat IS NOT NULL) AS n_ok
              FROM chosen_backtests({ids}) JOIN series se USING (series_id)
              GROUP BY version_id, se.sku, fold, ds"""
_CUTOFF = """SELECT version_id, series_id, cutoff, metric_abs_err(y, yhat) AS abs_err,
                     metric_abs_y(y, yhat) AS abs_y, count(*) AS n, bit_xor(hash(ds)) AS ds_hash
              FROM chosen_backtests({ids}) WHERE y IS NOT NULL AND yhat IS NOT NULL GROUP BY version_id, series_id, cutoff"""
TABLES = {"version_pooled": _POOLED, "version_series": _SERIES, "version_sku_bt": _SKU_BT,
          "version_cutoff": _CUTOFF}

# Ready versions without rollups: the migration builds these.
_MISSING = ("(SELECT list(id) FROM versions WHERE status = 'ready' "
            "AND id NOT IN (SELECT version_id FROM version_rollups))")

DDL += [
    "CREATE TABLE IF NOT EXISTS version_rollups (version_id INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS version_pooled (version_id INTEGER NOT NULL, wape DOUBLE)",
    """CREATE TABLE IF NOT EXISTS version_series (version_id INTEGER NOT NULL, series_id INTEGER NOT NULL,
        model VARCHAR, abs_err DOUBLE, abs_y DOUBLE, n BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS version_sku_bt (version_id INTEGER NOT NULL, sku VARCHAR NOT NULL,
        fold INTEGER, cutoff DATE, ds DATE, y DOUBLE, yhat DOUBLE, y_ok DOUBLE, yhat_ok DOUBLE,
        n_ok BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS version_cutoff (version_id INTEGER NOT NULL, series_id INTEGER NOT NULL,
        cutoff DATE, abs_err DOUBLE, abs_y DOUBLE, n BIGINT NOT NULL, ds_hash UBIGINT)""",
    # Migration on open: rollups for every ready version that has none (their rows first, the
    # marks last, so a failure leaves nothing marked).
    *(f"INSERT INTO {t} {sql.format(ids=_MISSING)}" for t, sql in TABLES.items()),
    f"INSERT INTO version_rollups SELECT unnest({_MISSING})",  # noqa: S608 - own SQL
]


def build(s: Session, version_id: int) -> None:
    """The version's rollups, in the caller's transaction (the one that makes it ready). A
    second call for the same version changes nothing."""
    con = raw(s)
    if con.execute("SELECT count(*) FROM version_rollups WHERE version_id = ?", [version_id]).fetchone()[0]:
        return
    for table, sql in TABLES.items():
        con.execute(f"INSERT INTO {table} {sql.format(ids='?')}",  # noqa: S608 - own SQL
                    [[version_id]] * sql.count("{ids}"))
    con.execute("INSERT INTO version_rollups VALUES (?)", [version_id])


def built(s: Session, version_ids: list[int]) -> set[int]:
    """Which of these versions have rollups."""
    if not version_ids:
        return set()
    return {int(r[0]) for r in raw(s).execute(
        "SELECT version_id FROM version_rollups WHERE list_contains(?, version_id)", [list(version_ids)]).fetchall()}


def _split(s: Session, version_ids: list[int]) -> tuple[list[int], list[int]]:
    done = built(s, version_ids)
    return [v for v in version_ids if v in done], [v for v in version_ids if v not in done]


def pooled_wape(s: Session, version_ids: list[int]) -> dict[int, float | None]:
    """core.store.registry.pooled_wape, from the rollup where built."""
    out: dict[int, float | None] = dict.fromkeys(version_ids)
    have, rest = _split(s, list(version_ids))
    rows = []
    if have:
        rows += raw(s).execute("SELECT version_id, wape FROM version_pooled WHERE list_contains(?, version_id)",
                               [have]).fetchall()
    if rest:
        rows += raw(s).execute(_POOLED.format(ids="?"), [rest]).fetchall()
    out.update({int(v): (None if w is None else float(w)) for v, w in rows})
    return out


def per_sku_wape(s: Session, version_ids: list[int], level: str) -> pd.DataFrame:
    """core.store.registry.per_sku_wape (version_id, sku[, store], abs_err, abs_y, wape, n),
    from the rollups where built and the raw backtests for the rest."""
    import pandas as pd

    from core.store import registry

    have, rest = _split(s, list(version_ids))
    parts = []
    if have and level == "sku":
        parts.append(raw(s).execute(
            """SELECT version_id, sku, metric_abs_err(y_ok, yhat_ok) AS abs_err,
                      metric_abs_y(y_ok, yhat_ok) AS abs_y, metric_wape(y_ok, yhat_ok) AS wape, count(*) AS n
               FROM version_sku_bt WHERE list_contains(?, version_id) AND n_ok > 0
               GROUP BY version_id, sku""", [have]).df())
    elif have and level == "sku_store":
        parts.append(raw(s).execute(
            """SELECT version_id, se.sku, se.store, abs_err, abs_y, metric_wape_of(abs_err, abs_y) AS wape, n
               FROM version_series JOIN series se USING (series_id)
               WHERE list_contains(?, version_id) AND n > 0""", [have]).df())
    if rest or not parts:
        parts.append(registry.raw_per_sku_wape(s, rest, level))
    df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    keys = ["sku", "version_id"] if level == "sku" else ["sku", "store", "version_id"]
    return df.sort_values(keys, ignore_index=True)


def sku_backtests(s: Session, version_ids: list[int], sku: str) -> pd.DataFrame | None:
    """One SKU's chosen backtests summed over its stores (version_id, fold, cutoff, ds, y, yhat),
    or None when a version has no rollup (the caller reads the raw rows)."""
    have, rest = _split(s, list(version_ids))
    if rest:
        return None
    return raw(s).execute(
        """SELECT version_id, fold, cutoff, ds, y, yhat FROM version_sku_bt
           WHERE list_contains(?, version_id) AND sku = ? ORDER BY version_id, fold, ds""",
        [have, sku]).df()


def serving(s: Session, version_id: int) -> pd.DataFrame | None:
    """core.store.versions.series_ids (series_id, sku, store, model) from the rollup, or None
    when the version has none."""
    if not built(s, [version_id]):
        return None
    return raw(s).execute(
        """SELECT v.series_id, se.sku, se.store, v.model FROM version_series v
           JOIN series se USING (series_id) WHERE v.version_id = ? ORDER BY se.sku, se.store""",
        [version_id]).df()


def common_wape(s: Session, challenger: int, active: int) -> dict | None:
    """core.store.gate.common_wape from the per-(series, cut-off) rollup, or None when it cannot
    be exact: a version without rollups, or a (series, cut-off) both hold whose dates differ
    (then only a row-by-row join says which points they share)."""
    if len(built(s, [challenger, active])) < 2:
        return None
    con = raw(s)
    pairs = """FROM version_cutoff c JOIN version_cutoff a USING (series_id, cutoff)
               WHERE c.version_id = ? AND a.version_id = ?"""
    if con.execute(f"SELECT count(*) {pairs} AND (c.n <> a.n OR c.ds_hash <> a.ds_hash)",  # noqa: S608 - own SQL
                   [challenger, active]).fetchone()[0]:
        return None
    row = con.execute(
        f"""SELECT metric_wape_of(sum(c.abs_err), sum(c.abs_y)), metric_wape_of(sum(a.abs_err), sum(a.abs_y)),
                   count(DISTINCT series_id), list(DISTINCT cutoff ORDER BY cutoff), sum(c.n)
            {pairs}""",  # noqa: S608 - own SQL
        [challenger, active]).fetchone()
    return {"challenger_wape": None if row[0] is None else float(row[0]),
            "active_wape": None if row[1] is None else float(row[1]),
            "series": int(row[2] or 0), "cutoffs": list(row[3] or []), "points": int(row[4] or 0)}


def series_table(s: Session, version_id: int, kind: str) -> pd.DataFrame:
    """The Train page's per-series table in one query (at 100,000 series a pivot, a merge and a
    sort in pandas were 1.3 s of the page's first view): sku, store, model (serving), accuracy
    (1 - WAPE of the serving model, or of `kind` unless it is 'best'), one `WAPE <model>` column
    per backtested model that has one, mase, bias, coverage, units (backtest actuals), all folds
    together, worst accuracy first. A series with no WAPE for any model is left out, and so is a
    model column with no value."""
    con = raw(s)
    models = [r[0] for r in con.execute(
        "SELECT DISTINCT model FROM series_metrics WHERE version_id = ? AND fold IS NULL ORDER BY model",
        [version_id]).fetchall()]
    serving = ("SELECT series_id, model FROM version_series WHERE version_id = ?" if built(s, [version_id])
               else "SELECT series_id, model FROM serving_models([?])")
    mine = "m.model = coalesce(?, srv.model)"  # the serving model, or the version's one model
    cols = ", ".join(f"max(m.wape) FILTER (WHERE m.model = ?) AS w{i}" for i in range(len(models)))
    own = None if kind == "best" else kind
    t = con.execute(
        f"""WITH srv AS ({serving})
            SELECT se.sku, se.store, srv.model, 1 - max(m.wape) FILTER (WHERE {mine}) AS accuracy,
                   {cols + "," if cols else ""}
                   max(m.mase) FILTER (WHERE {mine}) AS mase, max(m.bias) FILTER (WHERE {mine}) AS bias,
                   max(m.coverage) FILTER (WHERE {mine}) AS coverage, max(m.abs_y) FILTER (WHERE {mine}) AS units
            FROM series_metrics m JOIN series se USING (series_id) LEFT JOIN srv USING (series_id)
            WHERE m.version_id = ? AND m.fold IS NULL
            GROUP BY m.series_id, se.sku, se.store, srv.model
            HAVING count(m.wape) > 0
            ORDER BY accuracy NULLS LAST, se.sku, se.store""",  # noqa: S608 - own SQL; values bound
        [version_id, own, *models, own, own, own, own, version_id]).df()
    t = t.rename(columns={f"w{i}": f"WAPE {m}" for i, m in enumerate(models)})
    return t.drop(columns=[f"WAPE {m}" for m in models if t[f"WAPE {m}"].isna().all()])
