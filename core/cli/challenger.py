"""shelfcast challenger add|remove|list|report: versions scored on live sales beside the active one.

  shelfcast challenger add ID          mark a ready version as challenger
  shelfcast challenger remove ID
  shelfcast challenger list [--json]
  shelfcast challenger report [--window 4] [--grain week] [--json]
"""

from __future__ import annotations

from core import challengers
from core.cli.common import actor, emit


def register(sub) -> None:
    p = sub.add_parser("challenger", help="mark versions as challengers; champion vs challengers on live sales")
    p.add_argument("action", choices=["add", "remove", "list", "report"])
    p.add_argument("version", nargs="?", type=int, help="version id (for add and remove)")
    p.add_argument("--window", type=int, default=4, help="periods of live actuals compared (default 4)")
    p.add_argument("--grain", choices=["week", "month", "day"], default="week")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    from core.errors import ValidationError

    if args.action in ("add", "remove"):
        if args.version is None:
            raise ValidationError(f"Give the version id: shelfcast challenger {args.action} ID")
        if args.action == "add":
            c = challengers.add(actor(args), args.version, args.db)
            emit(c, args.json, f"Version {args.version} is a challenger: scored on live sales from now on.")
        else:
            challengers.remove(actor(args), args.version, args.db)
            emit({"removed": args.version}, args.json, f"Version {args.version} is no longer a challenger.")
        return 0
    if args.action == "list":
        rows = challengers.list_challengers(args.db)
        emit(rows, args.json, "\n".join(
            f"v{c['version_id']:<5} marked by {c['marked_by']} ({c['source']}) {c['marked_at'][:19]}"
            for c in rows) or "No challengers.")
        return 0
    rep = challengers.report(args.db, args.window, args.grain)
    champ = "–" if rep.champion_accuracy is None else f"{100 * rep.champion_accuracy:.1f}%"
    emit(rep.to_json(), args.json,
         f"Champion v{rep.champion}: accuracy {champ} from {rep.window_start} to {rep.window_end}\n"
         + rep.message if rep.champion is not None else rep.message)
    return 0
