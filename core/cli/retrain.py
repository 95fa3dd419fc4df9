"""shelfcast retrain [--json]: apply the retraining policy once (what cron or the Kubernetes
CronJob runs). Exit 0 whether or not it trained (--json says which and why); 2 when the store is
busy (a training in progress, the file locked) or the policy is missing or invalid."""

from __future__ import annotations

from core import retrain
from core.cli.common import actor, emit


def register(sub) -> None:
    p = sub.add_parser("retrain", help="apply the retraining policy once (train if it says so)")
    p.add_argument("--json", action="store_true", help="print what was done as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    r = retrain.apply(actor(args), args.db)
    why = "".join(f"\n  - {x}" for x in r.reasons)
    emit(r.to_json(), args.json, r.message + (f"\nWhy:{why}" if r.trained else "")
         + (f"\nPromotion: {r.promotion}" if r.promotion else ""))
    return 0
