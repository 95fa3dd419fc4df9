"""The store: the only package that writes SQL. Everything else calls the functions here.

Each area keeps its tables and queries in its own module (sales, versions, registry, ...);
`schema.create_all` makes every table in one go.
"""

from core.store.db import session, unit

__all__ = ["session", "unit"]
