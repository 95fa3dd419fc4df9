"""Replenishment maths on arrays (one row per series): demand over the protection interval,
safety stock, reorder point, order-up-to level and the order rounded to packs.

The policy is the textbook periodic review (R, S): at a review, order S - inventory position,
where S covers demand until an order placed at the next review could arrive (lead time L plus
review period R). Per-period forecasts are treated as independent normal demands, so over P
periods the mean is the sum of the means and the standard deviation the root of the summed
variances; the service-level quantile is mean + z·sd. That is also how the per-period spread is
read from quantile forecasts (P10/P90 -> sd) or from the backtest errors when there are none.

    safety_stock  = z · sd(L+R)
    order_up_to   = mean(L+R) + safety_stock
    reorder_point = mean(L) + z · sd(L)   (below it, a stock-out before an order placed now
                                           arrives is likelier than the service level allows)
    order_qty     = S - on_hand when positive, at least the minimum order, rounded up to packs
"""

from __future__ import annotations

import numpy as np

DEFAULTS: dict[str, float | int | None] = {
    "lead_time": 1, "review_period": 1, "service_level": 0.95, "pack_size": 1.0,
    "min_order": 0.0, "unit_cost": None, "price": None,
}
Z80 = 1.2815515655446004  # P90 - P50 of a standard normal: an 80% band is ±Z80·sd


def z_of(service_level: np.ndarray) -> np.ndarray:
    from scipy.special import ndtri  # here, not at import: 0.4 s of every cold page start

    return ndtri(np.asarray(service_level, float))


def cumulative(a: np.ndarray) -> np.ndarray:
    """Cumulative sums along periods with a leading zero column: sum of a[:, i:j] is c[j]-c[i]."""
    return np.concatenate([np.zeros((a.shape[0], 1)), np.cumsum(a, axis=1)], axis=1)


def window(mean: np.ndarray, sd: np.ndarray, periods: np.ndarray, start: int | np.ndarray = 0,
           end: int | np.ndarray | None = None, fill_mean: np.ndarray | None = None,
           fill_var: np.ndarray | None = None,
           cum: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd of demand over `periods` periods from column `start` (per row), using the
    forecast up to column `end` and, past it, `fill_mean`/`fill_var` per extra period (by
    default the last forecast period repeated: a forecast shorter than L+R still gives a level).
    `cum` passes `(cumulative(mean), cumulative(sd**2))` when called for many starts over the same arrays."""
    n, h = mean.shape
    rows = np.arange(n)
    end = np.full(n, h) if end is None else np.broadcast_to(end, (n,))
    start = np.broadcast_to(start, (n,))
    var = sd ** 2
    if fill_mean is None:
        fill_mean = mean[rows, np.maximum(end - 1, 0)]
    if fill_var is None:
        fill_var = var[rows, np.maximum(end - 1, 0)]
    stop = start + np.asarray(periods, int)
    inside = np.minimum(stop, end)
    extra = stop - inside
    cm, cv = cum if cum is not None else (cumulative(mean), cumulative(var))
    m = cm[rows, inside] - cm[rows, start] + extra * fill_mean
    v = cv[rows, inside] - cv[rows, start] + extra * fill_var
    return m, np.sqrt(np.maximum(v, 0.0))


def round_order(raw_qty: np.ndarray, pack: np.ndarray, min_order: np.ndarray) -> np.ndarray:
    """0 where nothing is needed; else at least the minimum order, rounded up to whole packs.
    The 1e-9 keeps 20.000000001 units of 10-packs at 2 packs, not 3."""
    raw_qty = np.asarray(raw_qty, float)
    need = raw_qty > 1e-9
    q = np.maximum(raw_qty, min_order)
    packs = np.ceil(q / pack - 1e-9)
    return np.where(need, packs * pack, 0.0)


def levels(mean: np.ndarray, sd: np.ndarray, lead: np.ndarray, review: np.ndarray,
           service: np.ndarray) -> dict[str, np.ndarray]:
    """Safety stock, reorder point and order-up-to per row from per-period mean/sd (n × H)."""
    z = z_of(service)
    mean_l, sd_l = window(mean, sd, lead)
    mean_p, sd_p = window(mean, sd, np.asarray(lead) + np.asarray(review))
    safety = z * sd_p
    return {"z": z, "demand_lead_time": mean_l, "sd_lead_time": sd_l, "demand_protection": mean_p,
            "sd_protection": sd_p, "safety_stock": safety, "reorder_point": mean_l + z * sd_l,
            "order_up_to": mean_p + safety}


def stockout_risk(on_hand: np.ndarray, mean_l: np.ndarray, sd_l: np.ndarray) -> np.ndarray:
    """P(demand over the lead time > on hand): the chance of running out before an order placed
    now arrives. With no spread it is 1 when on hand is short of the mean, else 0."""
    from scipy.special import ndtr

    with np.errstate(divide="ignore", invalid="ignore"):
        p = 1.0 - ndtr((on_hand - mean_l) / sd_l)
    return np.where(sd_l > 0, p, (on_hand < mean_l - 1e-9).astype(float))
