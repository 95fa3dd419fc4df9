"""shelfcast train: backtest and fit a model over every series, keeping it as a new version."""

from __future__ import annotations

from core import forecasts, training
from core.cli.common import actor, emit, progress
from core.errors import ValidationError


def register(sub) -> None:
    p = sub.add_parser("train", help="train and backtest a forecast version")
    p.add_argument("--model", required=True, choices=["prophet", "sklearn", "naive", "best"])
    p.add_argument("--horizon", type=int, help="periods ahead (default: 28 days / 13 weeks / 12 months)")
    p.add_argument("--folds", type=int, default=3, help="backtest folds (default 3)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="model option, e.g. estimator=ridge, seasonality_mode=multiplicative, "
                        "country_holidays=GB, models=naive,sklearn (repeat)")
    p.add_argument("--json", action="store_true", help="print the version as JSON")
    p.set_defaults(func=run)


def parse_options(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"--option {item!r}: write it as KEY=VALUE, e.g. estimator=ridge.")
        out[key.strip()] = value.strip()
    return out


def run(args) -> int:
    training.mark_interrupted(args.db)
    vid = training.train(actor(args), args.model, horizon=args.horizon, folds=args.folds,
                         options=parse_options(args.option), db=args.db,
                         progress=lambda d, t: progress(d, t, f"training {args.model}"))
    v = next(r for r in forecasts.list_versions(args.db) if r["id"] == vid)
    out = {"id": vid, "model": v["model"], "status": v["status"], "metrics": v["metrics"],
           "warnings": v["warnings"]}
    m = v["metrics"]
    acc = f"{100 * m['accuracy']:.1f}%" if m.get("accuracy") is not None else "–"
    emit(out, args.json, f"version {vid}: {v['status']}; backtest accuracy {acc} (1 − WAPE), "
                         f"{v['n_series']} series, {v['horizon']} periods ahead"
                         + "".join(f"\nwarning: {w}" for w in v["warnings"]))
    return 0 if v["status"] == "ready" else 1
