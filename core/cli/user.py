"""shelfcast user add|list|passwd|role|disable|enable: accounts, for administrators and automation.

On a store with no accounts the operator acts as admin (see core.users.cli_actor), which is how
the first admin is made without the browser: `shelfcast user add alice --role admin`.
"""

from __future__ import annotations

import getpass
import sys

from core import users
from core.access import ROLES
from core.cli.common import actor, emit, emit_rows, listing
from core.errors import ValidationError


def register(sub) -> None:
    p = sub.add_parser("user", help="add, list, change or disable accounts")
    us = p.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    a = us.add_parser("add", help="add an account (password from a prompt, or stdin if piped)")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=ROLES)
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=add)
    listing(us, "list accounts", list_)
    pw = us.add_parser("passwd", help="set a new password for an account (lifts a sign-in lock)")
    pw.add_argument("name")
    pw.set_defaults(func=passwd)
    r = us.add_parser("role", help="change an account's role")
    r.add_argument("name")
    r.add_argument("role", choices=ROLES)
    r.set_defaults(func=role)
    for name, flag in (("disable", True), ("enable", False)):
        d = us.add_parser(name, help=f"{name} an account")
        d.add_argument("name")
        d.set_defaults(func=lambda args, flag=flag: toggle(args, flag))


def read_password() -> str:
    """Prompt twice on a terminal; otherwise read the first line of stdin (for scripts)."""
    if sys.stdin.isatty():
        pw = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != pw:
            raise ValidationError("The two passwords differ; nothing was changed.")
        return pw
    return sys.stdin.readline().rstrip("\r\n")


def add(args) -> int:
    who = actor(args)
    u = users.add_user(who, args.name, args.role, read_password(), args.db)
    emit(u.to_json(), args.json, f"Added {u.name} ({u.role}).")
    return 0


def list_(args) -> int:
    rows = users.list_users(actor(args), args.db)
    emit_rows(rows, args.json,
              lambda u: (f"{u.name:<24} {u.role:<10} {'disabled' if u.disabled else 'enabled':<9} "
                         f"created {u.created_at:%Y-%m-%d} by {u.created_by}"),
              "No accounts yet: `shelfcast user add NAME --role admin` creates the first admin.")
    return 0


def toggle(args, disabled: bool) -> int:
    u = users.set_disabled(actor(args), args.name, disabled, args.db)
    print(f"{u.name} is now {'disabled' if u.disabled else 'enabled'}.")
    return 0


def passwd(args) -> int:
    who = actor(args)
    u = users.set_password(who, args.name, read_password(), args.db)
    print(f"New password set for {u.name}.")
    return 0


def role(args) -> int:
    u = users.set_role(actor(args), args.name, args.role, args.db)
    print(f"{u.name} is now {u.role}.")
    return 0
