"""Who may do what. Every mutating core function calls `require` itself, so a page that forgot to
hide a button is still refused here."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import PermissionDenied

ROLES = ("viewer", "manager", "scientist", "admin")

# Permission -> lowest role that holds it. Roles are ordered: each holds everything below it.
PERMISSIONS: dict[str, str] = {
    "view": "viewer",
    "upload": "manager",
    "acknowledge_alert": "manager",
    "download": "manager",
    "train": "scientist",
    "promote": "scientist",
    "rollback": "scientist",
    "archive": "scientist",
    "edit_alert_rules": "scientist",
    "share": "scientist",
    "manage_users": "admin",
}


@dataclass(frozen=True)
class Actor:
    """The person (or scheduler) acting. `via_link` marks an executive's share-link session."""

    name: str
    role: str
    via_link: bool = False

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; roles are {', '.join(ROLES)}")

    def can(self, permission: str) -> bool:
        if self.via_link:
            return permission == "view"
        need = PERMISSIONS[permission]
        return ROLES.index(self.role) >= ROLES.index(need)


def require(actor: Actor | None, permission: str) -> Actor:
    """Raise PermissionDenied unless `actor` holds `permission`; returns the actor for chaining."""
    if actor is None:
        raise PermissionDenied(f"Sign in to {permission.replace('_', ' ')}.")
    if not actor.can(permission):
        raise PermissionDenied(
            f"{actor.name} ({actor.role}) may not {permission.replace('_', ' ')}; "
            f"that needs the {PERMISSIONS[permission]} role."
        )
    return actor


SYSTEM = Actor("system", "admin")
