"""The floor of an ingest per storage layout: the least SQL any ingest into that layout must run
(read the file typed, key the series, give them ids, write the rows, commit), timed against
DuckDB's own `CREATE TABLE AS SELECT * FROM read_csv` of the same file, in the same process.

    .venv/bin/python bench/ingest_floor.py FILE.csv [--repeat 3] [--only a,b]

The file has columns date, sku, store, units, price, promo (bench/ingest.py, bench/fleet_data.py).
Layouts:
  a      today's: `sales` (series_id, ds, y, dataset_id) and `regressor_values` (series_id, ds,
         v0, d0, v1, d1): two tables, each with series id, date and a dataset id per slot
  b      regressors as nullable columns of `sales` (v0, d0, v1, d1), a dataset id per slot
  b1     as b, the slots' dataset ids NULL ("the row's"), set only where a merge keeps an older value
  c      as b1, no `clean` table: the rows go from the typed read straight into `sales`
         (the checks and the series' keys from one aggregate pass over the same read first)
  *_po   the layout with preserve_insertion_order=false on the writes
Each is run `--repeat` times into a fresh store file; the best CPU (getrusage, DuckDB's threads
included) and wall are printed with their ratio to read_csv's best."""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import duckdb


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _lit(p: Path) -> str:
    return "'" + str(p).replace("'", "''") + "'"


TYPED = ("read_csv({f}, auto_detect = false, header = true, "
         "columns = {{'date': 'DATE', 'sku': 'VARCHAR', 'store': 'VARCHAR', 'units': 'DOUBLE', "
         "'price': 'DOUBLE', 'promo': 'DOUBLE'}})")


def baseline(csv: Path, db: Path) -> None:
    con = duckdb.connect(str(db))
    con.execute(f"CREATE TABLE sales AS SELECT * FROM read_csv({_lit(csv)})")  # noqa: S608 - own path
    con.close()


def _keys(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """The series (and the checks a real ingest runs: one aggregate per series), ids given."""
    con.execute("CREATE SEQUENCE series_id_seq START 1")
    con.execute("""CREATE TABLE series (series_id INTEGER PRIMARY KEY DEFAULT nextval('series_id_seq'),
                   sku VARCHAR NOT NULL, store VARCHAR NOT NULL, UNIQUE (sku, store))""")
    con.execute(f"""CREATE TEMP TABLE keys AS SELECT h, any_value(sku) AS sku, any_value(store) AS store,
                    count(*) AS n, min(ds) AS first_date, max(ds) AS last_date, sum(y) AS units,
                    bool_or(bad) AS bad FROM {source} GROUP BY h""")  # noqa: S608 - own SQL
    con.execute("INSERT INTO series (sku, store) SELECT sku, store FROM keys ORDER BY 1, 2")
    con.execute("CREATE TEMP TABLE ids AS SELECT k.h, s.series_id FROM keys k JOIN series s USING (sku, store)")


def _clean(con: duckdb.DuckDBPyConnection, csv: Path) -> None:
    con.execute(f"""CREATE TEMP TABLE clean AS SELECT hash(sku, store) AS h, sku, store, date AS ds,
                    units AS y, price AS r0, promo AS r1,
                    (date IS NULL OR units IS NULL OR units < 0) AS bad
                    FROM {TYPED.format(f=_lit(csv))}""")  # noqa: S608 - own path


def layout(csv: Path, db: Path, kind: str) -> None:
    con = duckdb.connect(str(db))
    po = kind.endswith("_po")
    kind = kind.removesuffix("_po")
    slots_d = "INTEGER" if kind in ("a", "b") else "INTEGER"
    con.execute("BEGIN")
    if kind == "a":
        con.execute("CREATE TABLE sales (series_id INTEGER NOT NULL, ds DATE NOT NULL, y DOUBLE NOT NULL, "
                    "dataset_id INTEGER NOT NULL)")
        con.execute("CREATE TABLE regressor_values (series_id INTEGER NOT NULL, ds DATE NOT NULL, "
                    "v0 DOUBLE, d0 INTEGER, v1 DOUBLE, d1 INTEGER)")
    else:
        con.execute("CREATE TABLE sales (series_id INTEGER NOT NULL, ds DATE NOT NULL, y DOUBLE NOT NULL, "
                    f"dataset_id INTEGER NOT NULL, v0 DOUBLE, d0 {slots_d}, v1 DOUBLE, d1 {slots_d})")
    if po:
        con.execute("SET preserve_insertion_order = false")
    if kind == "c":
        src = (f"(SELECT hash(sku, store) AS h, sku, store, date AS ds, units AS y, price AS r0, promo AS r1, "
               f"(date IS NULL OR units IS NULL OR units < 0) AS bad FROM {TYPED.format(f=_lit(csv))})")
        _keys(con, src)
        con.execute(f"""INSERT INTO sales SELECT i.series_id, r.ds, r.y, 1, r.r0, NULL, r.r1, NULL
                        FROM {src} r JOIN ids i USING (h)""")  # noqa: S608 - own SQL
    else:
        _clean(con, csv)
        _keys(con, "clean")
        if kind == "a":
            con.execute("INSERT INTO sales SELECT i.series_id, r.ds, r.y, 1 FROM clean r JOIN ids i USING (h)")
            con.execute("""INSERT INTO regressor_values SELECT i.series_id, r.ds, r.r0,
                           CASE WHEN r.r0 IS NOT NULL THEN 1 END, r.r1, CASE WHEN r.r1 IS NOT NULL THEN 1 END
                           FROM clean r JOIN ids i USING (h) WHERE r.r0 IS NOT NULL OR r.r1 IS NOT NULL""")
        elif kind == "b":
            con.execute("""INSERT INTO sales SELECT i.series_id, r.ds, r.y, 1, r.r0,
                           CASE WHEN r.r0 IS NOT NULL THEN 1 END, r.r1, CASE WHEN r.r1 IS NOT NULL THEN 1 END
                           FROM clean r JOIN ids i USING (h)""")
        else:  # b1
            con.execute("""INSERT INTO sales SELECT i.series_id, r.ds, r.y, 1, r.r0, NULL, r.r1, NULL
                           FROM clean r JOIN ids i USING (h)""")
    con.execute("COMMIT")
    con.close()


def best(fn, repeat: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        t, c = time.perf_counter(), _cpu()
        fn()
        runs.append((time.perf_counter() - t, _cpu() - c))
    return min(w for w, _ in runs), min(c for _, c in runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="a,b,b1,c,a_po,b1_po,c_po")
    args = ap.parse_args()
    print(f"{args.file.name}: {args.file.stat().st_size / 1e6:.0f} MB; load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        n = iter(range(10**6))

        def fresh() -> Path:
            return Path(tmp) / f"s{next(n)}.duckdb"

        base = best(lambda: baseline(args.file, fresh()), args.repeat)
        print(f"{'read_csv into a table':24s} {base[0]:6.2f} s wall {base[1]:6.2f} s CPU")
        for kind in args.only.split(","):
            w, c = best(lambda k=kind: layout(args.file, fresh(), k), args.repeat)
            print(f"{'layout ' + kind:24s} {w:6.2f} s wall {c:6.2f} s CPU  ({w / base[0]:4.2f}x wall, "
                  f"{c / base[1]:4.2f}x CPU)")
        again = best(lambda: baseline(args.file, fresh()), args.repeat)
        print(f"{'read_csv again':24s} {again[0]:6.2f} s wall {again[1]:6.2f} s CPU; "
              f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
