"""shelfcast history: the audit log of promotions, rollbacks and archives, newest first."""

from __future__ import annotations

import json

from core import registry
from core.cli.common import emit


def register(sub) -> None:
    p = sub.add_parser("history", help="the audit log of promotions and rollbacks")
    p.add_argument("--json", action="store_true", help="print the log as a JSON list")
    p.set_defaults(func=run)


def _pct(x) -> str:
    return "–" if x is None or x != x else f"{100 * x:.1f}%"


def run(args) -> int:
    df = registry.history(args.db)
    rows = [
        {**{k: (None if (v is None or (isinstance(v, float) and v != v)) else v)
            for k, v in r.items() if k != "metrics"},
         "metrics": json.loads(r["metrics"] or "{}")}
        for r in df.astype(object).to_dict("records")
    ]
    lines = ["No promotions yet. `shelfcast promote ID --note TEXT` puts a version into service."]
    if rows:
        lines = [
            f"{r['id']:>4}  {str(r['created_at'])[:19]}  {r['action']:<9} "
            f"{r['from_version'] if r['from_version'] is not None else '-':>4} -> {r['to_version']:<4} "
            f"WAPE {_pct(r['from_wape'])} -> {_pct(r['to_wape'])}  {r['actor']}"
            f"{'  OVERRIDE: ' + r['override_reason'] if r['override'] else ''}  \"{r['note']}\""
            for r in rows
        ]
    emit(rows, args.json, "\n".join(lines))
    return 0
