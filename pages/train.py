"""Train: start a training job (backtest + final fit), watch its progress, cancel it, and look at
what a version learned. Thin: jobs, metrics, forecasts and explanations all come from core."""

from __future__ import annotations

import streamlit as st

from app import charts, state, tables, widgets
from core.api import default_grain, display_accuracy
from core.text import md

actor = state.actor()
api = widgets.api()
api.training.on_startup()
fmt_secs = widgets.fmt_duration

st.title("Train")
counts = api.data.counts
freq = api.data.freq
if counts.rows == 0 or not freq:
    widgets.empty_state("No sales data to train on yet. Upload a sales file on the Data page first.")
    st.stop()


# --- running jobs (polled from the store) -------------------------------------------------------
def running_ids() -> list[int]:
    return [j.version_id for j in api.training.running()]


@st.fragment(run_every=1.5 if running_ids() else None)
def job_panel() -> None:
    ids = running_ids()
    watched = st.session_state.get("train_watch", [])
    if not ids:
        finished = [api.training.status(v) for v in watched]
        st.session_state["train_watch"] = []
        if finished:  # shown after the full rerun that brings the new results in
            st.session_state["train_flash"] = [
                (j.status == "ready", f"Version {j.version_id} ({j.kind}) finished: {j.status} after "
                 f"{fmt_secs(j.elapsed_s)}." + (f" {md(j.error)}" if j.error and j.status != "ready" else ""))
                for j in finished]
            st.session_state["train_results"] = finished[-1].version_id
            st.rerun()
        return
    st.subheader("Running")
    st.session_state["train_watch"] = sorted(set(watched) | set(ids))
    for vid in ids:
        j = api.training.status(vid)
        label = (f"v{vid} · {j.kind} · {j.done:,} of {j.total:,} series-fits · "
                 f"{fmt_secs(j.elapsed_s)} elapsed · {fmt_secs(j.eta_s)} left")
        if j.cancel_requested:
            label += " · cancelling…"
        st.progress(j.fraction, text=label)
        if actor and actor.can("train") and not j.cancel_requested:
            if st.button("Cancel", key=f"train-cancel-{vid}"):
                widgets.action(lambda vid=vid: api.training.cancel(actor, vid))
                st.rerun()
    st.caption("Jobs keep running if you leave this page; come back any time to see them.")


for ok, msg in st.session_state.pop("train_flash", []):
    (st.success if ok else st.warning)(msg)
job_panel()

# --- new run ------------------------------------------------------------------------------------
st.subheader("New training run")
st.caption(f"Data: {counts.series:,} series, {api.data.describe_freq(freq)}, {counts.first_date} → "
           f"{counts.last_date}. Every run also backtests the seasonal-naive baseline.")
c = st.columns([3, 1, 1])
labels = api.training.LABELS
kinds = ["best", *[k for k in api.training.KINDS if k != "best"]]
# Options are the labels themselves (not format_func), so a rerun's stored value is always one
# of them; the kind is looked up from the label.
by_label = {labels.get(k, k): k for k in kinds}
kind = by_label[c[0].selectbox("Model", list(by_label), key="train-kind")]
horizon = c[1].number_input("Horizon (periods)", 1, api.training.max_horizon(freq),
                            api.training.default_horizon(freq), key="train-horizon",
                            help="How far ahead to forecast, in periods of the data (days, weeks or months).")
folds = c[2].number_input("Backtest folds", 1, api.training.MAX_FOLDS, 3, key="train-folds",
                          help="Rolling-origin folds, each one horizon long, ending at the last actual.")
options: dict = {}
if kind == "best":
    candidates = list(api.training.CANDIDATES)
    picks = st.multiselect("Candidates", candidates, api.training.default_candidates(),
                           format_func=lambda k: labels.get(k, k), key="train-candidates",
                           help="Prophet and ARIMA are slow; add them when the data is small.")
    options["models"] = ",".join(picks)
