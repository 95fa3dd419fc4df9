"""What `shelfcast monitor` prints: the active version, the headline, per-SKU accuracy, drift
and the live alerts, after an evaluation (a write: the caller's role must allow it)."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd

from core.access import Actor
from core.monitoring.accuracy import overall, sku_accuracy
from core.monitoring.alerts import alerts, evaluate
from core.monitoring.drift import concept_drift, data_drift
from core.monitoring.errors import active
from core.monitoring.windows import default_grain
from core.store import datasets, session


def store_grain(db=None) -> tuple[str, int]:
    """(grain, window) for the store's frequency."""
    with session(db) as s:
        return default_grain(datasets.get_setting(s, "freq"))


def _records(df: pd.DataFrame) -> list[dict]:
    df = df.drop(columns=[c for c in ("ref_values", "cur_values") if c in df.columns])
    return json.loads(df.to_json(orient="records", date_format="iso", default_handler=str))


def report(actor: Actor, db=None, evaluate_first: bool = True) -> dict:
    ev = evaluate(actor, db) if evaluate_first else None
    info = active(db)
    if info is None:
        return {"active": None, "message": "No version is active: promote one to start monitoring.",
                "accuracy": [], "data_drift": [], "concept_drift": [], "alerts": []}
    grain, window = store_grain(db)
    live = alerts(db, ["open", "acknowledged"])
    head = overall(db, window, grain, info=info)
    return {
        "active": {k: (str(v) if isinstance(v, date) else v) for k, v in info.items()},
        "window": {"grain": grain, "periods": window},
        "summary": head,
        "evaluation": ev.to_json() if ev else None,
        "accuracy": _records(sku_accuracy(db, window, grain)),
        "data_drift": _records(data_drift(db, window, grain, info=info)),
        "concept_drift": _records(concept_drift(db, window, grain)),
        "alerts": live,
    }
