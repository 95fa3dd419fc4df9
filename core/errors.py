"""Errors that carry a message meant for the person using Shelfcast, not for a developer."""


class ShelfcastError(Exception):
    """Base for errors whose text is shown to the user as is (CLI exit 2, st.error in the app)."""


class ValidationError(ShelfcastError):
    """An input (upload, option, id) was refused; nothing was changed."""


class PermissionDenied(ShelfcastError):
    """The acting user's role does not allow the action."""


class StoreBusy(ShelfcastError):
    """Another process held the store for longer than the bounded retry allowed."""


class NotFound(ShelfcastError):
    """A version, dataset, user or link that was asked for does not exist."""
