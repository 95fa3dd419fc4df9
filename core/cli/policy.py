"""shelfcast policy set|show: the retraining policy that `shelfcast retrain` applies.

  shelfcast policy set --max-age-days 7 --new-periods 7 --alert-share 0.2 --model best
                       [--promote challenger|auto] [--horizon H] [--folds F]
  shelfcast policy show [--json]
"""

from __future__ import annotations

from core import retrain
from core.cli.common import actor, emit


def register(sub) -> None:
    p = sub.add_parser("policy", help="set or show the retraining policy (`shelfcast retrain` applies it)")
    p.add_argument("action", choices=["set", "show"])
    p.add_argument("--max-age-days", type=float, help="retrain when the active version is older than this")
    p.add_argument("--new-periods", type=int, help="retrain after this many new periods of actuals")
    p.add_argument("--alert-share", type=float,
                   help="retrain when accuracy/drift alerts are open on more than this share of sales (0-1)")
    p.add_argument("--model", default="best", help="model to train (default best: best-of)")
    p.add_argument("--promote", choices=retrain.PROMOTE_MODES, default="challenger",
                   help="challenger: never automatic; auto: promote a policy challenger that beats "
                        "the active version on the gate and on live accuracy")
    p.add_argument("--horizon", type=int, help="forecast horizon (default: the active version's)")
    p.add_argument("--folds", type=int, default=2, help="backtest folds (default 2)")
    p.add_argument("--min-live-periods", type=int, default=2,
                   help="live weeks a challenger needs before auto-promotion (default 2)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.action == "set":
        p = retrain.set_policy(actor(args), args.db, max_age_days=args.max_age_days,
                               new_periods=args.new_periods, alert_share=args.alert_share,
                               model=args.model, promote=args.promote, horizon=args.horizon,
                               folds=args.folds, min_live_periods=args.min_live_periods)
        emit(p.to_json(), args.json, f"Retraining policy saved: {_describe(p)}")
        return 0
    p = retrain.get_policy(args.db)
    emit(p.to_json() if p else None, args.json,
         _describe(p) if p else "No retraining policy is set (`shelfcast policy set ...`).")
    return 0


def _describe(p: retrain.Policy) -> str:
    when = []
    if p.max_age_days is not None:
        when.append(f"the active version is older than {p.max_age_days:g} days")
    if p.new_periods is not None:
        when.append(f"{p.new_periods} new periods of actuals arrived")
    if p.alert_share is not None:
        when.append(f"alerts are open on more than {100 * p.alert_share:g}% of sales")
    return (f"train {p.model} when " + " or ".join(when) + f"; after training: {p.promote}"
            + (f" (set by {p.updated_by})" if p.updated_by else "") + ".")
