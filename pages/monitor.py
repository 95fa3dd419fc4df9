"""Monitor: how the active forecast is doing against the actuals that arrived since, per SKU;
drift; alerts with acknowledge; and the alert rules (data scientists).

Thin: widgets -> core.monitoring.Monitoring -> app.monitor_charts. Viewing writes nothing; the
buttons that write (check rules, acknowledge, save a rule, webhook) go through core, which checks
the role. SKU, store and column names, notes and messages are user text, shown literally.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from app import monitor_charts as charts
from app import state, widgets
from core import text
from core.api import (
    ACCURACY_THRESHOLD,
    KIND_LABELS,
    RULE_KINDS,
    Filters,
    Monitoring,
    default_grain,
)
from core.errors import ShelfcastError

actor = state.actor()
mon = Monitoring(widgets.db())
THRESHOLD = ACCURACY_THRESHOLD
st.title("Monitor")
widgets.freshness_banner(show_ok=True)


pct = widgets.fmt_acc


def act(fn, done: str | None = None) -> bool:
    """Call core; show its refusal as a message, never a traceback."""
    try:
        fn()
    except ShelfcastError as exc:
        st.error(text.md(exc))
        return False
    if done:
        st.success(done)
    return True


info = mon.active()
if info is None:
    widgets.empty_state(
        "No forecast version is active yet, so there is nothing to monitor. A data scientist "
        "trains a version and promotes it; accuracy and alerts appear here as new actuals arrive."
    )
    st.stop()
cat = mon.catalog()


grain0, window0 = default_grain(cat.freq)
st.caption(
    f"Active version {info['version_id']} ({text.md(info['kind'])}), forecasts {info['forecast_start']} to "
    f"{info['forecast_end']}. Accuracy = 1 − WAPE on {grain0}ly totals, stores summed per SKU; "
    f"threshold {widgets.fmt_pct(THRESHOLD)}."
)
if info["last_failure"]:
    st.warning(text.md(info["last_failure"]))
if not info["errors_current"]:
    st.info("Newer actuals or a change of version are not reflected yet: 'Check rules now' on the "
            "Alerts tab (or `shelfcast monitor`) brings monitoring up to date.")
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
    hit = mon.alert(int(qp)) if qp.isdigit() else None
    if hit:
        st.session_state["mon-sku"] = hit["sku"]
        st.session_state["mon-alert"] = st.session_state["mon-alert-pick"] = hit["id"]

# ---------------------------------------------------------------- filters
f1, f2, f3, f4, f5 = st.columns([2, 2, 3, 1.2, 1.2])
sel_cats = f1.multiselect("Category", cat.categories, key="mon-cats", placeholder="All categories")
sel_stores = f2.multiselect("Store", cat.stores, key="mon-stores", placeholder="All stores")
sku_pool = [x for x in cat.skus if not sel_cats or x.split("-", 1)[0] in sel_cats]
sel_skus = f3.multiselect("SKU", sku_pool, key="mon-skus", placeholder="All SKUs")
grains = ["week", "month", "day"] if not (cat.freq or "").startswith("M") else ["month"]
grain = f4.selectbox("Period", grains, key="mon-grain", index=grains.index(grain0) if grain0 in grains else 0)
window = int(f5.number_input(f"Window ({grain}s)", 1, 52, window0, key="mon-window"))
flt = Filters(skus=sel_skus, stores=sel_stores, categories=sel_cats)

acc = mon.accuracy(window, grain, "sku", flt, THRESHOLD)
if acc.empty:
    widgets.empty_state("No SKU matches these filters. Clear a filter to see more.")
    st.stop()
head = mon.headline(info, window, grain, THRESHOLD, flt)
alist = mon.live_alerts(window, grain, flt)  # the first ALERT_LIST_CAP by units at stake, true counts
linked = int(qp) if qp and qp.isdigit() else None  # a link reaches its alert past the cap
live = alist.rows  # the linked alert added as Monitoring.live_with adds it (one parse of the list, not two)
hit = mon.alert(linked) if linked is not None else None
if hit and hit["status"] != "resolved" and all(a["id"] != hit["id"] for a in live):
    live.append(hit)

m = st.columns(4)
WINDOW = widgets.window_words(window, grain, head.window_start, info["forecast_start"], info["last_actual"])
m[0].metric(f"Accuracy, {WINDOW}", pct(head.accuracy),
            None if head.accuracy is None or head.backtest_accuracy is None
            else f"{100 * (head.accuracy - head.backtest_accuracy):+.1f} pts vs backtest",
            help="1 − WAPE of the SKUs in the filter, on period totals.")
m[1].metric("Backtest accuracy", pct(head.backtest_accuracy), help="The same measure on the version's backtest.")
m[2].metric(f"SKUs under {widgets.fmt_pct(THRESHOLD)}", f"{head.skus_below} of {head.skus}")
m[3].metric("Open alerts", head.open_alerts,
            f"{head.acknowledged_alerts} more acknowledged" if head.acknowledged_alerts else None,
            delta_color="off", delta_arrow="off")

# Fixed labels (a label holding a count would change with it and drop the user back on the first
# tab). The Drift tab runs only while it is open: one test per SKU and column is most of a cold
# view at 100,000 series (bench/render.py --first monitor.py), and most visits never open it.
tab_acc, tab_attn, tab_drift, tab_alerts, tab_rules = st.tabs(
    ["Accuracy", "Needs attention", "Drift", "Alerts", "Rules"], key="mon-tab", on_change="rerun"
)

# SKU chosen for the drill-down charts: from an alert, the table, or the selector.
if st.session_state.get("mon-sku") not in list(acc["sku"]):
    st.session_state["mon-sku"] = acc["sku"].iloc[0]
default_sku = st.session_state["mon-sku"]
PERCENT = st.column_config.NumberColumn

# ---------------------------------------------------------------- accuracy tab
with tab_acc:
    st.subheader("Accuracy over time")
    roll = mon.rolling(window, grain, "sku", Filters(skus=[default_sku], stores=sel_stores))
    st.plotly_chart(charts.monitor_trend(mon.trend(grain, flt), roll, default_sku, window, grain,
                                         THRESHOLD, head.backtest_accuracy), width="stretch", key="mon-trend")

    st.subheader(f"Accuracy by SKU and {grain}")
    per = mon.by_period(grain, "sku", flt)
    if not per.empty:
        stake = (acc["lost_units"] + acc["over_units"]).to_numpy()
        order = list(acc["sku"].iloc[stake.argsort(kind="stable")[::-1]])[:40]  # 40 keep it readable
        st.plotly_chart(charts.heatmap(per, order, grain), width="stretch", key="mon-heat")
        st.caption("SKUs with the most units at stake first"
                   + (f"; showing 40 of {len(acc)}, filter to see others." if len(acc) > 40 else "."))

    st.subheader("Forecast vs actual")
    c1, c2 = st.columns([3, 2])
    sku = c1.selectbox("SKU", list(acc["sku"]), key="mon-sku")
    store_opt = c2.selectbox("Store", ["All stores", *cat.stores], key="mon-sku-store")
    fva = mon.forecast_vs_actual(info, sku, None if store_opt == "All stores" else store_opt)
    st.plotly_chart(charts.forecast_vs_actual(fva, info["forecast_start"], f"{sku} — {store_opt}"),
                    width="stretch", key="mon-fva")
    row = acc[acc["sku"] == sku].iloc[0]
    st.caption(
        f"{charts.literal(sku)}: accuracy {pct(row['accuracy'])} over the {WINDOW} "
        f"(backtest {pct(row['backtest_accuracy'])}), bias {widgets.fmt_pct(row['bias'])} "
        f"({row['direction']}): {row['lost_units']:.0f} units of lost sales, {row['over_units']:.0f} units overstock."
    )

# ---------------------------------------------------------------- needs attention
with tab_attn:
    st.subheader("Needs attention")
    st.caption("Most units at stake (lost sales + overstock) first; accuracy on request. Bias > 0: the forecast was above sales (overstock risk); "
               "< 0: below sales (lost sales risk).")
    per_store = st.toggle("Per SKU × store", key="mon-attn-level",
                          help="Off: each SKU with its stores summed. On: every SKU at every store.")
    by_pct = st.radio("Rank by", ["Units at stake", "Accuracy (%)"], horizontal=True,
                      key="mon-attn-rank") != "Units at stake"
    table = mon.attention(window, grain, per_store, by_pct, flt, THRESHOLD)  # Arrow, built once per store state
    st.dataframe(
        table, hide_index=True, height=420, key="mon-attn",
        column_config={
            "sku": "SKU", "store": "Store", "category": "Category",
            "accuracy_shown": st.column_config.ProgressColumn("Accuracy", format="percent", min_value=0, max_value=1),
            "backtest_accuracy": PERCENT("Backtest", format="percent"),
            "gap": PERCENT("vs backtest", format="percent"),
            "bias": PERCENT("Bias", format="percent"),
            "direction": "Direction",
            "lost_units": PERCENT("Lost-sales units", format="%.0f"),
            "over_units": PERCENT("Overstock units", format="%.0f"),
            "units": PERCENT("Units sold", format="%.0f"),
            "alerts": PERCENT("SKU alerts", format="%d"),
        },
    )
    if actor and actor.can("download"):
        widgets.download_buttons(table.to_pandas, "needs_attention", "attn", what="needs-attention table")

# ---------------------------------------------------------------- drift
def drift_block() -> None:
    st.subheader("Data drift")
    with st.spinner("Testing every SKU for drift …"):  # computed once per store state (core's read cache)
        dd = mon.data_drift(None, window, grain, flt, keep_values=True)
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
                "score": PERCENT("Score", format="%.3g"), "threshold": PERCENT("Threshold", format="%.3g"),
                "drifted": "Drift", "n_ref": "n ref", "n_cur": "n current",
                "ref_mean": PERCENT("Reference mean", format="%.2f"),
                "cur_mean": PERCENT("Current mean", format="%.2f"),
                "change": PERCENT("Change", format="percent"),
            },
        )
        d1, d2 = st.columns(2)
        drift_skus = sorted(dd["sku"].unique())
        dsku = d1.selectbox("Distribution of SKU", drift_skus,
                            index=drift_skus.index(sku) if sku in drift_skus else 0, key="mon-drift-sku")
        dcol = d2.selectbox("Column", list(dd[dd["sku"] == dsku]["column"]), key="mon-drift-col")
        r = dd[(dd["sku"] == dsku) & (dd["column"] == dcol)].iloc[0]
        unit = "day" if (cat.freq or "D") == "D" else "period"
        st.plotly_chart(charts.drift_histogram(r, dsku, dcol, unit), width="stretch", key="mon-drift-hist")

    st.subheader("Concept drift")
    cd = mon.concept_drift(window, grain, flt)
    st.caption("The live error against the version's own backtest: drift when WAPE is worse by more "
               "than the rule's margin, or the bias leans the same way in each of the last periods.")
    st.dataframe(
        cd.sort_values(["drifted", "excess"], ascending=[False, False]), hide_index=True, height=300,
        key="mon-concept",
        column_config={
            "sku": "SKU", "store": None, "units": PERCENT("Units", format="%.0f"),
            "live_wape": PERCENT("Live WAPE", format="percent"),
            "backtest_wape": PERCENT("Backtest WAPE", format="percent"),
            "excess": PERCENT("Excess", format="percent"),
            "wape_drift": "WAPE drift", "bias_streak": "Periods", "streak_direction": "Persistent bias",
            "bias_drift": "Bias drift", "drifted": "Drift",
        },
    )


if tab_drift.open:
    with tab_drift:
        drift_block()


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


def worklist_block() -> None:
    """One row per SKU (x store) with its alerts grouped, most units at stake first. Selecting a
    row opens that SKU's chart right below and the row's actions (assign, snooze, acknowledge);
    it also moves the Accuracy tab's drill-down and the alert picker to that SKU."""
    st.markdown("**Worklist**: one row per SKU; severity from the units at stake (lost sales + "
                f"overstock over the {WINDOW}).")
    rank = st.radio("Rank by", ["Units at stake", "Accuracy (%)"], horizontal=True, key="mon-wl-rank")
    wl, asleep = widgets.api().planning.worklist_rows(
        window, grain, flt, "pct" if rank.startswith("Acc") else "units", linked)
    st.session_state["_mon_wl"] = wl[["sku", "store", "first_alert"]].to_dict("records")
    show = wl.drop(columns=["alert_ids", "first_alert"]).assign(
        accuracy=[widgets.fmt_acc(x) for x in wl["accuracy"]])
    st.dataframe(show, hide_index=True, key="mon-worklist", on_select=pick_worklist_row,
                 selection_mode="single-row",
                 column_config={"sku": "SKU", "store": "Store", "severity": "Severity",
                                "units_at_stake": "Units at stake", "lost_units": "Lost sales",
                                "over_units": "Overstock", "accuracy": "Accuracy", "alerts": "Alerts",
                                "what": "Rules", "status": "Status", "assignee": "Assignee",
                                "snooze_until": st.column_config.DateColumn("Snoozed until"),
                                "action": st.column_config.TextColumn("Suggested action", width="large")})
    if len(asleep):
        st.caption(f"{len(asleep)} snoozed row(s) hidden until their date: "
                   + text.md(", ".join(f"{r.sku} ({r.store}) to {r.snooze_until}" for r in asleep.itertuples())))
    picked = st.session_state.get("_mon_wl_pick")
    row = next((r for r in wl.itertuples() if picked and (r.sku, r.store) == tuple(picked)), None)
    if row is None:
        st.caption("Select a row to open its SKU's chart and to assign, snooze or acknowledge it.")
        return
    store = None if row.store == "all stores" else row.store
    fva = mon.forecast_vs_actual(info, row.sku, store)
    st.plotly_chart(charts.forecast_vs_actual(fva, info["forecast_start"], f"{row.sku} — {row.store}"),
                    width="stretch", key="mon-wl-fva")
    if actor and actor.can("acknowledge_alert"):
        row_actions(row)


