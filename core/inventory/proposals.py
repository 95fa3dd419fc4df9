"""Replenishment proposals from the active version: one record per SKU × store.

All series at once: the forecasts become (series × period) arrays and the policy maths in
`policy` runs on whole columns, so 100,000 series cost what a few array passes cost. The spread
of each period's demand comes from the forecast's quantile columns when it has them, else from
its 80% band (P10/P90), else from the version's backtest errors for that series.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtri

from core import exports
from core.access import Actor, require
from core.errors import NotFound, ShelfcastError, ValidationError
from core.inventory import policy
from core.inventory.overrides import QUANTILE_COL, apply_overrides, value_columns
from core.store import inventory as inv
from core.store import registry, session
from core.store import versions as vstore
from core.store.db import memo

COLUMNS = ["sku", "store", "on_hand", "safety_stock", "reorder_point", "order_up_to", "order_qty",
           "reason", "stockout_risk"]
DETAIL = ["category", "at_risk", "as_of", "forecast_from", "demand_lead_time", "demand_protection", "packs", "order_value", "lead_time",
          "review_period", "service_level", "pack_size", "min_order", "unit_cost", "price",
          "policy_source", "spread_source", "overridden"]
log = logging.getLogger(__name__)


def spread(fc: pd.DataFrame, quantiles: list[str] | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """Per row of a forecast frame: the median demand, its standard deviation (NaN where the
    frame says nothing) and which columns it came from. The quantile columns used are those
    with a value in the frame, or, for a few series of a fleet, the fleet's (`quantiles`)."""
    qcols = {int(QUANTILE_COL.match(c).group(1)): c for c in fc.columns if QUANTILE_COL.match(c)}
    qcols = {q: c for q, c in qcols.items() if (c in quantiles if quantiles is not None else fc[c].notna().any())}
    mid = fc[qcols[50]].to_numpy(float) if 50 in qcols else fc["yhat"].to_numpy(float)
    if len([q for q in qcols if q != 50]) >= 2:
        lo, hi = min(qcols), max(qcols)
        width = ndtri(hi / 100) - ndtri(lo / 100)
        sd = (fc[qcols[hi]].to_numpy(float) - fc[qcols[lo]].to_numpy(float)) / width
        return mid, sd, f"quantiles P{lo}-P{hi}"
    sd = (fc["yhat_upper"].to_numpy(float) - fc["yhat_lower"].to_numpy(float)) / (2 * policy.Z80)
    return mid, sd, "80% band"


