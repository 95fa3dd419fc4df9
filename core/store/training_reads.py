"""What a training run reads, and only that: series_id/ds/y as arrays (no SKU or store text,
which at 73M rows cost gigabytes of Python strings a model never looks at) and the regressors a
run can use, decided before any regressor row is loaded.

These read the `sales` and `regressors` tables of core.store.sales."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlmodel import Session

from core.store.db import raw


def sales_arrays(s: Session) -> pd.DataFrame:
    """series_id, ds, y of every sale, in (series_id, ds) order."""
    got = raw(s).execute("SELECT series_id, ds, y FROM sales ORDER BY series_id, ds").fetchnumpy()
    return pd.DataFrame({"series_id": np.asarray(got["series_id"]),
                         "ds": np.asarray(got["ds"]).astype("datetime64[ns]"),
                         "y": np.asarray(got["y"], float)})


def regressor_coverage(s: Session, dates: list[date]) -> dict[str, int]:
    """Per regressor name: how many values it has on `dates` for series that have sales."""
    rows = raw(s).execute(
        """SELECT name, count(value) FROM regressors
           WHERE ds IN (SELECT unnest(?::DATE[])) AND series_id IN (SELECT DISTINCT series_id FROM sales)
           GROUP BY name ORDER BY name""", [dates]).fetchall()
    names = [r[0] for r in raw(s).execute("SELECT DISTINCT name FROM regressors ORDER BY 1").fetchall()]
    have = dict(rows)
    return {n: int(have.get(n, 0)) for n in names}


def regressors_wide(s: Session, names: list[str]) -> pd.DataFrame:
    """series_id, ds and one column per name (in `names` order), one row per series and date
    that has any of them."""
    if not names:
        return pd.DataFrame(columns=["series_id", "ds"])
    cols = ", ".join(f"max(value) FILTER (WHERE name = ${i + 1}) AS r{i}" for i in range(len(names)))
    df = raw(s).execute(
        f"""SELECT series_id, ds, {cols} FROM regressors WHERE name IN (SELECT unnest(${len(names) + 1}::VARCHAR[]))
            GROUP BY series_id, ds ORDER BY series_id, ds""",  # noqa: S608 - placeholders only
        [*names, names]).df()
    df.columns = ["series_id", "ds", *names]
    df["ds"] = pd.to_datetime(df["ds"])
    return df
