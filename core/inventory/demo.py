"""Stock and policies for the demo store, so the Replenishment page has something to show on
first start. Made through the same upload path as a real file (a CSV each), deterministic."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from core.access import Actor, require
from core.inventory.inputs import InventoryResult, ingest_inventory
from core.store import inventory as inv
from core.store import session

# Per category (SKU prefix): lead time and review period in days, pack size.
CATEGORY_POLICY = {"BEV": (2, 1, 12), "SNK": (3, 1, 24), "DRY": (5, 7, 6), "HOU": (7, 7, 4)}
MARGIN = 0.6  # unit cost as a share of the price


def frames(basis: pd.DataFrame, as_of=None, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A stock snapshot (between 0 and 3 weeks of recent demand, so some series need an order
    and some are overstocked), dated `as_of` (default: each series' last sales date), and one
    policy row per SKU."""
    rng = np.random.default_rng(seed)
    weeks = rng.choice([0.0, 0.3, 1.0, 1.5, 3.0], size=len(basis))
    stock = pd.DataFrame({"date": basis["last_date"] if as_of is None else as_of, "sku": basis["sku"], "store": basis["store"],
                          "on_hand": np.round(basis["week_mean"].to_numpy() * 7 * weeks)})
    per_sku = basis.groupby("sku", as_index=False)["price"].median()
    cat = per_sku["sku"].str.split("-", n=1).str[0]
    pol = pd.DataFrame([CATEGORY_POLICY.get(c, (2, 1, 1)) for c in cat],
                       columns=["lead_time", "review_period", "pack_size"])
    policy = pd.concat([per_sku[["sku"]], pol], axis=1)
    policy["service_level"] = np.where(cat == "BEV", 0.97, 0.95)
    policy["unit_cost"] = (per_sku["price"] * MARGIN).round(2)
    policy["price"] = per_sku["price"].round(2)
    return stock, policy


def load_demo_inventory(actor: Actor, db: str | os.PathLike | None = None) -> list[InventoryResult]:
    """Upload the demo's stock and policy files (call after the demo sales are loaded, and after
    its version is promoted when there is one)."""
    require(actor, "upload")
    with session(db) as s:
        basis = inv.demand_basis(s)
        start = inv.active_forecast_start(s)
    # The demo's active version was trained before its last weeks arrived as new actuals: the
    # snapshot is dated where that forecast starts, so the page shows a current-looking order.
    stock, policy = frames(basis, None if start is None else pd.Timestamp(start) - pd.Timedelta(days=1))
    out = []
    with tempfile.TemporaryDirectory() as d:
        for kind, df in (("policy", policy), ("stock", stock)):
            f = Path(d) / f"demo_{kind}.csv"
            df.to_csv(f, index=False)
            out.append(ingest_inventory(db, actor, f, kind))
    return out