def to_grid(keys: np.ndarray, values: list[np.ndarray], width: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
    """Rows ordered by series then date -> (unique series, one n × H array per value, NaN
    padded where a series has fewer periods; H at least `width`)."""
    uniq, first, counts = np.unique(keys, return_index=True, return_counts=True)
    order = np.argsort(first)
    uniq, first, counts = uniq[order], first[order], counts[order]
    row = np.repeat(np.arange(len(uniq)), counts)
    step = np.arange(len(keys)) - np.repeat(first, counts)
    grids = []
    for v in values:
        g = np.full((len(uniq), max(int(counts.max()) if len(counts) else 0, width)), np.nan)
        g[row, step] = v
        grids.append(g)
    return uniq, grids


def _fill_short(g: np.ndarray) -> np.ndarray:
    """Carry each series' last forecast period forward over the padding of shorter series."""
    idx = np.where(np.isnan(g), 0, np.arange(g.shape[1]))
    np.maximum.accumulate(idx, axis=1, out=idx)
    return g[np.arange(g.shape[0])[:, None], idx]


def propose(fc: pd.DataFrame, inputs: pd.DataFrame, fallback_sd: pd.Series | None = None, *,
            context: tuple[int, list[str]] | None = None) -> pd.DataFrame:
    """The proposal table from a forecast frame (series_id, ds, yhat and bands/quantiles, ordered
    by series and date), per-series inputs (series_id, sku, store, on_hand, policy fields) and a
    fallback per-period sd by series_id. `context` (grid width, quantile columns in use: see
    inv.proposal_context) makes a few series' proposals equal the fleet's they are part of.
    Pure: the store is not touched."""
    width, quantiles = context if context is not None else (0, None)
    mid, sd, source = spread(fc, quantiles)
    sids, (mean_g, sd_g) = to_grid(fc["series_id"].to_numpy(), [mid, sd], width)
    mean_g = np.clip(_fill_short(mean_g), 0, None)
    fb = (fallback_sd.reindex(sids).to_numpy(float) if fallback_sd is not None
          else np.full(len(sids), np.nan))
    band_missing = np.isnan(sd_g).all(axis=1)
    sd_g = np.where(np.isnan(sd_g), fb[:, None], sd_g)
    sd_g = np.nan_to_num(_fill_short(sd_g), nan=0.0)
    sd_g = np.clip(sd_g, 0, None)
    spread_source = np.where(band_missing, np.where(np.isnan(fb), "none", "backtest errors"), source)

    p = inputs.set_index("series_id").reindex(sids)
    lead = p["lead_time"].to_numpy(int)
    review = p["review_period"].to_numpy(int)
    service = p["service_level"].to_numpy(float)
    pack = p["pack_size"].to_numpy(float)
    min_order = p["min_order"].to_numpy(float)
    on_hand = p["on_hand"].to_numpy(float)
    lv = policy.levels(mean_g, sd_g, lead, review, service)
    have_stock = ~np.isnan(on_hand)
    raw_qty = np.where(have_stock, lv["order_up_to"] - np.nan_to_num(on_hand), 0.0)
    qty = policy.round_order(raw_qty, pack, min_order)
    risk = np.where(have_stock, policy.stockout_risk(on_hand, lv["demand_lead_time"], lv["sd_lead_time"]),
                    np.nan)
    out = pd.DataFrame({
        "sku": p["sku"].to_numpy(), "store": p["store"].to_numpy(), "on_hand": on_hand,
        "safety_stock": lv["safety_stock"], "reorder_point": lv["reorder_point"],
        "order_up_to": lv["order_up_to"], "order_qty": qty, "stockout_risk": risk,
        "as_of": p["as_of"].to_numpy(), "demand_lead_time": lv["demand_lead_time"],
        "demand_protection": lv["demand_protection"], "packs": qty / pack,
        "order_value": qty * p["unit_cost"].to_numpy(float), "lead_time": lead,
        "review_period": review, "service_level": service, "pack_size": pack, "min_order": min_order,
        "unit_cost": p["unit_cost"].to_numpy(float), "price": p["price"].to_numpy(float),
        "policy_source": p["policy_source"].to_numpy(), "spread_source": spread_source,
    })
    out["reason"] = _reasons(out, raw_qty, have_stock)
    out["category"] = out["sku"].str.split("-", n=1).str[0]  # as Monitor: the SKU prefix
    # the page's "stock-out risk before next delivery" filter: likelier than the target allows
    out["at_risk"] = out["stockout_risk"] > 1 - out["service_level"]
    return out


def _fmt(x: pd.Series) -> pd.Series:
    return x.round(1).map("{:g}".format)


def _reasons(t: pd.DataFrame, raw_qty: np.ndarray, have_stock: np.ndarray) -> pd.Series:
    """Why this quantity, in words a store manager reads (built column-wise, not per row)."""
    cover = ("covers demand to the next possible delivery (" + _fmt(t["order_up_to"]) + " with "
             + _fmt(t["safety_stock"]) + " safety stock over " + (t["lead_time"] + t["review_period"]).astype(str)
             + " periods at " + (t["service_level"] * 100).round(1).map("{:g}".format) + "% service)")
    order = ("On hand " + _fmt(t["on_hand"]) + " is below the order-up-to level " + _fmt(t["order_up_to"])
             + ": order " + _fmt(t["order_qty"]) + " (" + _fmt(t["packs"]) + " packs of " + _fmt(t["pack_size"]) + ")")
    min_used = pd.Series(np.where((raw_qty > 1e-9) & (raw_qty < t["min_order"]), "; minimum order "
                                  + _fmt(t["min_order"]) + " applied", ""), index=t.index)
    risk = pd.Series(np.where(t["stockout_risk"] > 1 - t["service_level"],
                              "; stock-out risk before delivery " + (t["stockout_risk"] * 100).round(0).map("{:g}".format) + "%",
                              ""), index=t.index)
    no = "No order: on hand " + _fmt(t["on_hand"]) + " " + cover
    text = np.where(~have_stock, "No stock snapshot on file: upload one to get an order",
                    np.where(t["order_qty"] > 0, order + min_used + risk, no + risk))
    return pd.Series(text, index=t.index)


def from_stock_date(fc: pd.DataFrame, inputs: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Keep each series' forecast periods after its stock snapshot: stock on 10 March is
    depleted by demand from 11 March, whatever date the version's forecast starts at. A series
    whose forecast ends on or before that date keeps its last period (repeated by the maths)
    and is flagged stale (by series_id). Rows are ordered by series then date, so each series
    is one run of rows: array passes per run, no pandas group-by over millions of rows."""
    as_of = pd.to_datetime(inputs.set_index("series_id")["as_of"]).reindex(fc["series_id"]).to_numpy()
    ds = pd.to_datetime(fc["ds"]).to_numpy()
    after = pd.isna(as_of) | (ds > as_of)
    sid = fc["series_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
    counts = np.diff(np.r_[starts, len(sid)])
    has = np.logical_or.reduceat(after, starts) if len(sid) else np.zeros(0, dtype=bool)
    stale = pd.Series(~has, index=sid[starts]).groupby(level=0).first()
    if after.all():  # the usual case: no copy of millions of rows
        return (fc if isinstance(fc.index, pd.RangeIndex) and fc.index.start == 0 and fc.index.step == 1
                else fc.reset_index(drop=True)), stale
    last = np.r_[sid[1:] != sid[:-1], True]  # the last row of each series
    keep = after | (last & ~np.repeat(has, counts))
    return fc[keep].reset_index(drop=True), stale


def _overridden(fc: pd.DataFrame, ov: pd.DataFrame, inputs: pd.DataFrame) -> pd.DataFrame:
    """apply_overrides on a frame without names: only the rows of SKUs an override names are
    given their sku and store and passed through it (the others cannot match), then put back."""
    if ov.empty or "sku" in fc.columns:
        return apply_overrides(fc, ov)
    names = inputs.set_index("series_id")[["sku", "store"]]
    mask = fc["series_id"].isin(names.index[names["sku"].isin(ov["sku"])]).to_numpy()
    out = apply_overrides(fc, ov.iloc[:0])
    if not mask.any():
        return out
    sub = fc[mask]
    sub = pd.concat([names.reindex(sub["series_id"]).reset_index(drop=True), sub.reset_index(drop=True)], axis=1)
    adj = apply_overrides(sub, ov)
    for c in [*value_columns(fc), "override_id"]:
        col = out[c].array.copy() if c == "override_id" else out[c].to_numpy(float).copy()
        col[mask] = adj[c].array if c == "override_id" else adj[c].to_numpy(float)
        out[c] = col
    return out


def read(db=None, version_id: int | None = None, sku: str | None = None,
         store: str | None = None) -> pd.DataFrame:
    """Proposals from the store: the active (or given) version's forecasts with the overrides in
    force, the latest stock and the policies (optionally for one SKU, at one store). The fleet's
    come from the rows the write paths keep (`refresh`) when they are current, else they are
    made here; either way through the process's read cache (core.store.db.memo), which hands
    every caller its own copy."""
    if sku is not None or store is not None:
        return _read(db, version_id, sku, store)[0]
    return memo(db, ("core.inventory.proposals.read", version_id), lambda: _fleet(db, version_id))


def _fleet(db, version_id: int | None) -> pd.DataFrame:
    if version_id is None:
        with session(db) as s:
            kept = inv.stored_proposals(s, repr(inv.proposal_state(s, None)))
        if kept is not None:
            return kept
    return _read(db, version_id, None, None)[0]


def refresh(db=None, *, skus: list[str] | None = None, since: str | None = None,
            made: str | None = None) -> bool:
    """Make and keep the active version's fleet proposals (the write paths that change their
    inputs call this after their commit). Never raises: a failure leaves the kept rows behind
    their state, and reads make the proposals themselves. True when they were kept.

    A write that changes only the proposals of `skus` (an override) passes them with the
    `proposal_state` before it (`since`) and after it (`made`): if the kept rows were current
    before it and nothing else has changed since, only those SKUs' rows are made again (a few
    series instead of the fleet's 3-5 CPU-s at 100,000); else the fleet's."""
    try:
        with session(db) as s:
            if registry.active_version_id(s) is None:
                return False
            partial = skus is not None and since is not None and inv.proposals_mark(s) == since
        if partial and _refresh_skus(db, sorted(set(skus)), since, made):
            return True
        out, fc, state = _read(db, None, None, None, with_state=True)
        out.insert(0, "series_id", fc["series_id"].unique())
        with session(db, write=True) as s:
            if repr(inv.proposal_state(s, None)) != state:  # changed while they were made
                return False
            inv.replace_proposals(s, out, state)
        return True
    except ShelfcastError:  # no forecasts for the active version, say: nothing to keep
        return False
    except Exception:  # noqa: BLE001 - the write it follows is committed; reads fall back
        log.exception("keeping the fleet's replenishment proposals failed")
        return False


def _refresh_skus(db, skus: list[str], since: str, made: str) -> bool:
    """The kept rows of `skus`' series made again, if the state is still `made` (the one change
    from `since` is the caller's); False when it is not (the caller refreshes the fleet)."""
    try:
        out, fc, state = _read(db, None, None, None, with_state=True, skus=skus)
    except ShelfcastError:  # no forecasts for these SKUs, say: the fleet's refresh decides
        return False
    if state != made:
        return False
    sids = fc["series_id"].unique()
    out.insert(0, "series_id", sids)
    with session(db, write=True) as s:
        if repr(inv.proposal_state(s, None)) != made or inv.proposals_mark(s) != since:
            return False
        inv.replace_proposals(s, out, made, [int(x) for x in sids])
    return True


def _read(db, version_id: int | None, sku: str | None, store: str | None,
          with_state: bool = False, skus: list[str] | None = None) -> tuple:
    """The proposals and the forecast frame they were made from (overrides applied); with
    `with_state`, also the `proposal_state` (repr) the inputs were read at. With `skus`, the
    fleet's proposals of those SKUs' series only (made in the fleet's context)."""
    context = None
    with session(db) as s:
        state = repr(inv.proposal_state(s, None)) if with_state else None
        vid = version_id if version_id is not None else registry.active_version_id(s)
        if vid is None:
            raise ValidationError("No version is active yet: promote one to get replenishment proposals.")
        v = vstore.get_version(s, vid)
        if v is None or v.status != "ready":
            raise NotFound(f"Version {vid} is not a ready version.")
        fc = inv.forecast_rows(s, vid, sku, store, names=sku is not None or store is not None, skus=skus)
        inputs = inv.series_inputs(s, policy.DEFAULTS, sku, store, skus)
        ov = inv.overrides_frame(s, include_ended=False)
        if skus is not None:
            context = inv.proposal_context(s, vid, [c for c in fc.columns if QUANTILE_COL.match(c)])
    if fc.empty:
        what = f" for SKU {sku!r}" + (f" at store {store!r}" if store else "") if sku else ""
        raise ValidationError(f"Version {vid} has no forecasts{what}.")
    fc = _overridden(fc, ov, inputs)
    fc, stale = from_stock_date(fc, inputs)
    # the backtest errors are the spread only where the forecast has no band on some period
    # (or is shorter than the others): read them for those series, not the fleet's backtests
    sid = fc["series_id"].to_numpy()
    width, quantiles = context if context is not None else (0, None)
    runs = pd.Series(np.isnan(spread(fc, quantiles)[1])).groupby(sid).agg(["any", "size"])
    need = runs.index[runs["any"] | (runs["size"] < max(int(runs["size"].max()), width))].tolist()
    fallback = None
    if need:
        with session(db) as s:
            few = need if len(need) <= 1_000 else None  # a long id list costs more than reading all
            fallback = inv.backtest_error_sd(s, vid, sku, store, few).set_index("series_id")["sd"]
    overridden = fc["override_id"].notna().groupby(fc["series_id"], sort=False).any()
    out = propose(fc, inputs, fallback, context=context)
    out["overridden"] = overridden.to_numpy()
    out["forecast_from"] = fc.groupby("series_id", sort=False)["ds"].min().to_numpy()
    stale = stale.reindex(fc["series_id"].unique()).to_numpy()
    out["reason"] = np.where(stale, "Forecast ends before the stock date (last period repeated; "
                             "retrain for a current forecast). " + out["reason"], out["reason"])
    out["version"] = vid
    return (out, fc, state) if with_state else (out, fc)


def projection(actor: Actor, sku: str, store: str, db=None, version_id: int | None = None) -> pd.DataFrame:
    """One SKU × store's projected stock over the forecast, for the page's chart: per period the
    forecast and its band (overrides applied), and the stock at the end of the period if the
    proposed order is placed now (arriving after the lead time) and demand runs at the
    forecast (`on_hand`), at its upper band (`on_hand_low`) or at its lower band (`on_hand_high`).
    Also the proposal's reorder point and safety stock, to draw as lines."""
    require(actor, "view")
    prop, fc = _read(db, version_id, sku, store)
    if prop.empty or pd.isna(prop["on_hand"].iloc[0]):
        raise ValidationError(f"No stock snapshot on file for SKU {sku!r} at store {store!r}.")
    r = prop.iloc[0]
    out = pd.DataFrame({"ds": pd.to_datetime(fc["ds"]).to_numpy(), "forecast": fc["yhat"].to_numpy(float),
                        "forecast_lower": fc["yhat_lower"].to_numpy(float),
                        "forecast_upper": fc["yhat_upper"].to_numpy(float)})
    out["overridden"] = fc["override_id"].notna().to_numpy()
    step = np.arange(len(out))
    arrive = np.where(step == int(r["lead_time"]), float(r["order_qty"]), 0.0)
    out["order_arrives"] = arrive
    base = float(r["on_hand"]) + np.cumsum(arrive)
    for col, demand in (("on_hand", "forecast"), ("on_hand_low", "forecast_upper"),
                        ("on_hand_high", "forecast_lower")):
        out[col] = base - np.cumsum(out[demand].fillna(out["forecast"]).clip(lower=0).to_numpy())
    out["safety_stock"] = float(r["safety_stock"])
    out["reorder_point"] = float(r["reorder_point"])
    return out


def proposals(actor: Actor, db=None, version_id: int | None = None) -> pd.DataFrame:
    """What the Replenishment page lists (viewers and up)."""
    require(actor, "view")
    return read(db, version_id)[COLUMNS + DETAIL + ["version"]]


def export_orders(actor: Actor, out: str | Path, db=None, version_id: int | None = None) -> pd.DataFrame:
    """Write the orders for an ERP feed: .csv (formula-safe) or .parquet."""
    require(actor, "download")
    df = read(db, version_id)[COLUMNS + ["as_of", "packs", "order_value", "version"]]
    exports.write(df, str(out))
    return df
