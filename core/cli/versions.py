"""shelfcast versions: list model versions with status, metrics and which one is active."""

from __future__ import annotations

from core.cli.common import emit


def register(sub) -> None:
    p = sub.add_parser("versions", help="list forecast versions")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=run)


def run(args) -> int:
    rows = _fast(args.db)
    if rows is None:
        from core import forecasts

        rows = forecasts.list_versions(args.db)
    if any(r["status"] == "running" for r in rows):
        # Only a run that looks live can be a dead one to mark: core.training (the models,
        # numpy, scikit-learn) costs a second of start-up, paid only then.
        from core import forecasts, training

        if training.mark_interrupted(args.db):
            rows = forecasts.list_versions(args.db)
    lines = [f"{'id':>4}  {'model':<8} {'status':<11} {'active':<6} {'accuracy':>8}  {'series':>6}  created (UTC)     by"]
    for r in rows:
        acc = r["metrics"].get("accuracy")
        lines.append(
            f"{r['id']:>4}  {r['model']:<8} {r['status']:<11} {'*' if r['active'] else '':<6} "
            f"{'–' if acc is None else f'{100 * acc:.1f}%':>8}  {r['n_series']:>6}  "
            f"{(r['created_at'] or '')[:16].replace('T', ' '):<17} {r['created_by']}")
    emit(rows, args.json, "\n".join(lines) if rows else "No versions yet: run `shelfcast train --model best`.")
    return 0


def _fast(db) -> list[dict] | None:
    """The listing through plain DuckDB (no SQLAlchemy, SQLModel or pandas: start-up under a
    second); None when the store needs the full path (new, or made by other store code)."""
    from core.store import db as store_db
    from core.store import listing

    with store_db.lean(db) as con:
        return None if con is None else listing.versions(con)