def row_actions(row) -> None:
    """Assign, snooze, acknowledge the selected worklist row; core checks the role again."""
    plan = widgets.api().planning
    st.markdown(f"**{charts.literal(row.sku)} — {charts.literal(row.store)}**: {text.md(row.action)}")
    c1, c2, c3 = st.columns(3)
    with c1.form("mon-wl-assign"):
        who = st.text_input("Assignee", row.assignee, key="mon-wl-who", placeholder="who takes it (empty: nobody)")
        if st.form_submit_button("Assign") and act(lambda: plan.assign(actor, row.sku, row.store, who)):
            st.rerun()
    with c2.form("mon-wl-snooze"):
        until = st.date_input("Snooze until", date.today() + timedelta(days=7), key="mon-wl-until",
                              min_value=date.today() + timedelta(days=1),
                              max_value=date.today() + timedelta(days=90),
                              help="The row leaves the list until this date, then comes back by itself.")
        if st.form_submit_button("Snooze") and act(lambda: plan.snooze(actor, row.sku, row.store, until)):
            st.session_state.pop("_mon_wl_pick", None)
            st.rerun()
    with c3.form("mon-wl-ack", clear_on_submit=True):
        note = st.text_input("Note (what is being done)", key="mon-wl-note",
                             placeholder="e.g. order cut by 30%, watching")
        if row.status != "open":
            st.caption("Every alert of this row is acknowledged.")
        if st.form_submit_button("Acknowledge all its alerts", disabled=row.status != "open") and act(
                lambda: plan.acknowledge_row(actor, row.sku, row.store, note)):
            st.rerun()


