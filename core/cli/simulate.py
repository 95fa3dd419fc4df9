"""shelfcast simulate: replay the replenishment policy over a version's backtest period."""

from __future__ import annotations

from core.cli.common import actor, emit
from core.inventory import simulate

SHOWN = ["policy", "fill_rate", "availability", "stockout_periods", "lost_units", "lost_value",
         "avg_inventory", "avg_overstock", "avg_overstock_value", "turns"]


def register(sub) -> None:
    p = sub.add_parser("simulate", help="policy simulation on history: version vs seasonal naive vs active")
    p.add_argument("--version", type=int, help="version id (default: the active version)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    sim = simulate.simulate(actor(args), args.version, args.db)
    if args.json:
        emit(sim.to_json(), True)
        return 0
    table = sim.table[SHOWN].copy()
    for col in ("fill_rate", "availability"):
        table[col] = table[col].map(lambda x: "" if x is None else f"{x:.2%}")
    lines = [table.to_string(index=False, float_format=lambda x: f"{x:,.1f}")]
    lines += [x for x in [sim.headline, *sim.notes] if x]
    emit(None, False, "\n".join(lines))
    return 0
