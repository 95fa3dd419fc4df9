"""Policy simulation on history: what would stock have looked like had we ordered by a version's
forecasts over its backtest period?

Each period of the backtest, for every series at once: the deliveries due arrive; at a review
the policy orders up to S (`policy.levels`, from the forecast the version made at that fold's
cut-off: what it knew then; past the fold's end the fold's mean per period stands in, never a
later fold's forecast); then the actual sales are served from stock, and what stock cannot
serve is lost. The loop runs over periods (tens), never over series. Per-period spread comes
from the backtest band, else from the errors of the earlier folds (the first fold uses its own).

Overstock at the end of a period is the stock above the safety stock that the actual demand
until the next possible delivery does not use: with a perfect forecast it is zero. Periods whose
next delivery falls after the backtest are left out of it (their need is unknown).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.access import Actor, require
from core.errors import NotFound, ValidationError
from core.inventory import policy
from core.store import db as store_db
from core.store import inventory as inv
from core.store import registry, session
from core.store import versions as vstore

log = logging.getLogger(__name__)
NAIVE_MODEL = "naive"  # the seasonal-naive reference every version backtests alongside
METRICS = ["fill_rate", "availability", "stockout_periods", "lost_units", "lost_value",
           "avg_inventory", "avg_inventory_value", "avg_overstock", "avg_overstock_value", "turns",
           "orders"]


def _grid(bt: pd.DataFrame) -> dict:
    sids, i = np.unique(bt["series_id"].to_numpy(), return_inverse=True)
    dates, t = np.unique(pd.to_datetime(bt["ds"]).to_numpy(), return_inverse=True)
    n, T = len(sids), len(dates)

    def grid(v: np.ndarray, fill: float) -> np.ndarray:
        g = np.full((n, T), fill)
        g[i, t] = v
        return g

    y = bt["y"].to_numpy(float)
    yhat = bt["yhat"].to_numpy(float)
    # the fold of each period: shared cut-offs, so one fold per date; ordered by time
    fold_t = pd.Series(bt["fold"].to_numpy()).groupby(t).max().reindex(range(T)).ffill().to_numpy()
    _, fcode = np.unique(fold_t, return_inverse=True)
    fcode = np.maximum.accumulate(fcode)
    nf = int(fcode.max()) + 1
    end_of = np.array([np.flatnonzero(fcode == f).max() + 1 for f in range(nf)])  # per fold, not series
    return {"sids": sids, "dates": dates, "Y": np.clip(np.nan_to_num(grid(y, 0.0)), 0, None),
            "F": np.clip(np.nan_to_num(grid(yhat, 0.0)), 0, None),
            "band": grid((bt["yhat_upper"].to_numpy(float) - bt["yhat_lower"].to_numpy(float))
                         / (2 * policy.Z80), np.nan),
            "err": grid(y - yhat, np.nan), "fcode": fcode, "nf": nf, "fold_end": end_of[fcode]}


def _spread(g: dict) -> np.ndarray:
    """Per-period sd: the band where the backtest has one, else the RMSE of the series' errors
    in the folds before (the first fold, which has none before it, uses its own)."""
    n, nf, fcode = g["Y"].shape[0], g["nf"], g["fcode"]
    err = g["err"]
    sse, cnt = np.zeros((n, nf)), np.zeros((n, nf))
    ok = ~np.isnan(err)
    for f in range(nf):  # folds: a handful
        cols = fcode == f
        sse[:, f] = np.where(ok[:, cols], err[:, cols] ** 2, 0).sum(1)
        cnt[:, f] = ok[:, cols].sum(1)
    prior_sse, prior_cnt = np.cumsum(sse, 1) - sse, np.cumsum(cnt, 1) - cnt
    use_sse = np.where(prior_cnt > 0, prior_sse, sse)
    use_cnt = np.where(prior_cnt > 0, prior_cnt, cnt)
    with np.errstate(invalid="ignore", divide="ignore"):
        fb = np.sqrt(use_sse / use_cnt)
    sd = np.where(np.isnan(g["band"]), fb[:, fcode], g["band"])
    return np.clip(np.nan_to_num(sd), 0, None)


def replay(bt: pd.DataFrame, inputs: pd.DataFrame, trajectory: bool = False) -> dict:
    """Simulate the policy on one set of backtest forecasts (series_id, fold, ds, y, yhat,
    yhat_lower, yhat_upper) with per-series policy inputs; fleet totals as a dict, and with
    `trajectory` also the per-period path (series_id, ds, demand, forecast, ordered, lost,
    on_hand, overstock) for a chart of one SKU."""
    g = _grid(bt)
    Y, F, fcode, fold_end = g["Y"], g["F"], g["fcode"], g["fold_end"]
    n, T = Y.shape
    SD = _spread(g)
    fold_mean = np.stack([F[:, fcode == f].mean(1) for f in range(g["nf"])], 1)
    fold_var = np.stack([(SD[:, fcode == f] ** 2).mean(1) for f in range(g["nf"])], 1)
    p = inputs.set_index("series_id").reindex(g["sids"])
    for k, v in policy.DEFAULTS.items():
        if v is not None:
            p[k] = p[k].fillna(v)
    L = p["lead_time"].to_numpy(int)
    R = p["review_period"].to_numpy(int)
    z = policy.z_of(p["service_level"].to_numpy(float))
    pack, min_order = p["pack_size"].to_numpy(float), p["min_order"].to_numpy(float)
    cost, price = p["unit_cost"].to_numpy(float), p["price"].to_numpy(float)
    rows = np.arange(n)
    cum = (policy.cumulative(F), policy.cumulative(SD ** 2))

    def protect(t: int, periods: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f = fcode[t]
        return policy.window(F, SD, periods, start=t, end=fold_end[t], fill_mean=fold_mean[:, f],
                             fill_var=fold_var[:, f], cum=cum)

    mu_l, _ = protect(0, L)
    _, sd_p = protect(0, L + R)
    on_hand = mu_l + z * sd_p  # start at the policy's own level for the first lead time
    arrivals = np.zeros((n, T + int(L.max()) + 1))
    pipe = np.zeros(n)
    ss_last = z * sd_p
    end, lost, ss_at, ordered = (np.zeros((n, T)) for _ in range(4))
    orders = 0
    for t in range(T):  # periods, not series
        on_hand += arrivals[:, t]
        pipe -= arrivals[:, t]
        review = t % R == 0
        mu_p, sd_p = protect(t, L + R)
        safety = z * sd_p
        q = np.where(review, policy.round_order(mu_p + safety - (on_hand + pipe), pack, min_order), 0.0)
        now = L == 0
        on_hand += np.where(now, q, 0.0)
        arrivals[rows, t + L] += np.where(now, 0.0, q)
        pipe += np.where(now, 0.0, q)
        orders += int((q > 0).sum())
        ordered[:, t] = q
        ss_last = np.where(review, safety, ss_last)
        sold = np.minimum(on_hand, Y[:, t])
        lost[:, t] = Y[:, t] - sold
        on_hand -= sold
        end[:, t], ss_at[:, t] = on_hand, ss_last
    over, valid = _overstock(Y, end, ss_at, L, R)
    out = _totals(Y, lost, end, over, valid, cost, price, orders, g)
    if trajectory:
        out["trajectory"] = pd.DataFrame({
            "series_id": np.repeat(g["sids"], T), "ds": np.tile(g["dates"], n), "demand": Y.ravel(),
            "forecast": F.ravel(), "ordered": ordered.ravel(), "lost": lost.ravel(),
            "on_hand": end.ravel(), "overstock": np.where(valid, over, np.nan).ravel()})
    return out


def _overstock(Y: np.ndarray, end: np.ndarray, ss_at: np.ndarray, L: np.ndarray,
               R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, T = Y.shape
    tt = np.arange(T)[None, :]
    k = np.maximum(np.ceil((tt + 1 - L[:, None]) / R[:, None]), 0)
    nxt = (L[:, None] + R[:, None] * k).astype(int)  # first delivery after period t
    valid = nxt <= T
    cy = np.concatenate([np.zeros((n, 1)), np.cumsum(Y, 1)], 1)
    rows = np.arange(n)[:, None]
    need = cy[rows, np.minimum(nxt, T)] - cy[rows, tt + 1]
    over = np.where(valid, np.maximum(end - ss_at - need, 0.0), 0.0)
    return over, valid


def _nansum_or_none(x: np.ndarray) -> float | None:
    return None if np.isnan(x).all() else float(np.nansum(x))


def _totals(Y, lost, end, over, valid, cost, price, orders, g) -> dict:
    demand, lost_u = float(Y.sum()), float(lost.sum())
    n, T = Y.shape
    stockouts = int((lost > 1e-9).sum())
    avg_inv_series = end.mean(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        over_series = np.where(valid.any(1), over.sum(1) / valid.sum(1), 0.0)
    avg_inv = float(avg_inv_series.sum())
    return {
        "series": n, "periods": T, "first_date": str(pd.Timestamp(g["dates"][0]).date()),
        "last_date": str(pd.Timestamp(g["dates"][-1]).date()), "demand": demand,
        "fill_rate": (demand - lost_u) / demand if demand else None,
        "availability": 1 - stockouts / (n * T), "stockout_periods": stockouts, "lost_units": lost_u,
        "lost_value": _nansum_or_none(lost.sum(1) * price), "avg_inventory": avg_inv,
        "avg_inventory_value": _nansum_or_none(avg_inv_series * cost),
        "avg_overstock": float(over_series.sum()),
        "avg_overstock_value": _nansum_or_none(over_series * cost),
        "turns": (demand - lost_u) / avg_inv if avg_inv else None, "orders": orders,
    }


@dataclass
class Simulation:
    version: int
    table: pd.DataFrame
    headline: str | None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"version": self.version, "headline": self.headline, "notes": self.notes,
                "rows": self.table.to_dict(orient="records")}


def headline(version: dict, naive: dict | None) -> str | None:
    """'This version would have cut overstock by X% at Y% availability' against seasonal naive."""
    if naive is None or not naive["avg_overstock"]:
        return None
    change = (version["avg_overstock"] - naive["avg_overstock"]) / naive["avg_overstock"]
    verb = "cut" if change <= 0 else "raised"
    return (f"{version['policy']} would have {verb} overstock by {abs(change):.0%} against seasonal "
            f"naive, at {version['availability']:.2%} availability (seasonal naive: "
            f"{naive['availability']:.2%}) and a {version['fill_rate']:.2%} fill rate.")


def _replays(db, wanted: list[tuple[int, str]]) -> dict[tuple[int, str], dict | None]:
    """Fleet totals of the replay per (version, model: 'chosen' or naive), None without backtest
    rows. A version's backtests never change, so the version (and its creation time, should a
    store be rebuilt at the same path), the model and the newest stock/policy upload are all its
    inputs: the write paths keep the active version's in the store (`refresh`); others, or those
    not kept yet, are made here through the process's read cache (`db.memo`: one replay per store
    state for every session, dropped by any write, also another process's). Compare and every
    Overview render ask."""
    found, missing = {}, []
    with session(db) as s:
        upload = inv.latest_dataset_id(s)
        for vid, model in wanted:
            v = vstore.get_version(s, vid)
            hit, totals = inv.kept_replay(s, vid, model, _mark(v.created_at if v else None, model, upload))
            if hit:
                found[(vid, model)] = None if totals is None else json.loads(totals)
            else:
                missing.append((vid, model))
    for vid, model in missing:
        found[(vid, model)] = store_db.memo(db, (__name__ + ".replay", vid, model),
                                            lambda vid=vid, model=model: _replay_now(db, vid, model))
    return {w: found[w] for w in wanted}


def _replay_now(db, vid: int, model: str) -> dict | None:
    """The maths runs outside the store session; the policy inputs are read once for all the
    replays of a store state."""
    with session(db) as s:
        bt = inv.backtest_rows(s, vid, None if model == "chosen" else model)
    if bt.empty:
        return None
    return replay(bt, store_db.memo(db, (__name__ + ".series_inputs",), lambda: _series_inputs(db)))


def _series_inputs(db) -> pd.DataFrame:
    with session(db) as s:
        return inv.series_inputs(s, policy.DEFAULTS)


def _mark(created_at, model: str, upload: int | None) -> str:
    """What a kept replay was made at: not the path (a copied store stays current)."""
    return repr((created_at, model, upload))


def refresh(db=None) -> bool:
    """Keep the active version's replays (its chosen models and the naive reference) for the
    present stock and policies; the write paths that change them call this after their commit.
    Never raises: a failure leaves them behind and the readers replay. True when kept."""
    try:
        with session(db) as s:
            vid = registry.active_version_id(s)
        if vid is None:
            return False
        wanted = [(vid, "chosen"), (vid, NAIVE_MODEL)]
        with session(db) as s:  # what the replays are made at
            upload = inv.latest_dataset_id(s)
            v = vstore.get_version(s, vid)
            before = (v.created_at if v else None, upload)
            rows = {w: inv.backtest_rows(s, w[0], None if w[1] == "chosen" else w[1]) for w in wanted}
            inputs = inv.series_inputs(s, policy.DEFAULTS)
        made = {w: None if bt.empty else replay(bt, inputs) for w, bt in rows.items()}
        with session(db, write=True) as s:
            v = vstore.get_version(s, vid)
            if registry.active_version_id(s) != vid or (v.created_at if v else None, inv.latest_dataset_id(s)) != before:
                return False  # changed while they were made
            for (ver, model), totals in made.items():
                inv.keep_replay(s, ver, model, _mark(before[0], model, before[1]), None if totals is None else json.dumps(totals, default=_plain))
        return True
    except Exception:  # noqa: BLE001 - the write it follows is committed; readers replay instead
        log.exception("keeping the policy replays failed")
        return False


def _plain(x):
    return x.item() if hasattr(x, "item") else str(x)


def simulate(actor: Actor, version_id: int | None = None, db=None) -> Simulation:
    """The version, its seasonal-naive reference and the active version, side by side."""
    require(actor, "view")
    with session(db) as s:
        active = registry.active_version_id(s)
        vid = version_id if version_id is not None else active
        if vid is None:
            raise ValidationError("No version is active yet: pass a version id to simulate.")
        v = vstore.get_version(s, vid)
        if v is None or v.status != "ready":
            raise NotFound(f"Version {vid} is not a ready version.")
    runs = [(f"version {vid}", vid, "chosen"), ("seasonal naive", vid, NAIVE_MODEL)]
    if active is not None and active != vid:
        runs.append((f"active version {active}", active, "chosen"))
    done = _replays(db, [(ver, model) for _, ver, model in runs])
    rows, notes = [], []
    for label, ver, model in runs:
        if done[(ver, model)] is None:
            notes.append(f"{label}: no backtest rows, left out.")
            continue
        rows.append({"policy": label, "version": ver, "model": model, **done[(ver, model)]})
    if not rows:
        raise ValidationError(f"Version {vid} has no backtests to simulate.")
    table = pd.DataFrame(rows)
    by = {r["policy"]: r for r in rows}
    if len({(r["first_date"], r["last_date"]) for r in rows}) > 1:
        notes.append("The versions' backtest periods differ; each is simulated on its own period.")
    return Simulation(version=vid, table=table,
                      headline=headline(by.get(f"version {vid}", rows[0]), by.get("seasonal naive")),
                      notes=notes)

DISPLAY = {  # column -> (label, digits, scale): the table in words, for pages
    "policy": ("Policy", None, 1), "fill_rate": ("Fill rate %", 2, 100),
    "availability": ("Availability %", 2, 100), "stockout_periods": ("Stock-out periods", 0, 1),
    "lost_units": ("Lost sales (units)", 0, 1), "lost_value": ("Lost sales (at price)", 0, 1),
    "avg_inventory": ("Avg inventory (units)", 0, 1), "avg_overstock": ("Avg overstock (units)", 0, 1),
    "avg_overstock_value": ("Avg overstock (at cost)", 0, 1), "turns": ("Turns", 1, 1),
}


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """A simulation table in words and whole units, for people (money figures stay empty when no
    policy gives a cost or price)."""
    out = {}
    for col, (label, digits, scale) in DISPLAY.items():
        out[label] = table[col] if digits is None else (scale * pd.to_numeric(table[col], errors="coerce")).round(digits)
    return pd.DataFrame(out)


@dataclass(frozen=True)
class Effect:
    """The headline inventory effect of the live forecast against seasonal naive, and nothing
    more (what an executive's share link may see): fractions, no SKU, no order."""

    version: int
    overstock_change: float  # (live - naive) / naive average overstock; negative = cut
    availability: float
    naive_availability: float
    fill_rate: float | None

    @property
    def sentence(self) -> str:
        verb = "cut" if self.overstock_change <= 0 else "raised"
        return (f"Ordering by the live forecast would have {verb} overstock by "
                f"{abs(self.overstock_change):.0%} against seasonal naive, at "
                f"{self.availability:.1%} on-shelf availability (seasonal naive: "
                f"{self.naive_availability:.1%}).")


def effect(actor: Actor, db=None) -> Effect | None:
    """The active version against seasonal naive over its backtest; None when nothing is active
    or the comparison cannot be made (no backtest, no naive reference, no overstock to compare).
    Every Overview render (and share-link view) asks, so it comes from the kept replays."""
    require(actor, "view")
    with session(db) as s:
        vid = registry.active_version_id(s)
    if vid is None:
        return None
    done = _replays(db, [(vid, "chosen"), (vid, NAIVE_MODEL)])
    a, b = done[(vid, "chosen")], done[(vid, NAIVE_MODEL)]
    if a is None or b is None or not b["avg_overstock"]:
        return None
    return Effect(version=vid, overstock_change=(a["avg_overstock"] - b["avg_overstock"]) / b["avg_overstock"],
                  availability=a["availability"], naive_availability=b["availability"], fill_rate=a["fill_rate"])