with st.expander("Model options"):
    o = st.columns(3)
    # A run refuses options no model of it knows: offer each model's options only when it runs.
    runs = set(picks) if kind == "best" else {kind}
    if "sklearn" in runs:
        sk = api.training.defaults("sklearn")
        options["estimator"] = o[0].selectbox("scikit-learn estimator", ["hgb", "ridge"], key="opt-estimator",
                                              index=["hgb", "ridge"].index(sk["estimator"]),
                                              format_func={"hgb": "HistGradientBoosting", "ridge": "Ridge (fast, linear)"}.get)
        options["max_iter"] = o[0].number_input("Boosting rounds", 10, 2000, int(sk["max_iter"]), key="opt-max-iter")
    if "prophet" in runs:
        pr = api.training.defaults("prophet")
        modes, auto = ["additive", "multiplicative"], ["auto", "true", "false"]
        options["seasonality_mode"] = o[1].selectbox("Prophet seasonality", modes, key="opt-mode",
                                                     index=modes.index(pr["seasonality_mode"]))
        options["changepoint_prior_scale"] = o[1].number_input(
            "Changepoint prior scale", 0.001, 10.0, float(pr["changepoint_prior_scale"]), format="%.3f", key="opt-cps")
        options["yearly_seasonality"] = o[2].selectbox("Yearly seasonality", auto, key="opt-yearly",
                                                       index=auto.index(str(pr["yearly_seasonality"])))
        options["weekly_seasonality"] = o[2].selectbox("Weekly seasonality", auto, key="opt-weekly",
                                                       index=auto.index(str(pr["weekly_seasonality"])))
        options["country_holidays"] = o[1].text_input("Country holidays (e.g. GB, US; empty = none)",
                                                      str(pr["country_holidays"]), key="opt-holidays")
        options["uncertainty_samples"] = o[2].number_input("Interval samples", 0, 2000, int(pr["uncertainty_samples"]),
                                                           key="opt-samples")
    options["seed"] = o[0].number_input("Random seed", 0, 2**31 - 1, int(api.training.defaults("naive")["seed"]),
                                        key="opt-seed")
if actor and actor.can("train"):
    if st.button("Start training", type="primary", key="train-start"):
        ok, vid = widgets.action(lambda: api.training.start(actor, kind, int(horizon), int(folds), options))
        if ok:
            st.session_state["train_watch"] = [*st.session_state.get("train_watch", []), vid]
            st.rerun()

# --- results ------------------------------------------------------------------------------------
st.divider()
st.subheader("Results")
rows = api.versions.ready()
if not rows:
    widgets.empty_state("No finished versions yet. Start a training run above; results appear here.")
    st.stop()
by_id = {r.id: r for r in rows}
ids = list(by_id)
if st.session_state.get("train_results") in ids:  # a job just finished: show its results
    st.session_state["res-version"] = st.session_state.pop("train_results")
if st.session_state.get("res-version") not in ids:
    st.session_state.pop("res-version", None)
vid = st.selectbox(
    "Version", ids, key="res-version",
    format_func=lambda i: f"v{i} · {by_id[i].model} · {(by_id[i].created_at or '')[:16].replace('T', ' ')} UTC"
                          f" · by {by_id[i].created_by}{' · ACTIVE' if by_id[i].active else ''}",
)
v = by_id[vid]
m = v.metrics
k = st.columns(6)
k[0].metric("Accuracy (1 − WAPE)", widgets.fmt_acc(m.get("accuracy")))
k[1].metric("WAPE", widgets.fmt_pct(m.get("wape")))
k[2].metric("MASE", "–" if m.get("mase") is None else f"{m['mase']:.2f}",
            help="Below 1 beats the in-sample seasonal-naive error.")
k[3].metric("Bias", widgets.fmt_pct(m.get("bias")), help="Positive = over-forecasting.")
k[4].metric("80% interval coverage", widgets.fmt_pct(m.get("coverage")))
k[5].metric("RMSE (units)", "–" if m.get("rmse") is None else f"{m['rmse']:.1f}")
base = (m.get("by_model") or {}).get("naive")
st.caption(
    f"Pooled over {v.n_series:,} series and {v.folds} backtest folds of {v.horizon} periods "
    f"(cut-offs {', '.join(m.get('cutoffs', []))}). Seasonal-naive WAPE {widgets.fmt_pct(base)}. "
    + ("Winners per series: " + ", ".join(f"{k2} {n}" for k2, n in m.get("winners", {}).items() if n) + ". "
       if v.model == "best" else "")
    + f"Trained in {fmt_secs(v.duration_s)}; data {v.data_hash[:10]}…, code {md(v.code_version)}."
)
measured = m.get("measured") or {}
if measured.get("text"):
    in_sel = (m.get("in_selection") or {}).get("wape")
    st.info(f"How the headline is measured: {measured['text']}"
            + (f" Scored on the folds it chose with, the same choice would claim WAPE "
               f"{widgets.fmt_pct(in_sel)}." if in_sel is not None and measured.get("method") == "out-of-selection" else ""))
qm = m.get("quantiles") or {}
if qm.get("coverage"):
    st.caption("Quantiles (calibrated on backtest errors per step ahead; scored out of sample): "
               + ", ".join(f"P{float(q) * 100:g} covers {widgets.fmt_pct(c2)}" for q, c2 in qm["coverage"].items())
               + (f"; weighted quantile loss {qm['wql']:.3f}" if qm.get("wql") is not None else "") + ".")
if m.get("classes"):
    st.caption("Demand classes (Syntetos–Boylan): "
               + ", ".join(f"{k2} {n:,}" for k2, n in sorted(m["classes"].items(), key=lambda kv: -kv[1])) + ".")
for w in v.warnings:
    st.warning(md(w))

