"""Monitor: how the active forecast is doing against the actuals that arrived since, per SKU;
drift; alerts with acknowledge; and the alert rules (data scientists)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import state, widgets
from core import config, monitoring
from core.errors import ShelfcastError
from core.store import datasets, sales, session

actor = state.actor()
db = widgets.db()
THRESHOLD = config.ACCURACY_THRESHOLD
st.title("Monitor")

info = monitoring.active(db)
if info is None:
    widgets.empty_state(
        "No forecast version is active yet, so there is nothing to monitor. A data scientist "
        "trains a version and promotes it; accuracy and alerts appear here as new actuals arrive."
    )
    st.stop()

with session(db) as s:
    freq = datasets.get_setting(s, "freq")
    all_skus = sales.skus(s)
    all_stores = sales.stores(s)
    latest = datasets.latest_dataset(s)
# What the drift results depend on besides the filters: any upload makes a new dataset version.
STAMP = (str(db), info["version_id"], str(info.get("since")), latest.id if latest else None)


@st.cache_data(max_entries=16, show_spinner="Testing every SKU for drift …")
def cached_drift(kind: str, stamp: tuple, window: int, grain: str, skus: tuple, stores: tuple,
                 cats: tuple) -> pd.DataFrame:
    """Drift is one statistical test per SKU (seconds with thousands of SKUs) and every tab runs
    on each rerun: compute once per data version, active version and filter (bench/render.py)."""
    f = monitoring.Filters(list(skus), list(stores), list(cats))
    if kind == "data":
        return monitoring.data_drift(stamp[0], window, grain, "sku", "auto", f, keep_values=True)
    return monitoring.concept_drift(stamp[0], window, grain, "sku", filters=f)


grain0, window0 = monitoring.default_grain(freq)

st.caption(
    f"Active version {info['version_id']} ({info['kind']}), forecasts {info['forecast_start']} to "
    f"{info['forecast_end']}. Accuracy = 1 − WAPE on {grain0}ly totals, stores summed per SKU; "
    f"threshold {widgets.fmt_pct(THRESHOLD)}."
)
if info["last_actual"] is None:
    widgets.empty_state(
        f"Version {info['version_id']} forecasts from {info['forecast_start']}; no actuals for those "
        "dates have arrived yet. Upload them on the Data page (or `shelfcast ingest`) and the "
        "accuracy, drift and alerts appear here."
    )
    st.stop()

# ---------------------------------------------------------------- drill-down from a link or alert
qp = st.query_params.get("alert")
if qp and st.session_state.get("_mon_alert_qp") != qp:
    st.session_state["_mon_alert_qp"] = qp
    hit = [a for a in monitoring.alerts(db) if str(a["id"]) == qp]
    if hit:
        st.session_state["mon-sku"] = hit[0]["sku"]
        st.session_state["mon-alert"] = hit[0]["id"]

# ---------------------------------------------------------------- filters
cats = sorted({monitoring.category(x) for x in all_skus})
f1, f2, f3, f4, f5 = st.columns([2, 2, 3, 1.2, 1.2])
sel_cats = f1.multiselect("Category", cats, key="mon-cats", placeholder="All categories")
sel_stores = f2.multiselect("Store", all_stores, key="mon-stores", placeholder="All stores")
sku_pool = [x for x in all_skus if not sel_cats or monitoring.category(x) in sel_cats]
sel_skus = f3.multiselect("SKU", sku_pool, key="mon-skus", placeholder="All SKUs")
grains = ["week", "month", "day"] if not (freq or "").startswith("M") else ["month"]
grain = f4.selectbox("Period", grains, key="mon-grain", index=grains.index(grain0) if grain0 in grains else 0)
window = int(f5.number_input(f"Window ({grain}s)", 1, 52, window0, key="mon-window"))
flt = monitoring.Filters(skus=sel_skus, stores=sel_stores, categories=sel_cats)
FKEY = (tuple(sel_skus), tuple(sel_stores), tuple(sel_cats))

acc = monitoring.sku_accuracy(db, window, grain, "sku", flt, THRESHOLD)
trend = monitoring.trend(db, grain, flt)
live = monitoring.alerts(db, ["open", "acknowledged"])
if sel_skus or sel_cats:
    live = [a for a in live if a["sku"] in set(acc["sku"])]

if acc.empty:
    widgets.empty_state("No SKU matches these filters. Clear a filter to see more.")
    st.stop()

units = acc["units"].sum()
ae = (acc["wape"].fillna(0) * acc["units"]).sum()
overall = max(0.0, 1 - ae / units) if units else None
bt_acc = monitoring.backtest_accuracy(db, grain, flt)
below = int(acc["below_threshold"].sum())
m = st.columns(4)
m[0].metric(f"Accuracy, last {window} {grain}s", widgets.fmt_pct(overall),
            None if overall is None or bt_acc is None else f"{100 * (overall - bt_acc):+.1f} pts vs backtest",
            help="1 − WAPE of the SKUs in the filter, on period totals.")
m[1].metric("Backtest accuracy", widgets.fmt_pct(bt_acc), help="The same measure on the version's backtest.")
m[2].metric(f"SKUs under {widgets.fmt_pct(THRESHOLD)}", f"{below} of {len(acc)}")
n_ack = sum(a["status"] == "acknowledged" for a in live)
m[3].metric("Open alerts", sum(a["status"] == "open" for a in live),
            f"{n_ack} more acknowledged" if n_ack else None, delta_color="off", delta_arrow="off")

tab_acc, tab_attn, tab_drift, tab_alerts, tab_rules = st.tabs(
    ["Accuracy", "Needs attention", "Drift", f"Alerts ({len(live)})", "Rules"]
)

# SKU chosen for the drill-down charts: from an alert, the table, or the selector.
default_sku = st.session_state.get("mon-sku")
if default_sku not in list(acc["sku"]):
    default_sku = acc["sku"].iloc[0]
    st.session_state["mon-sku"] = default_sku


def pct_axis(fig: go.Figure, title: str = "Accuracy") -> None:
    fig.update_yaxes(tickformat=".0%", title=title, rangemode="tozero")


# ---------------------------------------------------------------- accuracy tab
with tab_acc:
    st.subheader("Accuracy over time")
    fig = go.Figure()
    fig.add_scatter(x=trend["period"], y=trend["accuracy"], mode="lines+markers", name="All SKUs in filter",
                    line={"width": 3, "color": "#1f77b4"}, marker={"size": 8},
                    hovertemplate="%{x|%d %b %Y}: %{y:.1%}<extra></extra>")
    roll = monitoring.rolling_accuracy(db, window, grain, "sku", monitoring.Filters(skus=[default_sku], stores=sel_stores))
    if not roll.empty:
        fig.add_scatter(x=roll["period"], y=roll["accuracy"], mode="lines+markers",
                        name=f"{default_sku}, rolling {window} {grain}s", line={"width": 2, "color": "#ff7f0e"},
                        hovertemplate="%{x|%d %b %Y}: %{y:.1%}<extra></extra>")
    fig.add_hline(y=THRESHOLD, line_dash="dash", line_color="#d62728",
                  annotation_text=f"threshold {widgets.fmt_pct(THRESHOLD)}", annotation_position="bottom right")
    if bt_acc is not None:
        fig.add_hline(y=bt_acc, line_dash="dot", line_color="#2ca02c",
                      annotation_text=f"backtest {widgets.fmt_pct(bt_acc)}", annotation_position="top right")
    pct_axis(fig)
    fig.update_layout(height=340, margin={"l": 10, "r": 10, "t": 10, "b": 10}, xaxis_title=None,
                      legend={"orientation": "h", "y": -0.15}, yaxis_range=[0, 1.05],
                      xaxis={"tickformat": "%d %b", "dtick": 7 * 86400000 if grain == "week" else None})
    st.plotly_chart(fig, width="stretch", key="mon-trend")

    st.subheader(f"Accuracy by SKU and {grain}")
    per = monitoring.accuracy_by_period(db, grain, "sku", flt)
    if not per.empty:
        order = list(acc["sku"])[:40]  # the worst 40 keep the heatmap readable
        heat = per[per["sku"].isin(order)].pivot_table(index="sku", columns="period", values="accuracy")
        heat = heat.reindex(order[::-1])
        cols = [pd.Timestamp(c).strftime("%d %b" if grain != "month" else "%b %Y") for c in heat.columns]
        hfig = go.Figure(go.Heatmap(
            z=heat.to_numpy(), x=cols, y=list(heat.index), zmin=0.5, zmax=1.0,
            colorscale=[[0, "#b2182b"], [0.5 * (THRESHOLD - 0.5) / 0.5, "#f4a582"],
                        [(THRESHOLD - 0.5) / 0.5, "#fddbc7"], [1, "#1a9850"]],
            text=np.vectorize(lambda v: "" if np.isnan(v) else f"{100 * v:.0f}%")(heat.to_numpy()),
            texttemplate="%{text}", hovertemplate="%{y}, %{x}: %{z:.1%}<extra></extra>",
            colorbar={"title": "Accuracy", "tickformat": ".0%"},
        ))
        hfig.update_layout(height=max(260, 26 * len(heat) + 80), margin={"l": 10, "r": 10, "t": 10, "b": 10})
        st.plotly_chart(hfig, width="stretch", key="mon-heat")
        if len(acc) > 40:
            st.caption(f"Showing the 40 least accurate of {len(acc)} SKUs; filter to see others.")

    st.subheader("Forecast vs actual")
    c1, c2 = st.columns([3, 2])
    sku = c1.selectbox("SKU", list(acc["sku"]), key="mon-sku")
    store_opt = c2.selectbox("Store", ["All stores", *all_stores], key="mon-sku-store")
    fva = monitoring.forecast_vs_actual(db, sku, None if store_opt == "All stores" else store_opt)
    ffig = go.Figure()
    band = fva.dropna(subset=["yhat"])
    ffig.add_scatter(x=band["ds"], y=band["yhat_upper"], mode="lines", line={"width": 0},
                     showlegend=False, hoverinfo="skip")
    ffig.add_scatter(x=band["ds"], y=band["yhat_lower"], mode="lines", line={"width": 0}, fill="tonexty",
                     fillcolor="rgba(31,119,180,0.18)", name="Forecast interval")
    ffig.add_scatter(x=band["ds"], y=band["yhat"], mode="lines", name="Forecast", line={"color": "#1f77b4", "width": 2})
    ffig.add_scatter(x=fva["ds"], y=fva["y"], mode="lines", name="Actual", line={"color": "#222", "width": 1.5})
    ffig.add_vline(x=pd.Timestamp(info["forecast_start"]).timestamp() * 1000, line_dash="dot", line_color="#888",
                   annotation_text="forecast start")
    ffig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10}, yaxis_title="Units",
                       legend={"orientation": "h", "y": -0.15},
                       title={"text": f"{sku} — {store_opt}", "font": {"size": 14}})
    st.plotly_chart(ffig, width="stretch", key="mon-fva")
    row = acc[acc["sku"] == sku].iloc[0]
    st.caption(
        f"{sku}: accuracy {widgets.fmt_pct(row['accuracy'])} over the last {window} {grain}s "
        f"(backtest {widgets.fmt_pct(row['backtest_accuracy'])}), bias {widgets.fmt_pct(row['bias'])} "
        f"({row['direction']}): {row['lost_units']:.0f} units of lost sales, {row['over_units']:.0f} units overstock."
    )

# ---------------------------------------------------------------- needs attention
with tab_attn:
    st.subheader("Needs attention")
    st.caption("Worst first. Bias > 0: the forecast was above sales (overstock risk); "
               "< 0: below sales (lost sales risk).")
    per_store = st.toggle("Per SKU × store", key="mon-attn-level",
                          help="Off: each SKU with its stores summed. On: every SKU at every store.")
    base = monitoring.sku_accuracy(db, window, grain, "series", flt, THRESHOLD) if per_store else acc
    open_by_sku = pd.Series([a["sku"] for a in live]).value_counts() if live else pd.Series(dtype=int)
    table = base.assign(alerts=base["sku"].map(open_by_sku).fillna(0).astype(int))
    table["store"] = table["store"].replace({"*": "all stores"})
    table = table[["sku", "store", "category", "accuracy", "backtest_accuracy", "gap", "bias", "direction",
                   "lost_units", "over_units", "units", "alerts"]]
    st.dataframe(
        table, hide_index=True, height=420, key="mon-attn",
        column_config={
            "sku": "SKU", "store": "Store", "category": "Category",
            "accuracy": st.column_config.ProgressColumn("Accuracy", format="percent", min_value=0, max_value=1),
            "backtest_accuracy": st.column_config.NumberColumn("Backtest", format="percent"),
            "gap": st.column_config.NumberColumn("vs backtest", format="percent"),
            "bias": st.column_config.NumberColumn("Bias", format="percent"),
            "direction": "Direction",
            "lost_units": st.column_config.NumberColumn("Lost-sales units", format="%.0f"),
            "over_units": st.column_config.NumberColumn("Overstock units", format="%.0f"),
            "units": st.column_config.NumberColumn("Units sold", format="%.0f"),
            "alerts": st.column_config.NumberColumn("SKU alerts", format="%d"),
        },
    )
    if actor and actor.can("download"):
        widgets.download_buttons(table, "needs_attention", "attn")

# ---------------------------------------------------------------- drift
with tab_drift:
    st.subheader("Data drift")
    dd = cached_drift("data", STAMP, window, grain, *FKEY)
    if dd.empty:
        widgets.empty_state("Too few actuals since the forecast started to test for drift (at least 7 values).")
    else:
        st.caption(f"Current window {dd['current'].iloc[0]} against the training data {dd['reference'].iloc[0]}. "
                   "KS test (drift if p < 0.05) up to 1,000 values, normalised Wasserstein distance "
                   "(drift if > 0.1) above.")
        only = st.toggle("Only drifted", value=True, key="mon-drift-only")
        view = dd[dd["drifted"]] if only else dd
        st.dataframe(
            view.drop(columns=["ref_values", "cur_values", "reference", "current"]), hide_index=True,
            height=300, key="mon-drift",
            column_config={
                "sku": "SKU", "store": None, "column": "Column", "test": "Test",
                "score": st.column_config.NumberColumn("Score", format="%.3g"),
                "threshold": st.column_config.NumberColumn("Threshold", format="%.3g"),
                "drifted": "Drift", "n_ref": "n ref", "n_cur": "n current",
                "ref_mean": st.column_config.NumberColumn("Reference mean", format="%.2f"),
                "cur_mean": st.column_config.NumberColumn("Current mean", format="%.2f"),
                "change": st.column_config.NumberColumn("Change", format="percent"),
            },
        )
        d1, d2 = st.columns(2)
        dsku = d1.selectbox("Distribution of SKU", sorted(dd["sku"].unique()),
                            index=sorted(dd["sku"].unique()).index(sku) if sku in set(dd["sku"]) else 0,
                            key="mon-drift-sku")
        dcol = d2.selectbox("Column", list(dd[dd["sku"] == dsku]["column"]), key="mon-drift-col")
        r = dd[(dd["sku"] == dsku) & (dd["column"] == dcol)].iloc[0]
        dfig = go.Figure()
        dfig.add_histogram(x=r["ref_values"], name=f"Reference (n={r['n_ref']})", histnorm="probability",
                           opacity=0.6, marker_color="#7f7f7f")
        dfig.add_histogram(x=r["cur_values"], name=f"Current (n={r['n_cur']})", histnorm="probability",
                           opacity=0.6, marker_color="#d62728" if r["drifted"] else "#1f77b4")
        dfig.update_layout(barmode="overlay", height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                           xaxis_title=f"{dcol} per store and {'day' if (freq or 'D') == 'D' else 'period'}",
                           yaxis_title="Share", yaxis_tickformat=".0%", legend={"orientation": "h", "y": -0.2},
                           title={"text": f"{dsku} · {dcol}: {r['test']} {r['score']:.3g} "
                                          f"({'drift' if r['drifted'] else 'no drift'})", "font": {"size": 14}})
        st.plotly_chart(dfig, width="stretch", key="mon-drift-hist")

    st.subheader("Concept drift")
    cd = cached_drift("concept", STAMP, window, grain, *FKEY)
    st.caption("The live error against the version's own backtest: drift when WAPE is more than 10 points "
               "worse, or the bias leans the same way by 10% or more in each of the last 3 periods.")
    st.dataframe(
        cd.sort_values(["drifted", "excess"], ascending=[False, False]), hide_index=True, height=300,
        key="mon-concept",
        column_config={
            "sku": "SKU", "store": None, "units": st.column_config.NumberColumn("Units", format="%.0f"),
            "live_wape": st.column_config.NumberColumn("Live WAPE", format="percent"),
            "backtest_wape": st.column_config.NumberColumn("Backtest WAPE", format="percent"),
            "excess": st.column_config.NumberColumn("Excess", format="percent"),
            "wape_drift": "WAPE drift", "bias_streak": "Periods", "streak_direction": "Persistent bias",
            "bias_drift": "Bias drift", "drifted": "Drift",
        },
    )

# ---------------------------------------------------------------- alerts
def drill(sku_of: dict[int, str]) -> None:
    """Runs before the widgets are built, so the SKU selector can be moved to the alert's SKU.
    It reads the alert picked now (session state), not the one of the last finished run."""
    alert_id = st.session_state.get("mon-alert-pick")
    if alert_id not in sku_of:
        return
    st.session_state["mon-sku"] = sku_of[alert_id]
    st.session_state["mon-alert"] = alert_id
    st.session_state["mon-skus"] = []
    st.session_state["mon-cats"] = []


with tab_alerts:
    st.subheader("Alerts")
    can_ack = bool(actor and actor.can("acknowledge_alert"))
    top = st.columns([1, 4])
    if can_ack and top[0].button("Check rules now", key="mon-evaluate",
                                 help="Re-evaluate every rule against the active version now."):
        try:
            ev = monitoring.evaluate(actor, db)
        except ShelfcastError as exc:
            st.error(str(exc))
        else:
            st.session_state["mon-eval-msg"] = (
                ev.skipped or f"{len(ev.opened)} new, {ev.updated} still firing, {len(ev.resolved)} resolved.")
            st.rerun()
    if st.session_state.get("mon-eval-msg"):
        top[1].success(st.session_state.pop("mon-eval-msg"))
    if not live:
        widgets.empty_state("No open alerts. Rules are checked after every upload of actuals.")
    else:
        frame = pd.DataFrame(live)[["id", "status", "rule", "sku", "store", "message", "opened_at",
                                    "acknowledged_by", "ack_note"]]
        frame["opened_at"] = frame["opened_at"].str[:16].str.replace("T", " ")
        st.dataframe(frame, hide_index=True, height=300, key="mon-alerts",
                     column_config={"id": "#", "status": "Status", "rule": "Rule", "sku": "SKU",
                                    "store": "Store", "message": st.column_config.TextColumn("What", width="large"),
                                    "opened_at": "Opened (UTC)", "acknowledged_by": "Acknowledged by",
                                    "ack_note": "Note"})
        ids = [a["id"] for a in live]
        pre = st.session_state.get("mon-alert")
        label = {a["id"]: f"#{a['id']} {a['sku']} — {a['rule']} ({a['status']})" for a in live}
        chosen = st.selectbox("Alert", ids, index=ids.index(pre) if pre in ids else 0,
                              format_func=label.get, key="mon-alert-pick")
        a = next(x for x in live if x["id"] == chosen)
        st.write(a["message"])
        b1, b2 = st.columns([1, 3])
        b1.button("Show this SKU's charts", key="mon-drill", on_click=drill, args=({x["id"]: x["sku"] for x in live},),
                  help="Opens the Accuracy tab's charts on this SKU.")
        if can_ack and a["status"] == "open":
            with st.form("mon-ack-form", clear_on_submit=True):
                note = st.text_input("Note (what is being done)", key="mon-ack-note",
                                     placeholder="e.g. order cut by 30%, watching next week")
                if st.form_submit_button("Acknowledge", type="primary"):
                    try:
                        monitoring.acknowledge(actor, a["id"], note, db)
                    except ShelfcastError as exc:
                        st.error(str(exc))
                    else:
                        st.rerun()
        elif a["status"] == "acknowledged":
            b2.caption(f"Acknowledged by {a['acknowledged_by']}: {a['ack_note']}")
    with st.expander("Alert history (resolved and all events)"):
        resolved = monitoring.alerts(db, ["resolved"])
        if resolved:
            st.dataframe(pd.DataFrame(resolved)[["id", "rule", "sku", "store", "opened_at", "acknowledged_by",
                                                 "resolved_at", "message"]], hide_index=True, key="mon-resolved")
        hist = monitoring.history(db)
        if hist:
            st.dataframe(pd.DataFrame(hist), hide_index=True, height=240, key="mon-events")
        if not resolved and not hist:
            st.caption("Nothing yet.")

# ---------------------------------------------------------------- rules
with tab_rules:
    st.subheader("Alert rules")
    rules = monitoring.rules(db) if (actor and actor.can("edit_alert_rules")) else monitoring.rule_list(db)
    if rules:
        st.dataframe(pd.DataFrame([{
            "#": r.id, "Name": r.name, "Kind": monitoring.KIND_LABELS.get(r.kind, r.kind),
            "Threshold": r.threshold, "Window": f"{r.window} {r.grain}s", "Level": r.level,
            "SKUs": ", ".join(json.loads(r.skus)) or "all", "Stores": ", ".join(json.loads(r.stores)) or "all",
            "Options": r.params, "On": r.enabled, "Changed by": r.updated_by,
        } for r in rules]), hide_index=True, key="mon-rules")
    else:
        st.caption("The default rules are created at the first check.")
    if not (actor and actor.can("edit_alert_rules")):
        st.caption("Data scientists edit the rules.")
    else:
        NEW = 0
        pick = st.selectbox("Edit rule", [NEW, *[r.id for r in rules]],
                            format_func=lambda i: "New rule" if i == NEW else f"#{i} {next(r.name for r in rules if r.id == i)}",
                            key="mon-rule-pick")
        r = next((x for x in rules if x.id == pick), None)
        p = json.loads(r.params) if r else {}
        with st.form("mon-rule-form"):
            c1, c2, c3 = st.columns(3)
            name = c1.text_input("Name", r.name if r else "", key=f"rule-name-{pick}")
            kinds = list(monitoring.KINDS)
            kind = c2.selectbox("Kind", kinds, index=kinds.index(r.kind) if r else 0,
                                format_func=monitoring.KIND_LABELS.get, key=f"rule-kind-{pick}")
            thr = c3.number_input("Threshold (accuracy share, or WAPE margin for concept drift)",
                                  0.0, 1.0, float(r.threshold if r else THRESHOLD), 0.01, key=f"rule-thr-{pick}")
            c4, c5, c6 = st.columns(3)
            win = c4.number_input("Window (periods)", 1, 104, int(r.window if r else window0), key=f"rule-win-{pick}")
            gr = c5.selectbox("Period", ["week", "month", "day"],
                              index=["week", "month", "day"].index(r.grain if r else grain0), key=f"rule-grain-{pick}")
            lvl = c6.selectbox("Level", ["sku", "series"], index=["sku", "series"].index(r.level if r else "sku"),
                               format_func={"sku": "SKU (stores summed)", "series": "SKU × store"}.get,
                               key=f"rule-level-{pick}")
            c7, c8 = st.columns(2)
            rskus = c7.multiselect("Only these SKUs (empty: all)", all_skus,
                                   default=[x for x in json.loads(r.skus) if x in all_skus] if r else [], key=f"rule-skus-{pick}")
            rstores = c8.multiselect("Only these stores (empty: all)", all_stores,
                                     default=[x for x in json.loads(r.stores) if x in all_stores] if r else [],
                                     key=f"rule-stores-{pick}")
            c9, c10, c11 = st.columns(3)
            min_units = c9.number_input("Minimum units in window", 0, 10**9, int(p.get("min_units", 100)), key=f"rule-minu-{pick}")
            min_change = c10.number_input("Data drift: minimum change of the mean", 0.0, 10.0,
                                          float(p.get("min_change", 0.25)), 0.05, key=f"rule-minc-{pick}")
            method = c11.selectbox("Data drift test", list(monitoring.DRIFT_METHODS),
                                   index=list(monitoring.DRIFT_METHODS).index(p.get("method", "auto")), key=f"rule-method-{pick}")
            c12, c13, c14 = st.columns(3)
            bias_n = c12.number_input("Concept drift: bias periods", 1, 52, int(p.get("bias_periods", 3)), key=f"rule-bn-{pick}")
            bias_min = c13.number_input("Concept drift: minimum bias", 0.0, 5.0, float(p.get("bias_min", 0.10)), 0.01,
                                        key=f"rule-bmin-{pick}")
            regs = c14.checkbox("Data drift: include regressors", bool(p.get("regressors", False)), key=f"rule-regs-{pick}")
            enabled = st.checkbox("Enabled", r.enabled if r else True, key=f"rule-on-{pick}")
            if st.form_submit_button("Save rule", type="primary"):
                params = {"min_units": min_units}
                if kind == "data_drift":
                    params = {"method": method, "min_change": min_change, "regressors": regs}
                elif kind == "concept_drift":
                    params = {"bias_periods": bias_n, "bias_min": bias_min, "min_units": min_units}
                try:
                    monitoring.save_rule(actor, db, r.id if r else None, name=name, kind=kind, threshold=thr,
                                         window=win, grain=gr, level=lvl, params=params, skus=rskus,
                                         stores=rstores, enabled=enabled)
                except ShelfcastError as exc:
                    st.error(str(exc))
                else:
                    st.success("Saved. Its alerts follow at the next check.")
        if r and st.button(f"Delete rule #{r.id}", key=f"rule-delete-{pick}"):
            try:
                monitoring.delete_rule(actor, r.id, db)
            except ShelfcastError as exc:
                st.error(str(exc))
            else:
                st.rerun()
        with st.expander("Webhook"):
            import os

            from core import webhook

            url, secret = webhook.settings(db)
            st.caption(
                "New alerts are POSTed as JSON, signed with HMAC-SHA256 (header X-Shelfcast-Signature) "
                "using SHELFCAST_WEBHOOK_SECRET from the environment or .streamlit/secrets.toml. "
                f"Secret configured: {'yes' if secret else 'no'}."
            )
            if os.environ.get("SHELFCAST_WEBHOOK_URL"):
                st.write("URL set by SHELFCAST_WEBHOOK_URL.")
            else:
                new_url = st.text_input("Webhook URL (empty: off)", url or "", key="mon-webhook-url")
                if st.button("Save webhook URL", key="mon-webhook-save"):
                    try:
                        monitoring.set_webhook(actor, new_url, db)
                    except ShelfcastError as exc:
                        st.error(str(exc))
                    else:
                        st.success("Saved.")