def pick_worklist_row() -> None:
    rows = (st.session_state.get("mon-worklist") or {}).get("selection", {}).get("rows", [])
    wl = st.session_state.get("_mon_wl") or []
    if rows and rows[0] < len(wl):
        r = wl[rows[0]]
        st.session_state["_mon_wl_pick"] = (r["sku"], r["store"])
        st.session_state["mon-sku"] = r["sku"]
        st.session_state["mon-alert"] = r["first_alert"]
        st.session_state["mon-alert-pick"] = r["first_alert"]  # set, not popped: the browser shows it
        st.session_state["mon-skus"] = []
        st.session_state["mon-cats"] = []
    else:
        st.session_state.pop("_mon_wl_pick", None)


def check_now() -> None:
    ev = mon.evaluate(actor)
    st.session_state["mon-eval-msg"] = (
        ev.skipped or f"{len(ev.opened)} new, {ev.updated} still firing, {len(ev.resolved)} resolved.")


with tab_alerts:
    st.subheader("Alerts")
    can_ack = bool(actor and actor.can("acknowledge_alert"))
    top = st.columns([1, 4])
    if can_ack and top[0].button("Check rules now", key="mon-evaluate",
                                 help="Bring monitoring up to date and re-evaluate every rule now."):
        if act(check_now):
            st.rerun()
    if st.session_state.get("mon-eval-msg"):
        top[1].success(st.session_state.pop("mon-eval-msg"))
    if not live:
        widgets.empty_state("No open alerts. Rules are checked after every upload of actuals.")
    else:
        st.caption(f"{alist.total:,} live alert(s): {alist.open:,} open, {alist.acknowledged:,} acknowledged"
                   + (f". The worklist and the list below hold the first {len(live):,}, the SKUs with the "
                      "most units at stake first; filter by category or SKU to reach the rest."
                      if alist.capped else "."))
        worklist_block()
        st.dataframe(mon.alert_table(window, grain, flt, linked), hide_index=True, height=300, key="mon-alerts",
                     column_config={"id": "#", "status": "Status", "rule": "Rule", "sku": "SKU",
                                    "store": "Store", "message": st.column_config.TextColumn("What", width="large"),
                                    "opened_at": "Opened (UTC)", "acknowledged_by": "Acknowledged by",
                                    "ack_note": "Note"})
        ids = [a["id"] for a in live]
        pre = st.session_state.get("mon-alert")
        label = {a["id"]: text.strip_bidi(f"#{a['id']} {a['sku']} — {a['rule']} ({a['status']})") for a in live}
        if st.session_state.get("mon-alert-pick") not in ids:  # resolved meanwhile, or never picked
            st.session_state["mon-alert-pick"] = pre if pre in ids else ids[0]
        chosen = st.selectbox("Alert", ids, format_func=label.get, key="mon-alert-pick")
        a = next(x for x in live if x["id"] == chosen)
        st.markdown(charts.literal(a["message"]))  # may hold uploaded column names: literal
        b1, b2 = st.columns([1, 3])
        b1.button("Show this SKU's charts", key="mon-drill", on_click=drill, args=({x["id"]: x["sku"] for x in live},),
                  help="Moves the Accuracy tab's charts to this SKU.")
        if can_ack and a["status"] == "open":
            with st.form("mon-ack-form", clear_on_submit=True):
                note = st.text_input("Note (what is being done)", key="mon-ack-note",
                                     placeholder="e.g. order cut by 30%, watching next week")
                if st.form_submit_button("Acknowledge", type="primary") and act(
                        lambda: mon.acknowledge(actor, a["id"], note)):
                    st.rerun()
        elif a["status"] == "acknowledged":
            b2.caption(f"Acknowledged by {charts.literal(a['acknowledged_by'])}: {charts.literal(a['ack_note'])}")
    with st.expander("Alert history (resolved and all events)"):
        resolved = mon.alerts(["resolved"])
        n_resolved = mon.alert_counts().get("resolved", 0) if resolved else 0
        if len(resolved) < n_resolved:
            st.caption(f"The newest {len(resolved):,} of {n_resolved:,} resolved alerts.")
        if resolved:
            st.dataframe(pd.DataFrame(resolved)[["id", "rule", "sku", "store", "opened_at", "acknowledged_by",
                                                 "resolved_at", "message"]], hide_index=True, key="mon-resolved")
        hist = mon.history_table()
        if hist.num_rows:
            st.dataframe(hist, hide_index=True, height=240, key="mon-events")
        work = widgets.api().planning.worklist_history()
        if len(work):
            st.caption("Worklist: assignments, snoozes and acknowledgements.")
            st.dataframe(work, hide_index=True, height=200, key="mon-wl-events")
        if not resolved and not hist.num_rows and not len(work):
            st.caption("Nothing yet.")