table = api.versions.series_table(v)
# sum|error| = WAPE x sum|actual|: the units a series' misses cost, the order that matters to a
# planner (a SKU selling 8 units at 50% error is not worse than one missing 2,500).
table.insert(4, "error_units", ((1 - table["accuracy"]) * table["units"]).round())
by_pct = st.radio("Rank by", ["Error (units)", "Accuracy (%)"], horizontal=True, key="res-rank") != "Error (units)"
table = table.sort_values("accuracy" if by_pct else "error_units", ascending=by_pct, na_position="last",
                          ignore_index=True)
table["accuracy"] = table["accuracy"].clip(lower=0.0)  # display_accuracy, vectorised: 100,000 rows
st.markdown("**Per series** (backtest, all folds; accuracy of the model used for the forecast)")
listed = tables.shown(table, "res-series", "series", "lowest accuracy first" if by_pct else "largest error first")
st.dataframe(
    listed, hide_index=True, height=min(300, 35 * (len(listed) + 1) + 3), key="res-series-table",
    column_config={
        "sku": "SKU", "store": "Store", "model": "Model",
        "accuracy": st.column_config.ProgressColumn("Accuracy", format="percent", min_value=0, max_value=1),
        **widgets.number_columns({"error_units": ("Error (units)", "%.0f"), "mase": ("MASE", "%.2f"),
                                  "bias": ("Bias", "percent"), "coverage": ("80% coverage", "percent"),
                                  "units": ("Backtest units", "%.0f")}),
        **widgets.number_columns({c2: (c2, "percent") for c2 in table.columns if c2.startswith("WAPE")}),
    },
)
if v.active:
    # The live figure is Monitor's, from the same function: per SKU, stores summed per period.
    lgrain, lwindow = default_grain(v.freq)
    live = api.monitoring.accuracy(lwindow, lgrain, "sku")
    if not live.empty:
        live = live.assign(error_units=live["lost_units"] + live["over_units"]).sort_values(
            "error_units", ascending=False, ignore_index=True)
        live["accuracy"] = live["accuracy"].map(display_accuracy)
        st.markdown(f"**Live, per SKU** (this version is active: sales since it was promoted, last "
                    f"{lwindow} {lgrain}s, stores summed; the same figures as Monitor)")
        st.dataframe(
            live[["sku", "accuracy", "error_units", "units"]], hide_index=True, key="res-live-table",
            height=min(300, 35 * (len(live) + 1) + 3),
            column_config={"sku": "SKU", "accuracy": st.column_config.ProgressColumn(
                "Accuracy", format="percent", min_value=0, max_value=1),
                **widgets.number_columns({"error_units": ("Error (units)", "%.0f"), "units": ("Units", "%.0f")})})
if actor and actor.can("download"):
    widgets.download_buttons(lambda: widgets.in_units(api.versions.forecast_frame(vid)), f"shelfcast_forecasts_v{vid}",
                             "train-fc", what=f"version {vid} forecast ({v.horizon} periods)")

# --- one series ---------------------------------------------------------------------------------
st.markdown("**One series**")
index = api.versions.series_index(vid)  # ordered by SKU, store
# SKU, then its stores: one list of every series was 100,000 options sent with each view.
s1, s2 = st.columns(2)
pick = s1.selectbox("SKU", index["sku"].unique().tolist(), key=f"res-sku-{vid}")
of_sku = index[index["sku"] == pick]
labels = dict(zip(of_sku["series_id"].astype(int).tolist(),
                  (of_sku["sku"] + " · " + of_sku["store"] + " (" + of_sku["model"] + ")").tolist(), strict=True))
stores = dict(zip(labels, (of_sku["store"] + " (" + of_sku["model"] + ")").tolist(), strict=True))
sid = s2.selectbox("Store", list(labels), format_func=stores.get, key=f"res-series-{vid}-{pick}")  # per version and SKU
view = api.versions.series_view(vid, sid)
st.plotly_chart(charts.series_forecast(view, labels[sid]), width="stretch")

# --- explainability -----------------------------------------------------------------------------
if view.model == "prophet":
    st.markdown("**Prophet components** of this series' model")
    ok, comp = widgets.action(lambda: api.versions.prophet_components(vid, sid))
    if ok:
        st.plotly_chart(charts.components(comp), width="stretch")
elif view.model == "sklearn":
    st.markdown("**Feature importance** of the scikit-learn global model (permutation, on training rows)")
    ok, imp = widgets.action(lambda: api.versions.feature_importance(vid))
    if ok:
        st.plotly_chart(charts.importance(imp), width="stretch")
        st.caption("Multi-step strategy: recursive (one-step model, predictions fed back as lags).")
elif view.model == "naive":
    st.caption("Seasonal naive repeats the last season; there is nothing more to explain.")
else:
    st.caption(f"{md(labels.get(view.model, view.model))}: a statistical model fitted to this series alone "
               "(statsforecast); its band is calibrated from its backtest errors.")
with st.expander("Parameters and lineage"):
    st.json({k2: getattr(v, k2) for k2 in ("params", "dataset_id", "data_hash", "code_version", "created_by",
                                           "created_at", "duration_s")})
