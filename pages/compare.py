"""Compare: which version is better, per SKU, and which one is in service (promote, roll back,
archive, audit). Thin: every number comes from core (via core.api), every refusal from core."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from app import charts, state, widgets
from core.api import ACCURACY_THRESHOLD
from core.text import md

actor = state.actor()
api = widgets.api()
LEVELS = {"SKU (stores summed)": "sku", "SKU × store": "sku_store"}
SIM_AUTO_SERIES = 5_000  # above this, the policy simulation runs when asked

st.title("Compare versions")
flash = st.session_state.pop("compare_flash", None)
if flash:
    st.success(flash)

show_archived = st.toggle("Show archived versions", key="cmp-archived")
lb = api.versions.leaderboard(include_archived=show_archived)
if lb.empty:
    widgets.empty_state(
        "No model versions yet. Train one on the Train page (or `shelfcast train --model naive`), "
        "then come back to compare and promote it."
    )
    st.stop()


def vlabel(v: int) -> str:
    """Stable for a version's life (widgets keep their value by this label, so it must not
    change when the version becomes active)."""
    r = lb.set_index("version").loc[v]
    acc = "" if pd.isna(r["accuracy"]) else f", accuracy {widgets.fmt_pct(r['accuracy'])}"
    return f"v{v} · {r['model']}{acc}"


# --- status line -------------------------------------------------------------------------------
active = lb[lb["active"]]
c = st.columns(4)
if active.empty:
    c[0].metric("Active version", "none")
    st.caption("No version is in service yet: promote one below to publish its forecasts.")
else:
    a = active.iloc[0]
    c[0].metric("Active version", f"v{int(a['version'])} ({a['model']})")
    c[1].metric("Backtest accuracy (1 − WAPE)", widgets.fmt_pct(a["accuracy"]))
    c[2].metric("Backtest WAPE", widgets.fmt_pct(a["wape"]))
    c[3].metric("Versions", widgets.fmt_int(len(lb)))

# --- leaderboard -------------------------------------------------------------------------------
st.subheader("Leaderboard")
st.caption(
    "Pooled backtest metrics (all series, folds and dates together). Click a column header to "
    "sort. Accuracy = 1 − WAPE; MASE < 1 beats the seasonal-naive forecast; bias > 0 means "
    "over-forecasting; coverage is the share of actuals inside the 80% interval."
)
view = lb.assign(
    active=lb["active"].map({True: "● active", False: ""}),
    wape=100 * lb["wape"], accuracy=100 * lb["accuracy"].clip(lower=0), bias=100 * lb["bias"],  # floored as shown everywhere
    coverage=100 * lb["coverage"],
)
st.dataframe(
    view[["active", "version", "model", "status", "accuracy", "wape", "mase", "bias", "coverage",
          "training_s", "series", "freq", "horizon", "dataset", "created_by", "created_at",
          "params", *(["archived"] if show_archived else [])]],
    hide_index=True, key="cmp-leaderboard",
    column_config={
        "active": st.column_config.TextColumn("Active"),
        "version": st.column_config.NumberColumn("Version", format="v%d"),
        "model": "Model",
        "status": "Status",
        **widgets.number_columns({
            "accuracy": ("Accuracy %", "%.1f"), "wape": ("WAPE %", "%.1f"), "mase": ("MASE", "%.2f"),
            "bias": ("Bias %", "%+.1f"), "coverage": ("80% coverage %", "%.0f"),
            "training_s": ("Training time (s)", "%.1f")}),
        "series": st.column_config.NumberColumn("Series"),
        "freq": "Freq",
        "horizon": st.column_config.NumberColumn("Horizon (periods)"),
        "dataset": st.column_config.NumberColumn("Dataset version", format="%d"),
        "created_by": "Created by",
        "created_at": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm"),
        "params": st.column_config.TextColumn("Parameters", width="medium"),
    },
)

ready = lb[lb["status"] == "ready"]
ready_ids = [int(v) for v in ready["version"]]


# --- side by side ------------------------------------------------------------------------------
def default_pair() -> list[int]:
    if len(ready_ids) < 2:
        return ready_ids
    act = [int(v) for v in ready.loc[ready["active"], "version"]]
    rest = ready[~ready["active"]].sort_values("wape", na_position="last")
    best = [int(v) for v in rest["version"]]
    return (act + best)[:2] if act else best[:2]


st.subheader("Side by side")
if len(ready_ids) < 2:
    widgets.empty_state("Comparing needs at least two finished versions; train another one.")
else:
    c1, c2 = st.columns([3, 2])
    # Seed the pick once, then keep the user's (minus versions that left the list): a changing
    # `default` would reset the widget after every promotion.
    if "cmp-versions" not in st.session_state:
        st.session_state["cmp-versions"] = default_pair()
    else:
        st.session_state["cmp-versions"] = [
            v for v in st.session_state["cmp-versions"] if v in ready_ids]
    picked = c1.multiselect("Versions (the first is the baseline)", ready_ids,
                            format_func=vlabel, key="cmp-versions")
    level = LEVELS[c2.radio("Level", list(LEVELS), horizontal=True, key="cmp-level")]
    if len(picked) < 2:
        st.info("Pick two or more versions to compare them per SKU.")
    else:
        ok, cmp = widgets.action(lambda: api.versions.compare(picked, level=level))
        if ok and cmp.table.empty:
            st.info("These versions have no backtest actuals to compare.")
        elif ok:
            base, other = picked[0], picked[1]
            keys = ["sku"] if level == "sku" else ["sku", "store"]
            unit = "SKUs" if level == "sku" else "SKU × store series"
            m = st.columns(len(picked) + 1)
            for i, v in enumerate(picked):
                m[i].metric(f"v{v} wins", f"{cmp.wins.get(v, 0)} {unit}")
            m[-1].metric(f"Ties (within {100 * api.versions.TIE_TOL:g} pt)", f"{cmp.ties}")
            if cmp.no_actuals:
                st.caption(f"{cmp.no_actuals} {unit} had no actual sales in the backtest windows "
                           "and are not counted.")
            t = cmp.table.copy()
            cfg = {}
            for v in picked:
                t[f"wape_{v}"] = 100 * t[f"wape_{v}"]
                cfg[f"wape_{v}"] = st.column_config.NumberColumn(f"v{v} WAPE %", format="%.1f")
            for v in picked[1:]:
                t[f"diff_{v}"] = 100 * t[f"diff_{v}"]
                cfg[f"diff_{v}"] = st.column_config.NumberColumn(
                    f"v{v} − v{base} (pts)", format="%+.1f",
                    help="Negative: this version's error is lower than the baseline's.")
            t["winner"] = t["winner"].map(lambda w: f"v{w}" if w.isdigit() else w)
            cfg["winner"] = st.column_config.TextColumn("Winner")
            cfg["sku"] = st.column_config.TextColumn("SKU")
            cfg["store"] = st.column_config.TextColumn("Store")
            st.dataframe(t, hide_index=True, column_config=cfg, key="cmp-table")
            if actor and actor.can("download"):
                widgets.download_buttons(cmp.table, f"compare-{'-'.join(map(str, picked))}-{level}", "cmp-dl",
                                         what="comparison")

            # Scatter of per-SKU WAPE: baseline vs the second version.
            st.plotly_chart(charts.wape_scatter(cmp.table, base, other, keys, level), key="cmp-scatter")

            # One SKU: actuals, each version's backtest predictions and forecasts.
            st.markdown("**One SKU over time**")
            order = cmp.table.assign(gap=cmp.table[f"diff_{other}"].abs()).sort_values(
                "gap", ascending=False, na_position="last")
            skus = list(dict.fromkeys(order["sku"]))
            s1, s2 = st.columns(2)
            sku = s1.selectbox("SKU (largest difference first)", skus, key="cmp-sku")
            store = None
            if level == "sku_store":
                stores = sorted(cmp.table.loc[cmp.table["sku"] == sku, "store"].unique())
                store = s2.selectbox("Store", stores, key="cmp-store")
            actuals, bt, fc = api.versions.sku_chart_data(picked, sku, store)
            st.plotly_chart(charts.versions_over_time(actuals, bt, fc, picked, sku, store), key="cmp-sku-chart")


# --- inventory effect: the policy simulation -------------------------------------------------------
st.subheader("Inventory effect")
if not ready_ids:
    st.info("The policy simulation needs a finished version.")
else:
    st.caption(
        "The replenishment policy replayed over each version's backtest with the forecasts it made "
        "at each cut-off, against the actual sales; beside it, ordering by seasonal naive and by the "
        "active version. Lower overstock at the same availability is stock the store need not hold.")
    if "cmp-sim" not in st.session_state:
        st.session_state["cmp-sim"] = [v for v in st.session_state.get("cmp-versions", []) if v in ready_ids][:2] \
            or ready_ids[:1]
    else:
        st.session_state["cmp-sim"] = [v for v in st.session_state["cmp-sim"] if v in ready_ids]
    sim_ids = st.multiselect("Versions to simulate", ready_ids, format_func=vlabel, key="cmp-sim")
    # The replay walks every series' backtest (a minute for two versions at 100,000 series, the
    # whole of Compare's first view): on by itself for a small fleet, on request for a big one.
    n_series = api.data.counts.series
    if not st.toggle("Run the simulation", value=n_series <= SIM_AUTO_SERIES, key="cmp-sim-on"):
        st.caption(f"It replays the backtest of all {n_series:,} series, which takes a while; switch it on "
                   "to see the table (it is kept while the server runs).")
        sim_ids = []
    rows = []
    for v in sim_ids:
        ok, sim = widgets.action(lambda v=v: api.inventory.simulate(actor, v))
        if not ok:
            continue
        if sim.headline:
            st.success(md(sim.headline))
        for note in sim.notes:
            st.caption(md(note))
        t = sim.table.assign(policy=sim.table["policy"].where(
            sim.table["model"] != "naive", f"seasonal naive (v{v}'s backtest)"))
        rows.append(t)
    if rows:
        table = pd.concat(rows, ignore_index=True).drop_duplicates(["version", "model", "first_date", "last_date"])
        big = ["Lost sales (units)", "Lost sales (at price)", "Avg inventory (units)",
               "Avg overstock (units)", "Avg overstock (at cost)"]
        st.dataframe(api.inventory.simulation_table(table), hide_index=True, key="cmp-sim-table",
                     column_config={c: st.column_config.NumberColumn(c, format="localized") for c in big})
        st.caption(f"Backtest period {table['first_date'].min()} to {table['last_date'].max()}. "
                   "Policies, stock and costs are those on the Replenishment page (defaults where "
                   "none was uploaded).")


# --- challengers on live sales (shadow / A-B) ------------------------------------------------------
st.subheader("Challengers on live sales")
ok_rep, rep = widgets.action(lambda: api.retraining.challenger_report())
if ok_rep and rep is not None:
    st.caption(md(rep.message) + (f" Periods {rep.window_start} to {rep.window_end}; champion v{rep.champion} at "
                                  f"{widgets.fmt_pct(rep.champion_accuracy)} accuracy."
                                  if rep.champion is not None and rep.window_start is not None else ""))
    if rep.duels:
        st.dataframe(pd.DataFrame([{
            "Challenger": f"v{d.version_id}", "Live accuracy": d.accuracy, "Points vs champion": d.points,
            "SKUs won": d.skus_won, "SKUs lost": d.skus_lost, "SKUs compared": d.skus_compared,
        } for d in rep.duels]), hide_index=True, key="cmp-challengers", column_config={
            "Live accuracy": st.column_config.NumberColumn(format="percent"),
            "Points vs champion": st.column_config.NumberColumn(format="%+.1f"),
        })
if actor and actor.can("promote"):
    marked = {c["version_id"] for c in api.retraining.challengers()}
    unmarked = [v for v in ready_ids if v not in marked]
    cc = st.columns([2, 1, 2, 1])
    add = cc[0].selectbox("Mark as challenger", unmarked, format_func=vlabel, key="chal-add") if unmarked else None
    if add is not None and cc[1].button("Mark", key="chal-add-go"):
        if widgets.action(lambda: api.retraining.add_challenger(actor, add))[0]:
            st.rerun()
    if marked:
        rem = cc[2].selectbox("Challenger", sorted(marked), format_func=vlabel, key="chal-rem")
        if cc[3].button("Unmark", key="chal-rem-go"):
            if widgets.action(lambda: api.retraining.remove_challenger(actor, rem))[0]:
                st.rerun()
    st.caption("A challenger's forecasts are scored on incoming actuals exactly like the active "
               "version's, on the same weeks; `shelfcast challenger report` prints the same.")


# --- promote / roll back / archive ---------------------------------------------------------------
def act(fn, ok: str) -> None:
    if widgets.action(fn)[0]:
        st.session_state["compare_flash"] = ok
        for key in ("promote-note", "rollback-note", "promote-reason", "promote-override"):
            st.session_state.pop(key, None)  # a done action's note must not carry over to the next
        st.rerun()


can_promote = bool(actor and actor.can("promote"))
can_rollback = bool(actor and actor.can("rollback"))
can_archive = bool(actor and actor.can("archive"))
if can_promote or can_rollback or can_archive:
    st.subheader("Put a version into service")
    tabs = st.tabs([t for t, ok in (("Promote", can_promote), ("Roll back", can_rollback),
                                    ("Archive", can_archive)) if ok])
    i = 0
    if can_promote:
        with tabs[i]:
            choices = [int(v) for v in ready.loc[~ready["active"] & ~ready["archived"], "version"]]
            if not choices:
                st.info("No other finished version to promote.")
            else:
                v = st.selectbox("Version to promote", choices, format_func=vlabel, key="promote-version")
                gate = api.versions.check_gate(v)
                reason = None
                if gate.needs_override:
                    st.warning(f"Accuracy gate: {md(gate.message)} Promotion is refused unless you "
                               "override it with a reason (recorded in the audit log).")
                    if st.checkbox("Override the accuracy gate", key="promote-override"):
                        reason = st.text_input("Reason for the override", key="promote-reason")
                else:
                    st.caption(md(gate.message))
                note = st.text_area("Note (required: why this version?)", key="promote-note",
                                    max_chars=api.versions.NOTE_MAX)
                modes = [f"Below {widgets.fmt_pct(ACCURACY_THRESHOLD, 0)} (absolute)", "8 points below its own backtest"]
                relative = st.radio(
                    "Accuracy alerts for this version", modes, horizontal=True, key="promote-rule",
                    index=int(api.planning.accuracy_rule_kind() == "promised_accuracy"),
                    help="Absolute: every SKU under 88% alerts, even one the backtest said would be "
                         "at 80%. Relative: a SKU alerts when it does worse than this version promised.",
                ) == modes[1]

                def promote() -> None:
                    api.versions.promote(actor, v, note, override_reason=reason)
                    api.planning.set_accuracy_rule(actor, relative)  # rules exist after promotion

                if st.button("Promote to active", type="primary", key="promote-go"):
                    act(promote, f"Version {v} is now active; its forecasts are published.")
        i += 1
    if can_rollback:
        with tabs[i]:
            target = api.versions.rollback_target()
            if target is None:
                st.info("Nothing to roll back to: no version was active before the current one.")
            else:
                st.write(f"Roll back puts **v{target}** (active before the current one) back into "
                         "service and republishes its forecasts.")
                rnote = st.text_area("Note (required: why roll back?)", key="rollback-note",
                                     max_chars=api.versions.NOTE_MAX)
                if st.button(f"Roll back to v{target}", key="rollback-go"):
                    act(lambda: api.versions.rollback(actor, rnote),
                        f"Rolled back: version {target} is active again.")
        i += 1
    if can_archive:
        with tabs[i]:
            st.caption("Archived versions are hidden from the lists (tick 'Show archived versions' "
                       "to see them) and never deleted. The active version cannot be archived.")
            live = [int(v) for v in lb.loc[~lb["active"] & ~lb["archived"] & (lb["status"] != "running"), "version"]]
            ca, cb = st.columns(2)
            if live:
                av = ca.selectbox("Version to archive", live, format_func=vlabel, key="archive-version")
                if ca.button("Archive", key="archive-go"):
                    act(lambda: api.versions.archive(actor, av), f"Version {av} archived.")
            archived = [int(v) for v in lb.loc[lb["archived"], "version"]]
            if archived:
                uv = cb.selectbox("Archived version", archived, format_func=vlabel, key="unarchive-version")
                if cb.button("Unarchive", key="unarchive-go"):
                    act(lambda: api.versions.unarchive(actor, uv), f"Version {uv} is back in the lists.")

# --- published forecasts and the audit log ---------------------------------------------------------
st.subheader("Published forecasts")
pub = api.versions.published()  # counts and dates only: the rows are read for the download
if pub is None:
    st.info("Nothing is published until a version is promoted.")
else:
    st.caption(f"{pub.rows:,} forecast rows of version {pub.version} for {pub.series:,} series, "
               f"{pd.Timestamp(pub.first):%Y-%m-%d} to {pd.Timestamp(pub.last):%Y-%m-%d}. Downstream "
               "systems read the `active_forecasts` view of the store.")
    st.caption("Planner overrides in force (Replenishment page) are applied to the published "
               "numbers; the download's `override_id` column names the one applied to a row. The "
               "version's own forecasts stay as trained.")
    if actor and actor.can("download"):
        live, last = pub.version, api.planning.freshness().last_actual
        widgets.download_buttons(
            lambda: widgets.in_units(widgets.future_only(api.versions.forecast_frame(live), last)),
            f"published-forecast-v{live}", "pub-dl", what=f"published forecast (after {last})")

st.subheader("Audit history")
hist = api.versions.history()
if hist.empty:
    st.info("No promotions yet.")
else:
    shown = hist.drop(columns=["metrics"]).assign(
        from_wape=100 * hist["from_wape"].astype(float), to_wape=100 * hist["to_wape"].astype(float))
    st.dataframe(shown, hide_index=True, key="cmp-history", column_config={
        "id": "#", "created_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "action": "Action", "from_version": st.column_config.NumberColumn("From", format="v%d"),
        "to_version": st.column_config.NumberColumn("To", format="v%d"), "actor": "Who",
        "note": "Note", "override": "Override", "override_reason": "Override reason",
        "gate": "Gate", "from_wape": st.column_config.NumberColumn("From WAPE %", format="%.1f"),
        "to_wape": st.column_config.NumberColumn("To WAPE %", format="%.1f"),
    })
    if actor and actor.can("download"):
        out = hist.assign(metrics=[json.dumps(json.loads(m)) for m in hist["metrics"]])
        widgets.download_buttons(out, "promotion-history", "hist-dl", what="audit history")
