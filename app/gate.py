"""Who is using this browser session: a share link, a signed-in account, or nobody yet.

Order of checks on every run:
1. `?share=TOKEN` in the URL: a valid link acts as a read-only `via_link` viewer that sees only
   the Overview; anything else gets a plain "not valid" page and nothing more. The token is
   re-checked on every click (a revoked link stops working at once) and never rendered.
2. A store with no accounts: the one-time "create the first admin" screen; nothing else runs.
3. No one signed in: the sign-in form.
4. Signed in: the account is re-read from the store, so a disabled account or a changed role
   takes effect at the next click.
Every page after the gate still relies on core's own `require` checks for anything it changes.
"""

from __future__ import annotations

import streamlit as st

from app import state, uploads, widgets
from core.access import Actor
from core.text import md

_LINK_KEY = "_share_token_hash"


def current_actor() -> Actor | None:
    """The Actor for this run, or None after rendering the gate's own screen (the caller then
    renders nothing else)."""
    api = widgets.api()
    token = st.query_params.get("share")
    if token is not None:
        return _link_actor(token, api)
    if not api.users.exist():
        _only(lambda: _first_admin_screen(api), "Welcome")
        return None
    a = state.actor()
    if a is not None and a.via_link:  # the share parameter was removed from the URL
        a = None
    if a is not None:
        a = api.users.current(a.name)
        if a is None:
            state.set_actor(None)
            st.warning("Your account was disabled or removed; sign in again or ask an admin.")
    if a is None:
        _only(lambda: _login_screen(api), "Sign in")
        return None
    state.set_actor(a)
    return a


def _link_actor(token: str, api) -> Actor | None:
    """Resolve the share token; a first opening in this session counts as a use."""
    known = st.session_state.get(_LINK_KEY) == api.sharing.hash_token(token)
    a = api.sharing.resolve(token, count=not known)
    if a is None:
        st.session_state.pop(_LINK_KEY, None)
        state.set_actor(None)
        _only(_invalid_link, "Link not valid")
        st.stop()
    st.session_state[_LINK_KEY] = api.sharing.hash_token(token)
    state.set_actor(a)
    return a


def _only(render, title: str) -> None:
    """Run a gate screen as the one and only page. Going through st.navigation (hidden) also
    replaces the page list a previous sign-in left in the browser's sidebar."""
    st.navigation([st.Page(render, title=title, url_path="gate", default=True)],
                  position="hidden").run()


def _invalid_link() -> None:
    st.title("This link is not valid")
    st.write("It may have expired or been revoked. Ask the person who sent it for a new link.")


def _first_admin_screen(api) -> None:
    st.title("Welcome to Shelfcast")
    st.write(
        "This store has no accounts yet. Create the first administrator: it can then add "
        "inventory managers, data scientists and viewers on the **Access** page."
    )
    with st.form("first-admin"):
        name = st.text_input("Admin user name", key="fa-name")
        pw = st.text_input(
            f"Password (at least {api.users.MIN_PASSWORD} characters)", type="password", key="fa-pw"
        )
        pw2 = st.text_input("Repeat the password", type="password", key="fa-pw2")
        ok = st.form_submit_button("Create admin and sign in", type="primary")
    if ok:
        if pw != pw2:
            st.error("The two passwords differ; type them again.")
            return
        done, a = widgets.action(lambda: api.users.create_first_admin(name.strip(), pw))
        if done:
            state.set_actor(a)
            st.rerun()


def _login_screen(api) -> None:
    st.title("Sign in to Shelfcast")
    with st.form("login"):
        name = st.text_input("User name", key="login-name")
        pw = st.text_input("Password", type="password", key="login-pw")
        ok = st.form_submit_button("Sign in", type="primary")
    if ok:
        done, a = widgets.action(lambda: api.users.authenticate(name.strip(), pw))
        if done:
            state.set_actor(a)
            st.rerun()
    st.caption("No account? Ask a Shelfcast admin to add you.")


def sidebar(a: Actor) -> None:
    """Who is signed in and the sign-out button; share-link sessions get no sidebar at all."""
    if a.via_link:
        return
    st.sidebar.caption(f"Signed in as {md(a.name)} ({a.role})")
    if st.sidebar.button("Sign out", key="sign-out"):
        uploads.discard()
        st.session_state.clear()  # nothing of this session (shown links, uploads) outlives it
        st.rerun()
