"""Replenishment: what to order now, per SKU × store, from the active forecast; what the policy
would have done on history; planner overrides; stock and policy uploads. Thin: every number
and every refusal comes from core.inventory (viewers look, managers act)."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app import inventory_charts, state, widgets
from core.errors import ShelfcastError
from core.text import md, strip_bidi

log = logging.getLogger("shelfcast.pages.replenishment")
actor = state.actor()
inv = widgets.api().inventory
ALL_STORES = "All stores of the SKU"
MODES = {"Units per period": "units", "± % of the forecast": "pct"}
NONE = "(none)"
ROWS = 1_000  # rows of the ranked table (and series to pick for the projection) on the page


def guarded(fn: Callable[[], Any], what: str) -> Any:
    """Run a core call; a refusal becomes its message, anything else a short apology (details
    in the server log), never a traceback. Returns None when it failed."""
    try:
        return fn()
    except ShelfcastError as exc:
        st.error(md(str(exc)))
    except Exception:  # noqa: BLE001 - the page must not show a traceback
        log.exception("replenishment page: %s failed", what)
        st.error(f"Could not {what}: an unexpected error was logged on the server.")
    return None


def render() -> None:
    """The whole page; the try at the bottom keeps an unexpected error from reaching the user."""
    st.title("Replenishment")
    flash = st.session_state.pop("repl_flash", None)
    if flash:
        st.success(md(flash))

    try:
        prop = inv.proposals(actor)
    except ShelfcastError as exc:
        widgets.empty_state(
            f"{md(exc)} Replenishment proposals come from the active forecast version: train one and "
            "promote it on Compare, then upload stock and policies here."
        )
        st.stop()
    except Exception:  # noqa: BLE001 - the page must not show a traceback
        log.exception("replenishment page: proposals failed")
        st.error("Could not compute the proposals: an unexpected error was logged on the server.")
        st.stop()

    version = int(prop["version"].iloc[0])
    has_stock = prop["on_hand"].notna()
    st.caption(
        f"Proposals from the active version v{version}, with the planner overrides in force. Periodic "
        "review: order up to the forecast demand over lead time + review period plus safety stock, "
        "rounded up to packs."
    )
    if not has_stock.any():
        st.info("No stock snapshot is on file yet: managers upload one below (Upload stock & policy) "
                "to get order quantities.")

    # --- headline figures ------------------------------------------------------------------------
    due = prop[prop["order_qty"] > 0]
    c = st.columns(5)
    c[0].metric("SKU × store series", widgets.fmt_int(len(prop)))
    c[1].metric("Orders due now", widgets.fmt_int(len(due)))
    c[2].metric("Units to order", widgets.fmt_int(round(float(due["order_qty"].sum()))))
    value = due["order_value"].sum(min_count=1)
    c[3].metric("Order value (at cost)", "–" if pd.isna(value) else f"{value:,.0f}")
    c[4].metric("Stock-out risk before delivery", widgets.fmt_int(int(prop["at_risk"].sum())))

    # --- filters and the ranked table ------------------------------------------------------------
    st.subheader("Proposed orders")
    f = st.columns(2)
    cats = f[0].multiselect("Category", sorted(prop["category"].dropna().unique()), key="repl-cat",
                            format_func=strip_bidi)
    stores = f[1].multiselect("Store", sorted(prop["store"].dropna().unique()), key="repl-store",
                              format_func=strip_bidi)
    f = st.columns([1, 1.6, 1.4])
    order_now = f[0].checkbox("Order now", key="repl-order-now", help="Only series with an order due.")
    at_risk = f[1].checkbox("Stock-out risk before next delivery", key="repl-risk",
                            help="Likelier to run out before an order placed now arrives than the "
                                 "service level allows.")
    rank_by = f[2].radio("Rank by", ["Units", "Value"], horizontal=True, key="repl-rank",
                         help="Units: the order quantity, then the units short before delivery. "
                              "Value: the same at unit cost.")

    view = prop.copy()
    # What is at stake if nothing is done: the units short over the lead time (expected demand
    # beyond what is on hand), and the order itself.
    view["short_lead_time"] = (view["demand_lead_time"] - view["on_hand"]).clip(lower=0)
    if cats:
        view = view[view["category"].isin(cats)]
    if stores:
        view = view[view["store"].isin(stores)]
    if order_now:
        view = view[view["order_qty"] > 0]
    if at_risk:
        view = view[view["at_risk"]]
    if rank_by == "Value":
        view = view.assign(_k1=view["order_qty"] * view["unit_cost"].fillna(0),
                           _k2=view["short_lead_time"] * view["price"].fillna(0))
    else:
        view = view.assign(_k1=view["order_qty"], _k2=view["short_lead_time"])
    view = view.sort_values(["_k1", "_k2", "sku", "store"], ascending=[False, False, True, True])

    top = view.head(ROWS)  # a page of rows, not 100,000: the downloads hold every series
    units = ["on_hand", "safety_stock", "reorder_point", "order_up_to", "order_qty", "short_lead_time"]
    shown = top.assign(**{u: top[u].round(0) for u in units},
                       sku=top["sku"].map(strip_bidi), store=top["store"].map(strip_bidi),
                       stockout_risk=100 * top["stockout_risk"], packs=top["packs"].round(0),
                       overridden=top["overridden"].map({True: "yes", False: ""}))
    st.caption(f"{len(view):,} of {len(prop):,} series, ranked by what is at stake in "
               f"{'money' if rank_by == 'Value' else 'units'}. Units are rounded to whole units."
               + (f" The table lists the first {ROWS:,}; the order downloads hold every series."
                  if len(view) > ROWS else ""))
    st.dataframe(
        shown[["sku", "store", "order_qty", "packs", "on_hand", "reorder_point", "safety_stock",
               "order_up_to", "short_lead_time", "stockout_risk", "order_value", "overridden", "reason"]],
        hide_index=True, key="repl-table",
        column_config={
            "sku": "SKU", "store": "Store",
            **widgets.number_columns({
                "order_qty": ("Order (units)", "%.0f"), "packs": ("Packs", "%.0f"), "on_hand": ("On hand", "%.0f"),
                "reorder_point": ("Reorder point", "%.0f"), "safety_stock": ("Safety stock", "%.0f"),
                "order_up_to": ("Order-up-to", "%.0f"), "stockout_risk": ("Stock-out risk %", "%.0f"),
                "order_value": ("Order value", "%.2f")}),
            "short_lead_time": st.column_config.NumberColumn(
                "Short before delivery (units)", format="%.0f",
                help="Forecast demand over the lead time beyond what is on hand."),
            "overridden": st.column_config.TextColumn("Override"),
            "reason": st.column_config.TextColumn("Why", width="large"),
        },
    )

    if actor is not None and actor.can("download"):
        def order_file(suffix: str) -> bytes:
            """The ERP order file made by core (it checks the download permission itself)."""
            with tempfile.TemporaryDirectory() as d:
                out = Path(d) / f"orders{suffix}"
                inv.export_orders(actor, out)
                return out.read_bytes()

        d1, d2, _ = st.columns([1.4, 1.4, 3])
        d1.download_button("Download orders CSV", lambda: order_file(".csv"), f"orders_v{version}.csv",
                           "text/csv", key="repl-dl-csv")
        d2.download_button("Download orders Parquet", lambda: order_file(".parquet"),
                           f"orders_v{version}.parquet", "application/octet-stream", key="repl-dl-pq")

    # --- one series' projection ------------------------------------------------------------------
    st.subheader("One SKU × store: projected stock")
    pickable = top[top["on_hand"].notna()]
    if pickable.empty:
        st.info("No series with a stock snapshot matches the filters.")
    else:
        keys = list(zip(pickable["sku"], pickable["store"], strict=True))
        sku, store = st.selectbox("SKU × store", keys, key="repl-series",
                                  format_func=lambda k: f"{strip_bidi(k[0])} · {strip_bidi(k[1])}")
        proj = guarded(lambda: inv.projection(actor, sku, store), "project the stock")
        if proj is not None and not proj.empty:
            r = pickable.set_index(["sku", "store"]).loc[(sku, store)]
            horizon = int(r["lead_time"]) + int(r["review_period"])
            st.plotly_chart(inventory_charts.projection_figure(proj, sku, store, horizon), key="repl-chart")
            st.caption(f"Shown over the lead time + review period ({horizon} periods): until an order "
                       "placed at the next review could arrive.")
            st.caption(md(r["reason"]))

    def sim_view(t: pd.DataFrame) -> pd.DataFrame:
        """The simulation table in words and whole units (money figures empty without cost/price)."""
        def n(col: str, digits: int = 0, scale: float = 1.0) -> pd.Series:
            return (scale * pd.to_numeric(t[col], errors="coerce")).round(digits)

        return pd.DataFrame({
            "Policy": t["policy"], "Fill rate %": n("fill_rate", 2, 100), "Availability %": n("availability", 2, 100),
            "Stock-out periods": n("stockout_periods"), "Lost sales (units)": n("lost_units"),
            "Lost sales (at price)": n("lost_value"), "Avg inventory (units)": n("avg_inventory"),
            "Avg overstock (units)": n("avg_overstock"), "Avg overstock (at cost)": n("avg_overstock_value"),
            "Turns": n("turns", 1),
        })


    # --- simulation, overrides, uploads ---------------------------------------------------------
    tabs = st.tabs(["Policy simulation", "Overrides", "Upload stock & policy"], key="repl-tabs")

    with tabs[0]:
        st.caption(
            "The same policy replayed over the backtest period with the forecasts each version made at "
            "each cut-off, against the actual sales: what ordering by this forecast would have done to "
            "the shelf, against ordering by seasonal naive."
        )
        sim = guarded(lambda: inv.simulate(actor), "run the policy simulation")
        if sim is not None:
            if sim.headline:
                st.success(md(sim.headline))
            t = sim.table
            table = guarded(lambda: sim_view(t), "show the simulation")
            if table is not None:
                big = ["Lost sales (units)", "Lost sales (at price)", "Avg inventory (units)",
                       "Avg overstock (units)", "Avg overstock (at cost)"]
                st.dataframe(table, hide_index=True, key="repl-sim",
                             column_config={c: st.column_config.NumberColumn(c, format="localized") for c in big})
            st.caption(f"Backtest period {t['first_date'].iloc[0]} to {t['last_date'].iloc[0]}, "
                       f"{int(t['series'].iloc[0]):,} series.")
            for note in sim.notes:
                st.caption(md(note))

    with tabs[1]:
        ov = guarded(lambda: inv.overrides(include_ended=False), "list the overrides")
        if ov is not None and ov.empty:
            st.info("No override in force.")
        elif ov is not None:
            st.dataframe(
                ov.assign(sku=ov["sku"].map(strip_bidi), store=ov["store"].fillna(ALL_STORES).map(strip_bidi),
                          note=ov["note"].map(strip_bidi))[
                    ["id", "sku", "store", "start_date", "end_date", "mode", "value", "reason", "note",
                     "created_by", "created_at"]],
                hide_index=True, key="repl-overrides",
                column_config={"id": "Id", "sku": "SKU", "store": "Store", "start_date": "From",
                               "end_date": "To", "mode": "Mode", "value": "Value", "reason": "Reason",
                               "note": "Note", "created_by": "By", "created_at": "When (UTC)"},
            )
        if actor is not None and actor.can("upload"):
            st.markdown("**Set an override**")
            o = st.columns(3)
            skus = sorted(prop["sku"].unique())
            o_sku = o[0].selectbox("SKU", skus, key="ov-sku", format_func=strip_bidi)
            o_store = o[1].selectbox("Store", [ALL_STORES, *sorted(prop.loc[prop["sku"] == o_sku, "store"])],
                                     key="ov-store", format_func=strip_bidi)
            start0 = pd.Timestamp(prop["forecast_from"].min()).date()
            o_dates = o[2].date_input("Date range", (start0, start0 + timedelta(days=6)), key="ov-dates")
            o2 = st.columns(3)
            o_mode = MODES[o2[0].radio("Override as", list(MODES), horizontal=True, key="ov-mode")]
            o_value = o2[1].number_input("Units per period" if o_mode == "units" else "Change in %",
                                         value=0.0, step=1.0, key="ov-value")
            o_reason = o2[2].selectbox("Reason", inv.REASONS, key="ov-reason")
            o_note = st.text_input("Note (what the planner knows)", key="ov-note", max_chars=500)
            if st.button("Save override", type="primary", key="ov-save"):
                dates = tuple(o_dates) if isinstance(o_dates, list | tuple) else (o_dates,)
                if len(dates) != 2:
                    st.error("Choose a start and an end date.")
                else:
                    made = guarded(lambda: inv.set_override(
                        actor, o_sku, dates[0], dates[1], o_mode, o_value, o_reason, o_note,
                        store=None if o_store == ALL_STORES else o_store), "save the override")
                    if made is not None:
                        st.session_state["repl_flash"] = (
                            f"Override {made.id} saved for {o_sku}; the orders above include it.")
                        st.rerun()
            if ov is not None and not ov.empty:
                st.markdown("**End an override**")
                e1, e2 = st.columns([3, 1])
                end_id = e1.selectbox("Override", [int(i) for i in ov["id"]], key="ov-end-id",
                                      format_func=lambda i: strip_bidi(
                                          f"{i}: {ov.set_index('id').loc[i, 'sku']} "
                                          f"{ov.set_index('id').loc[i, 'start_date']} to "
                                          f"{ov.set_index('id').loc[i, 'end_date']}"))
                if e2.button("End override", key="ov-end"):
                    ended = guarded(lambda: inv.end_override(actor, end_id), "end the override")
                    if ended is not None:
                        st.session_state["repl_flash"] = f"Override {end_id} ended."
                        st.rerun()
        else:
            st.caption("Managers set and end overrides.")

    with tabs[2]:
        if actor is None or not actor.can("upload"):
            st.caption("Managers upload stock snapshots and policies.")
        else:
            kind = st.radio("File", ["stock", "policy"], horizontal=True, key="inv-kind",
                            format_func={"stock": "Stock on hand", "policy": "Policy"}.get)
            st.caption(
                "Stock: date, sku, store, on_hand. Policy: sku, store (blank = every store), lead_time, "
                "review_period, service_level (0-1), pack_size, min_order, unit_cost, price; absent "
                "columns take the defaults (lead time 1, review 1, 95% service, pack 1). A file with "
                "any problem is refused whole, with every problem listed."
            )
            up = st.file_uploader("Stock or policy file", type=["csv", "tsv", "txt", "parquet", "xlsx"],
                                  key=f"inv-upload-{kind}")
            if up is not None:
                tmp = Path(tempfile.gettempdir()) / (
                    f"shelfcast-inv-{id(st.session_state)}{Path(up.name).suffix.lower()}")
                tmp.write_bytes(up.getvalue())
                got = guarded(lambda: inv.inspect(tmp, kind, up.name), "read the file")
                if got is not None:
                    cols, guess, preview = got
                    st.dataframe(preview.astype(str), hide_index=True, key="inv-preview")
                    options = [NONE, *cols]
                    mapping: dict[str, str] = {}
                    roles = inv.ROLES[kind]
                    mc = st.columns(min(len(roles), 5))
                    for i, role in enumerate(roles):
                        cur = guess.get(role)
                        need = " (required)" if role in inv.REQUIRED[kind] else ""
                        pick = mc[i % len(mc)].selectbox(f"{role}{need}", options,
                                                         index=options.index(cur) if cur in options else 0,
                                                         key=f"inv-map-{kind}-{role}", format_func=strip_bidi)
                        if pick != NONE:
                            mapping[role] = pick
                    if st.button("Load file", type="primary", key="inv-load"):
                        res = guarded(lambda: inv.ingest(actor, tmp, kind, mapping,
                                                                      file_name=up.name), "load the file")
                        if res is not None:
                            st.session_state["repl_flash"] = res.summary()
                            st.rerun()


try:
    render()
except Exception:  # noqa: BLE001 - st.stop/st.rerun are BaseException and pass through
    log.exception("replenishment page failed")
    st.error("This page hit an unexpected error; it was logged on the server. Reload to try again.")
