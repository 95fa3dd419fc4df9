"""Access: the accounts of this store (admins only). Share links have their own page."""

from __future__ import annotations

import streamlit as st

from app import widgets
from app.page_guard import header, need
from core.access import ROLES
from core.text import md

actor, api = header(
    "Access",
    "Roles: **viewer** sees the pages; **manager** also uploads actuals, acknowledges alerts and "
    "downloads; **scientist** also trains, compares, promotes, rolls back, edits alert rules and "
    "creates share links; **admin** also manages accounts.",
)

done = st.session_state.pop("access-done", None)
if done:
    st.success(done)

accounts = need(lambda: api.users.list(actor))

st.subheader("Users")
st.dataframe(
    [
        {
            "User": u.name, "Role": u.role, "Status": "disabled" if u.disabled else "enabled",
            "Created (UTC)": u.created_at.strftime("%Y-%m-%d %H:%M"), "Created by": u.created_by,
            "Locked until (UTC)": u.locked_until.strftime("%H:%M") if u.locked_until else "",
        }
        for u in accounts
    ],
    hide_index=True,
)

c1, c2 = st.columns(2)
with c1, st.form("add-user", clear_on_submit=True):
    st.markdown("**Add a user**")
    name = st.text_input("User name", key="add-name")
    role = st.selectbox("Role", ROLES, index=ROLES.index("manager"), key="add-role")
    pw = st.text_input(
        f"Initial password (at least {api.users.MIN_PASSWORD} characters; tell it to them in person)",
        type="password", key="add-pw",
    )
    if st.form_submit_button("Add user", type="primary"):
        ok, u = widgets.action(lambda: api.users.add(actor, name.strip(), role, pw))
        if ok:
            st.session_state["access-done"] = f"Added {md(u.name)} as {u.role}."
            st.rerun()

with c2:
    st.markdown("**Change a user**")
    others = [u for u in accounts if u.name != actor.name]
    if not others:
        widgets.empty_state("You are the only user. Add someone on the left.")
        st.stop()
    by_name = {u.name: u for u in others}
    pick = st.selectbox(
        "User", list(by_name), key="toggle-user",
        format_func=lambda n: f"{n} ({by_name[n].role}, {'disabled' if by_name[n].disabled else 'enabled'})",
    )
    target = by_name[pick]

    def act(fn, done: str) -> None:
        if widgets.action(fn)[0]:
            st.session_state["access-done"] = done
            st.rerun()

    r1, r2 = st.columns([2, 1], vertical_alignment="bottom")
    new_role = r1.selectbox("Role", ROLES, index=ROLES.index(target.role), key="role-new")
    if r2.button("Change role", key="role-do", disabled=new_role == target.role):
        act(lambda: api.users.set_role(actor, pick, new_role), f"{md(pick)} is now {new_role}.")
    p1, p2 = st.columns([2, 1], vertical_alignment="bottom")
    new_pw = p1.text_input("New password (also lifts a sign-in lock)", type="password", key="pw-new")
    if p2.button("Set password", key="pw-do"):
        act(lambda: api.users.set_password(actor, pick, new_pw), f"New password set for {md(pick)}.")
    label = "Enable" if target.disabled else "Disable"
    st.caption("A disabled user is signed out at their next click and cannot sign in.")
    if st.button(f"{label} {md(pick)}", key="toggle-do"):
        act(lambda: api.users.set_disabled(actor, pick, not target.disabled), f"{label}d {md(pick)}.")
