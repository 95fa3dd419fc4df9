"""A store made when opening a share link still counted its uses: it opens with today's code,
loses the two columns nothing writes any more, and its links keep working."""

from __future__ import annotations

import duckdb

from core import sharing
from core.access import Actor
from core.store import db as store_db
from core.store import session


def _columns(path) -> set[str]:
    con = duckdb.connect(str(path))
    try:
        return {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'share_links'").fetchall()}
    finally:
        con.close()


def test_an_older_store_drops_the_use_counter_and_keeps_its_links(db):
    made = sharing.create(Actor("sam", "scientist"), "Board", db=db)
    token = made.url.split("share=")[1]
    assert "use_count" not in _columns(db)
    store_db.forget(db)
    con = duckdb.connect(str(db))  # the store as the older code left it
    con.execute("ALTER TABLE share_links ADD COLUMN last_used_at TIMESTAMPTZ")
    con.execute("ALTER TABLE share_links ADD COLUMN use_count INTEGER DEFAULT 0")
    con.execute("DELETE FROM settings WHERE key = 'schema_code'")  # made by other store code
    con.close()

    with session(db) as s:  # opening it brings the schema up to date
        s.connection()
    cols = _columns(db)
    assert {"token_hash", "expires_at", "revoked_at"} <= cols
    assert not cols & {"use_count", "last_used_at"}
    assert sharing.resolve(token, db) == Actor(f"share link {made.info.id}", "viewer", via_link=True)
