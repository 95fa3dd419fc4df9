"""shelfcast train: backtest and fit a model over every series, keeping it as a new version."""

from __future__ import annotations

from core import forecasts, models, training
from core.cli.common import actor, emit, progress
from core.errors import ValidationError


def register(sub) -> None:
    p = sub.add_parser("train", help="train and backtest a forecast version",
                       description="Models: " + models.describe() + ".")
    p.add_argument("--model", required=True, choices=list(models.KINDS), metavar="MODEL",
                   help="one of " + ", ".join(models.KINDS) + " (see the list above)")
    p.add_argument("--quantiles", metavar="Q,Q,...",
                   help="quantile forecasts to store and export, 0.01-0.99 (default 0.1,0.5,0.9; "
                        "0.1 and 0.9 are always kept: they are the 80%% band)")
    p.add_argument("--horizon", type=int, help="periods ahead (default: 28 days / 13 weeks / 12 months)")
    p.add_argument("--folds", type=int, default=3, help="backtest folds (default 3)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="model option, e.g. estimator=ridge, seasonality_mode=multiplicative, "
                        "country_holidays=GB, models=naive,sklearn,ets (best/ensemble candidates), "
                        "top_k=3 and combine=mean|median (ensemble), margin=0.25 (best-of: how much "
                        "better a series' own winner must be than the overall winner), strategy=auto|per-series|"
                        "one-model|mean-top-K (best-of: how to choose; auto picks it on the backtest) (repeat)")
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
    options = parse_options(args.option)
    if args.quantiles:
        options["quantiles"] = args.quantiles
    vid = training.train(actor(args), args.model, horizon=args.horizon, folds=args.folds,
                         options=options, db=args.db,
                         progress=lambda d, t: progress(d, t, f"training {args.model}"))
    v = next(r for r in forecasts.list_versions(args.db) if r["id"] == vid)
    out = {"id": vid, "model": v["model"], "status": v["status"], "metrics": v["metrics"],
           "warnings": v["warnings"]}
    m = v["metrics"]
    acc = f"{100 * m['accuracy']:.1f}%" if m.get("accuracy") is not None else "–"
    how = (m.get("measured") or {}).get("method")
    q = m.get("quantiles") or {}
    qtext = (f"; P10/P90 band covered {100 * q['band_coverage']:.0f}% of backtest actuals, wQL {q['wql']:.3f}"
             if q.get("band_coverage") is not None and q.get("wql") is not None else "")
    emit(out, args.json, f"version {vid}: {v['status']}; backtest accuracy {acc} (1 − WAPE"
                         f"{', ' + how if how else ''}){qtext}, "
                         f"{v['n_series']} series, {v['horizon']} periods ahead"
                         + "".join(f"\nwarning: {w}" for w in v["warnings"]))
    return 0 if v["status"] == "ready" else 1
