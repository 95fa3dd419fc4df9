"""Who is using this browser session: a share link, a signed-in account, or nobody yet.

Order of checks on every run:
1. `?share=TOKEN` in the URL: a valid link acts as a read-only `via_link` viewer that sees only
   the Overview; anything else gets a plain "not valid" page and nothing more. The token is
   re-checked on every click (a revoked link stops working at once) and never rendered.
2. A store with no accounts: the one-time "create the first admin" screen; nothing else runs.
3. No one signed in in this browser session: the session cookie (core.browser_sessions: a random
   token, only its hash stored, expiring, revoked on sign-out) signs a reloaded tab back in;
   without a live one, the sign-in form.
4. Signed in: the account is re-read from the store, so a disabled account or a changed role
   takes effect at the next click.
The gate's screens answer at every page's address, so a deep link (`/monitor?alert=7`) opened
signed out keeps its path and query in the URL and opens that page after sign-in.
Every page after the gate still relies on core's own `require` checks for anything it changes.
"""

from __future__ import annotations

import streamlit as st

from app import nav, state, uploads, widgets
from core.access import Actor
from core.text import md

_TOKEN_KEY = "_session_token"  # this tab's sign-in token (to revoke it on sign-out)
_COOKIE_KEY = "_cookie_to_write"  # a token the browser still has to store, or "" to forget it
_SIGNED_OUT = "_signed_out"  # this tab signed out: its old cookie is never tried again


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
    if a is None:
        a = _from_cookie(api)
    if a is not None:
        a = api.users.current(a.name)
        if a is None:
            state.set_actor(None)
            st.warning("Your account was disabled or removed; sign in again or ask an admin.")
    if a is None:
        _only(lambda: _login_screen(api), "Sign in")
        return None
    state.set_actor(a)
    _write_cookie(api)
    return a


def _from_cookie(api) -> Actor | None:
    """A reloaded tab: the cookie's token, if still live, signs this session in again. A token
    this tab has just revoked (sign-out) is not tried, since the browser sent it before."""
    token = st.context.cookies.get(api.sessions.COOKIE)
    if not isinstance(token, str) or st.session_state.get(_SIGNED_OUT):
        return None
    a = api.sessions.resolve(token)
    if a is not None:
        st.session_state[_TOKEN_KEY] = token
    return a


def _signed_in(a: Actor, token: str) -> None:
    state.set_actor(a)
    st.session_state[_TOKEN_KEY] = token
    st.session_state[_COOKIE_KEY] = token
    st.session_state.pop(_SIGNED_OUT, None)


def _write_cookie(api) -> None:
    """Store (or drop) the session cookie in the browser. Streamlit can read cookies but not set
    them, so a one-line script does; the token is URL-safe base64 from `secrets` (checked again
    here), never user text, and the cookie is scoped to this path, SameSite=Strict."""
    token = st.session_state.pop(_COOKIE_KEY, None)
    if token is None:
        return
    if token and not token.replace("-", "").replace("_", "").isalnum():
        return
    age = int(api.sessions.hours() * 3600) if token else 0
    st.html(
        f"<script>document.cookie = '{api.sessions.COOKIE}={token}; path=/; max-age={age}; "
        "SameSite=Strict';</script>",
        unsafe_allow_javascript=True,
    )


def _link_actor(token: str, api) -> Actor | None:
    """Resolve the share token (a pure read: share links never write)."""
    a = api.sharing.resolve(token)
    if a is None:
        state.set_actor(None)
        _only(_invalid_link, "Link not valid")
        st.stop()
    state.set_actor(a)
    return a


def _only(render, title: str) -> None:
    """Run a gate screen as the only thing shown, at whatever page address was asked for (so a
    deep link is not "Page not found" and keeps its address for after sign-in). Going through
    st.navigation (hidden) also replaces the page list a previous sign-in left in the sidebar."""
    pages = [st.Page(render, title=title, url_path="gate", default=True)] + [
        st.Page(render, title=title, url_path=f.removesuffix(".py")) for f, _t, _p in nav.PAGES]
    st.navigation(pages, position="hidden").run()


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
        done, r = widgets.action(lambda: api.sessions.create_first_admin(name.strip(), pw))
        if done:
            _signed_in(*r)
            st.rerun()


def _login_screen(api) -> None:
    _write_cookie(api)
    st.title("Sign in to Shelfcast")
    with st.form("login"):
        name = st.text_input("User name", key="login-name")
        pw = st.text_input("Password", type="password", key="login-pw")
        ok = st.form_submit_button("Sign in", type="primary")
    if ok:
        done, r = widgets.action(lambda: api.sessions.sign_in(name.strip(), pw))
        if done:
            _signed_in(*r)
            st.rerun()
    st.caption("No account? Ask a Shelfcast admin to add you.")


def sidebar(a: Actor) -> None:
    """Who is signed in and the sign-out button; share-link sessions get no sidebar at all."""
    if a.via_link:
        return
    st.sidebar.caption(f"Signed in as {md(a.name)} ({a.role})")
    if st.sidebar.button("Sign out", key="sign-out"):
        uploads.discard()
        widgets.action(lambda: widgets.api().sessions.sign_out(st.session_state.get(_TOKEN_KEY)))
        st.session_state.clear()  # nothing of this session (shown links, uploads) outlives it
        st.session_state[_COOKIE_KEY] = ""  # forget the cookie on the next (sign-in) screen
        st.session_state[_SIGNED_OUT] = True
        st.rerun()