# ---------------------------------------------------------------- rules
def param_input(col, fld, value, key: str):
    """One field of a rule kind's form, as the kind describes it (core.monitoring.FormField)."""
    tip = fld.help or None
    if isinstance(fld.default, bool):
        return col.checkbox(fld.label, bool(value), key=key, help=tip)
    if isinstance(fld.default, str):
        opts = list(fld.limits)
        return col.selectbox(fld.label, opts, index=opts.index(value) if value in opts else 0, key=key, help=tip)
    cast = int if isinstance(fld.default, int) else float
    if not fld.limits:
        return col.number_input(fld.label, value=cast(value), key=key, help=tip)
    lo, hi, step = (cast(x) for x in fld.limits)
    return col.number_input(fld.label, lo, hi, cast(value), step, key=key, help=tip)


with tab_rules:
    st.subheader("Alert rules")
    rules = mon.rules()
    if rules:
        st.dataframe(pd.DataFrame([{
            "#": r.id, "Name": r.name, "Kind": KIND_LABELS.get(r.kind, r.kind),
            "Threshold": r.threshold, "Window": f"{r.window} {r.grain}s", "Level": r.level,
            "SKUs": ", ".join(r.skus) or "all", "Stores": ", ".join(r.stores) or "all",
            "Options": ", ".join(f"{k}={v}" for k, v in r.params_dict().items()), "On": r.enabled,
            "Changed by": r.updated_by,
        } for r in rules]), hide_index=True, key="mon-rules")
    else:
        st.caption("The default rules are created at the first check of the rules (after an upload "
                   "or a promotion).")
    if not (actor and actor.can("edit_alert_rules")):
        st.caption("Data scientists edit the rules.")
    else:
        NEW = 0
        names = {r.id: r.name for r in rules}
        pick = st.selectbox("Edit rule", [NEW, *names],
                            format_func=lambda i: "New rule" if i == NEW else text.strip_bidi(f"#{i} {names[i]}"),
                            key="mon-rule-pick")
        r = next((x for x in rules if x.id == pick), None)
        kinds = list(RULE_KINDS)
        kind = st.selectbox("Kind", kinds, index=kinds.index(r.kind) if r else 0,
                            format_func=KIND_LABELS.get, key=f"rule-kind-{pick}")
        spec = RULE_KINDS[kind]
        current = r.params_dict() if r and r.kind == kind else {}
        with st.form("mon-rule-form"):
            c1, c2 = st.columns(2)
            name = c1.text_input("Name", r.name if r else "", key=f"rule-name-{pick}")
            # Each kind's own range: the quality kinds count periods (2, 7) or a factor (3).
            thr = param_input(c2, spec.threshold_field,
                              r.threshold if r and r.kind == kind else spec.threshold_field.default,
                              f"rule-thr-{kind}-{pick}")
            c4, c5, c6 = st.columns(3)
            win = c4.number_input("Window (periods)", 1, 104, int(r.window if r else window0), key=f"rule-win-{pick}")
            gr = c5.selectbox("Period", ["week", "month", "day"],
                              index=["week", "month", "day"].index(r.grain if r else grain0), key=f"rule-grain-{pick}")
            lvl = c6.selectbox("Level", ["sku", "series"], index=["sku", "series"].index(r.level if r else "sku"),
                               format_func={"sku": "SKU (stores summed)", "series": "SKU × store"}.get,
                               key=f"rule-level-{pick}")
            c7, c8 = st.columns(2)
            rskus = c7.multiselect("Only these SKUs (empty: all)", cat.skus,
                                   default=[x for x in (r.skus if r else []) if x in cat.skus], key=f"rule-skus-{pick}")
            rstores = c8.multiselect("Only these stores (empty: all)", cat.stores,
                                     default=[x for x in (r.stores if r else []) if x in cat.stores],
                                     key=f"rule-stores-{pick}")
            cols = st.columns(max(1, len(spec.fields)))
            params = {fld.name: param_input(cols[i], fld, current.get(fld.name, fld.default),
                                            f"rule-{kind}-{fld.name}-{pick}")
                      for i, fld in enumerate(spec.fields)}
            enabled = st.checkbox("Enabled", r.enabled if r else True, key=f"rule-on-{pick}")
            if st.form_submit_button("Save rule", type="primary"):
                saved: dict = {}

                def save() -> None:
                    saved["rule"], saved["error"] = mon.save_rule(
                        actor, r.id if r else None, name=name, kind=kind, threshold=thr, window=win,
                        grain=gr, level=lvl, params=params, skus=rskus, stores=rstores, enabled=enabled)

                if act(save, "Saved; its alerts were re-evaluated.") and saved.get("error"):
                    st.warning(text.md(saved["error"]))
        if r and st.button(f"Delete rule #{r.id}", key=f"rule-delete-{pick}") and act(
                lambda: mon.delete_rule(actor, r.id)):
            st.rerun()
        with st.expander("Webhook"):
            hook = mon.webhook()
            st.caption(
                "New alerts are POSTed as JSON, signed with HMAC-SHA256 (header X-Shelfcast-Signature) "
                "using SHELFCAST_WEBHOOK_SECRET from the environment or .streamlit/secrets.toml. "
                f"Secret configured: {'yes' if hook['secret_set'] else 'no'}. Redirects are not "
                "followed; loopback and private-network targets only when an admin allows them, "
                "link-local (cloud metadata) never."
            )
            if hook["url_from_env"]:
                st.write("URL set by SHELFCAST_WEBHOOK_URL.")
            else:
                new_url = st.text_input("Webhook URL (empty: off)", hook["url"] or "", key="mon-webhook-url")
                allow = None
                if actor.can("manage_users"):
                    allow = st.checkbox("Allow private-network targets (admin)", hook["allow_private"],
                                        key="mon-webhook-private")
                if st.button("Save webhook URL", key="mon-webhook-save"):
                    act(lambda: mon.set_webhook(actor, new_url, allow), "Saved.")
