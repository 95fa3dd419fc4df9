"""shelfcast share create|list|revoke: read-only links to the Overview for executives."""

from __future__ import annotations

from core import sharing
from core.cli.common import actor, emit, emit_rows, listing


def register(sub) -> None:
    p = sub.add_parser("share", help="create, list or revoke read-only share links")
    ss = p.add_subparsers(dest="share_command", required=True, metavar="ACTION")
    c = ss.add_parser("create", help="create a link and print its URL (shown only this once)")
    c.add_argument("--expires", default=f"{sharing.DEFAULT_DAYS}d",
                   help="lifetime such as 12h, 30d, 2w (default %(default)s)")
    c.add_argument("--label", default="", help="who the link is for")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=create)
    listing(ss, "list links (never their tokens)", list_)
    r = ss.add_parser("revoke", help="revoke a link by id")
    r.add_argument("id", type=int)
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=revoke)


def create(args) -> int:
    made = sharing.create(actor(args), args.label, args.expires, args.db)
    emit({**made.info.to_json(), "url": made.url}, args.json, made.url)
    return 0


def list_(args) -> int:
    rows = sharing.list_links(actor(args), args.db)

    def t(x) -> str:
        return f"{x:%Y-%m-%d %H:%M}" if x else "-"

    emit_rows(rows, args.json,
              lambda x: f"{x.id:>4}  {x.status:<8} expires {t(x.expires_at)}  by {x.created_by}  {x.label}",
              "No share links yet: `shelfcast share create --label TEXT` makes one.")
    return 0


def revoke(args) -> int:
    x = sharing.revoke(actor(args), args.id, args.db)
    emit(x.to_json(), args.json, f"Link {x.id} ({x.label or 'no label'}) is revoked.")
    return 0
