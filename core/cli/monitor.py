"""shelfcast monitor: re-evaluate the alert rules and print per-SKU accuracy, drift and alerts.

Meant for a scheduler after the daily ingest as well as for people: `--json` prints everything
machine-readable; the text form prints the worst SKUs first.
"""

from __future__ import annotations

import json

from core.cli.common import actor


def register(sub) -> None:
    p = sub.add_parser("monitor", help="evaluate alert rules; per-SKU accuracy, drift and open alerts")
    p.add_argument("--json", action="store_true", help="print a machine-readable report")
    p.add_argument("--top", type=int, default=15, help="SKUs to list in the text report (default 15)")
    p.set_defaults(func=run)


def _pct(x) -> str:
    return "–" if x is None or x != x else f"{100 * x:.1f}%"


def _acc(x) -> str:
    """Accuracy as the pages show it (core.metrics.display_accuracy floors it at 0)."""
    from core.metrics import display_accuracy

    return _pct(display_accuracy(x))


def run(args) -> int:
    # Imported here: every other command (and --help) would pay for pandas and the store.
    from core import config, monitoring, webhook

    rep = monitoring.report(actor(args), args.db)
    webhook.wait(30)  # let new-alert notifications go out before the process ends
    if args.json:
        # One line: with `indent` the json module falls back to its pure-Python encoder, which
        # took seconds for the report of 2,000 SKUs (every SKU's accuracy and drift).
        print(json.dumps(rep, default=str))
        return 0
    if rep["active"] is None:
        print(rep["message"])
        return 0
    a, s, w = rep["active"], rep["summary"], rep["window"]
    lines = [
        f"Active version {a['version_id']} ({a['kind']}), forecasts {a['forecast_start']} to "
        f"{a['forecast_end']}, actuals to {a['last_actual'] or '–'}",
        f"Accuracy over the last {w['periods']} {w['grain']}s: {_acc(s['accuracy'])} "
        f"(backtest {_acc(s['backtest_accuracy'])}); {s['skus_below']} of {s['skus']} SKUs below "
        f"{_pct(config.ACCURACY_THRESHOLD)}; {s['open_alerts']} open alert(s)",
        "",
        f"{'SKU':<14}{'accuracy':>10}{'backtest':>10}{'bias':>9}  direction",
    ]
    for r in rep["accuracy"][: args.top]:
        lines.append(f"{r['sku']:<14}{_acc(r['accuracy']):>10}{_acc(r['backtest_accuracy']):>10}"
                     f"{_pct(r['bias']):>9}  {r['direction']}")
    drifted = [d for d in rep["data_drift"] if d["drifted"] and d["column"] == "units"]
    lines += ["", f"Data drift detected in demand: {len(drifted)} SKU(s) (the rule alerts on large moves only)"]
    lines += [f"  {d['sku']}: {d['test']} {d['score']:.3g}, mean {d['ref_mean']:.1f} -> {d['cur_mean']:.1f} "
              f"({100 * d['change']:+.0f}%)" for d in drifted]
    concept = [c for c in rep["concept_drift"] if c["drifted"]]
    lines += ["", f"Concept drift: {len(concept)} SKU(s): " + ", ".join(c["sku"] for c in concept)]
    lines += ["", f"Open and acknowledged alerts: {len(rep['alerts'])}"]
    lines += [f"  #{x['id']} [{x['status']}] {x['sku']} ({x['store']}): {x['message']}" for x in rep["alerts"]]
    print("\n".join(lines))
    return 0
