"""Share links: read-only links to the Overview for people without an account (executives)."""

from __future__ import annotations

import streamlit as st

from app import widgets
from app.page_guard import header, need

actor, api = header(
    "Share links",
    "A share link opens the Overview read-only, with no sign-in: nothing can be changed through "
    "it and no other page can be reached. Links expire and can be revoked at any time.",
)

new = st.session_state.pop("share-new", None)
if new:
    st.success(
        "Link created. Copy it now: it is shown only this once (the store keeps only a hash)."
    )
    st.code(new, language=None)

with st.form("share-create", clear_on_submit=True):
    c1, c2, c3 = st.columns([3, 1, 1])
    label = c1.text_input("Label (who it is for)", placeholder="e.g. Board pack November", key="share-label")
    days = c2.number_input("Expires in (days)", min_value=1, max_value=api.sharing.MAX_DAYS,
                           value=api.sharing.DEFAULT_DAYS, step=1, key="share-days")
    c3.write("")
    if c3.form_submit_button("Create link", type="primary"):
        ok, made = widgets.action(lambda: api.sharing.create(actor, label, int(days)))
        if ok:
            st.session_state["share-new"] = made.url
            st.rerun()

links = need(lambda: api.sharing.list(actor))

st.subheader("Links")
if not links:
    widgets.empty_state("No links yet. Create one above and send it to whoever needs the Overview.")
    st.stop()


def _t(x) -> str:
    return x.strftime("%Y-%m-%d %H:%M") if x else ""


st.dataframe(
    [
        {
            "Id": x.id, "Label": x.label, "Status": x.status, "Created by": x.created_by,
            "Created (UTC)": _t(x.created_at), "Expires (UTC)": _t(x.expires_at),
        }
        for x in links
    ],
    hide_index=True,
)
active = [x for x in links if x.status == "active"]
if active:
    c1, c2 = st.columns([3, 1])
    pick = c1.selectbox(
        "Revoke a link", [x.id for x in active], key="share-revoke-id",
        format_func=lambda i: next(f"#{x.id} {x.label or '(no label)'}" for x in active if x.id == i),
    )
    c2.write("")
    if c2.button("Revoke", key="share-revoke"):
        if widgets.action(lambda: api.sharing.revoke(actor, int(pick)))[0]:
            st.rerun()
