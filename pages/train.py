"""Train: start a training job (backtest + final fit), watch its progress, cancel it, and look at
what a version learned. Thin: jobs, metrics and forecasts all come from core."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import state, widgets
from core import artifacts, forecasts, jobs
from core.errors import ShelfcastError
from core.freq import default_horizon
from core.ingest import describe_freq
from core.store import datasets, sales, session
from core.store import versions as vstore

actor = state.actor()
db = widgets.db()
jobs.on_startup(db)
MODELS = {
    "best": "Best of several (per series, lowest backtest WAPE)",
    "sklearn": "scikit-learn global model (one model for all series)",
    "prophet": "Prophet (one model per series)",
    "naive": "Seasonal naive (baseline)",
}
COLORS = {"naive": "#7f7f7f", "sklearn": "#1f77b4", "prophet": "#2ca02c"}

st.title("Train")
with session(db) as s:
    counts = sales.counts(s)
    freq = datasets.get_setting(s, "freq")
if counts["rows"] == 0 or not freq:
    widgets.empty_state("No sales data to train on yet. Upload a sales file on the Data page first.")
    st.stop()


def fmt_secs(x: float | None) -> str:
    if x is None:
        return "estimating…"
    x = int(round(x))
    return f"{x // 60} min {x % 60:02d} s" if x >= 60 else f"{x} s"


# --- running jobs (polled from the store) -------------------------------------------------------
def running_ids() -> list[int]:
    return [j.version_id for j in jobs.running(db)]


@st.fragment(run_every=1.5 if running_ids() else None)
def job_panel() -> None:
    ids = running_ids()
    watched = st.session_state.get("train_watch", [])
    if not ids:
        finished = [jobs.status(v, db) for v in watched]
        st.session_state["train_watch"] = []
        if finished:  # shown after the full rerun that brings the new results in
            st.session_state["train_flash"] = [
                (j.status == "ready", f"Version {j.version_id} ({j.kind}) finished: {j.status} after "
                 f"{fmt_secs(j.elapsed_s)}." + (f" {j.error}" if j.error and j.status != "ready" else ""))
                for j in finished]
            st.session_state["train_results"] = finished[-1].version_id
            st.rerun()
        return
    st.subheader("Running")
    st.session_state["train_watch"] = sorted(set(watched) | set(ids))
    for vid in ids:
        j = jobs.status(vid, db)
        label = (f"v{vid} · {j.kind} · {j.done:,} of {j.total:,} series-fits · "
                 f"{fmt_secs(j.elapsed_s)} elapsed · {fmt_secs(j.eta_s)} left")
        if j.cancel_requested:
            label += " · cancelling…"
        st.progress(j.fraction, text=label)
        if actor and actor.can("train") and not j.cancel_requested:
            if st.button("Cancel", key=f"train-cancel-{vid}"):
                try:
                    jobs.cancel(actor, vid, db)
                except ShelfcastError as exc:
                    st.error(str(exc))
                st.rerun()
    st.caption("Jobs keep running if you leave this page; come back any time to see them.")


for ok, msg in st.session_state.pop("train_flash", []):
    (st.success if ok else st.warning)(msg)
job_panel()

# --- new run ------------------------------------------------------------------------------------
st.subheader("New training run")
st.caption(f"Data: {counts['series']:,} series, {describe_freq(freq)}, {counts['first_date']} → "
           f"{counts['last_date']}. Every run also backtests the seasonal-naive baseline.")
c = st.columns([3, 1, 1])
kind = c[0].selectbox("Model", list(MODELS), format_func=MODELS.get, key="train-kind")
horizon = c[1].number_input("Horizon (periods)", 1, 366, default_horizon(freq), key="train-horizon",
                            help="How far ahead to forecast, in periods of the data (days, weeks or months).")
folds = c[2].number_input("Backtest folds", 1, 10, 3, key="train-folds",
                          help="Rolling-origin folds, each one horizon long, ending at the last actual.")
options: dict = {}
if kind == "best":
    picks = st.multiselect("Candidates", ["naive", "sklearn", "prophet"], ["naive", "sklearn", "prophet"],
                           key="train-candidates")
    options["models"] = ",".join(picks)
with st.expander("Model options"):
    o = st.columns(3)
    if kind in ("sklearn", "best"):
        options["estimator"] = o[0].selectbox("scikit-learn estimator", ["hgb", "ridge"], key="opt-estimator",
                                              format_func={"hgb": "HistGradientBoosting", "ridge": "Ridge (fast, linear)"}.get)
        options["max_iter"] = o[0].number_input("Boosting rounds", 10, 2000, 100, key="opt-max-iter")
    if kind in ("prophet", "best"):
        options["seasonality_mode"] = o[1].selectbox("Prophet seasonality", ["additive", "multiplicative"], key="opt-mode")
        options["changepoint_prior_scale"] = o[1].number_input("Changepoint prior scale", 0.001, 10.0, 0.05,
                                                               format="%.3f", key="opt-cps")
        options["yearly_seasonality"] = o[2].selectbox("Yearly seasonality", ["auto", "true", "false"], key="opt-yearly")
        options["weekly_seasonality"] = o[2].selectbox("Weekly seasonality", ["auto", "true", "false"], key="opt-weekly")
        options["country_holidays"] = o[1].text_input("Country holidays (e.g. GB, US; empty = none)", "", key="opt-holidays")
        options["uncertainty_samples"] = o[2].number_input("Interval samples", 0, 2000, 200, key="opt-samples")
    options["seed"] = o[0].number_input("Random seed", 0, 2**31 - 1, 0, key="opt-seed")
if actor and actor.can("train"):
    if st.button("Start training", type="primary", key="train-start"):
        try:
            vid = jobs.start(actor, kind, horizon=int(horizon), folds=int(folds), options=options, db=db)
        except ShelfcastError as exc:
            st.error(str(exc))
        else:
            st.session_state["train_watch"] = [*st.session_state.get("train_watch", []), vid]
            st.rerun()

# --- results ------------------------------------------------------------------------------------
st.divider()
st.subheader("Results")
rows = [r for r in forecasts.list_versions(db) if r["status"] == "ready"]
if not rows:
    widgets.empty_state("No finished versions yet. Start a training run above; results appear here.")
    st.stop()
ids = [r["id"] for r in rows]
if st.session_state.get("train_results") in ids:  # a job just finished: show its results
    st.session_state["res-version"] = st.session_state.pop("train_results")
if st.session_state.get("res-version") not in ids:
    st.session_state.pop("res-version", None)
by_id = {r["id"]: r for r in rows}
vid = st.selectbox(
    "Version", ids, key="res-version",
    format_func=lambda i: f"v{i} · {by_id[i]['model']} · {by_id[i]['created_at'][:16].replace('T', ' ')} UTC"
                          f" · by {by_id[i]['created_by']}{' · ACTIVE' if by_id[i]['active'] else ''}",
)
v = by_id[vid]
m = v["metrics"]
k = st.columns(6)
k[0].metric("Accuracy (1 − WAPE)", widgets.fmt_pct(m.get("accuracy")))
k[1].metric("WAPE", widgets.fmt_pct(m.get("wape")))
k[2].metric("MASE", "–" if m.get("mase") is None else f"{m['mase']:.2f}",
            help="Below 1 beats the in-sample seasonal-naive error.")
k[3].metric("Bias", widgets.fmt_pct(m.get("bias")), help="Positive = over-forecasting.")
k[4].metric("80% interval coverage", widgets.fmt_pct(m.get("coverage")))
k[5].metric("RMSE (units)", "–" if m.get("rmse") is None else f"{m['rmse']:.1f}")
base = (m.get("by_model") or {}).get("naive")
st.caption(
    f"Pooled over {v['n_series']:,} series and {v['folds']} backtest folds of {v['horizon']} periods "
    f"(cut-offs {', '.join(m.get('cutoffs', []))}). Seasonal-naive WAPE {widgets.fmt_pct(base)}. "
    + ("Winners per series: " + ", ".join(f"{k2} {n}" for k2, n in m.get("winners", {}).items() if n) + ". "
       if v["model"] == "best" else "")
    + f"Trained in {fmt_secs(v['duration_s'])}; data {v['data_hash'][:10]}…, code {v['code_version']}."
)
for w in v["warnings"]:
    st.warning(w)

with session(db) as s:
    ms = vstore.series_metrics(s, vid)
    fc_ids = vstore.series_ids(s, vid)
chosen = fc_ids.set_index("series_id")["model"]
table = ms.pivot_table(index=["series_id", "sku", "store"], columns="model", values="wape").add_prefix("WAPE ")
mine = ms[ms["model"] == ms["series_id"].map(chosen)].set_index("series_id")
table = table.reset_index().merge(
    mine[["mase", "bias", "coverage", "abs_y"]].rename(
        columns={"abs_y": "units"}), left_on="series_id", right_index=True, how="left")
table.insert(3, "model", table["series_id"].map(chosen))
table.insert(4, "accuracy", 1 - table[f"WAPE {v['model']}"] if v["model"] != "best"
             else 1 - table.apply(lambda r: r.get(f"WAPE {r['model']}"), axis=1))
st.markdown("**Per series** (backtest, all folds; accuracy of the model used for the forecast)")
st.dataframe(
    table.drop(columns=["series_id"]).sort_values("accuracy"),
    hide_index=True, height=min(300, 35 * (len(table) + 1) + 3),
    column_config={
        "sku": "SKU", "store": "Store", "model": "Model",
        "accuracy": st.column_config.ProgressColumn("Accuracy", format="percent", min_value=0, max_value=1),
        "mase": st.column_config.NumberColumn("MASE", format="%.2f"),
        "bias": st.column_config.NumberColumn("Bias", format="percent"),
        "coverage": st.column_config.NumberColumn("80% coverage", format="percent"),
        "units": st.column_config.NumberColumn("Backtest units", format="%.0f"),
        **{c2: st.column_config.NumberColumn(c2, format="percent") for c2 in table.columns if c2.startswith("WAPE")},
    },
)
if actor and actor.can("download"):
    fc_all = forecasts.forecast_frame(vid, db)
    widgets.download_buttons(fc_all, f"shelfcast_forecasts_v{vid}", "train-fc")

# --- one series ---------------------------------------------------------------------------------
st.markdown("**One series**")
labels = {int(r.series_id): f"{r.sku} · {r.store} ({r.model})" for r in fc_ids.itertuples()}
sid = st.selectbox("Series", list(labels), format_func=labels.get, key=f"res-series-{vid}")  # per version: labels name its models
with session(db) as s:
    hist = sales.history(s, fc_ids.set_index("series_id").loc[sid, "sku"], fc_ids.set_index("series_id").loc[sid, "store"])
    bt = vstore.backtests(s, vid, sid)
    fc = vstore.forecasts(s, vid, sid)
hist["ds"] = pd.to_datetime(hist["ds"])
show_from = pd.to_datetime(bt["cutoff"].min()) - (pd.to_datetime(fc["ds"].max()) - pd.to_datetime(bt["cutoff"].min())) \
    if not bt.empty else hist["ds"].min()
h = hist[hist["ds"] >= show_from]
fig = go.Figure()
fig.add_trace(go.Scatter(x=h["ds"], y=h["y"], name="Actual units", mode="lines", line={"color": "#222", "width": 1.4}))
for model, g in bt.groupby("model"):
    for i, (_, gf) in enumerate(g.groupby("fold")):
        fig.add_trace(go.Scatter(x=gf["ds"], y=gf["yhat"], mode="lines", name=f"Backtest {model}",
                                 legendgroup=model, showlegend=i == 0,
                                 line={"color": COLORS.get(model, "#999"), "width": 1.2, "dash": "dot"}))
fig.add_trace(go.Scatter(x=pd.concat([fc["ds"], fc["ds"][::-1]]), y=pd.concat([fc["yhat_upper"], fc["yhat_lower"][::-1]]),
                         fill="toself", fillcolor="rgba(31,119,180,0.18)", line={"width": 0},
                         name="80% interval", hoverinfo="skip"))
fig.add_trace(go.Scatter(x=fc["ds"], y=fc["yhat"], name=f"Forecast ({chosen.get(sid, v['model'])})",
                         mode="lines", line={"color": "#d62728", "width": 2.2}))
for cut in sorted(bt["cutoff"].unique()):
    fig.add_vline(x=pd.Timestamp(cut), line={"color": "#bbb", "width": 1, "dash": "dash"})
fig.update_layout(height=420, margin={"l": 10, "r": 10, "t": 40, "b": 10}, yaxis_title="Units sold",
                  title={"text": f"{labels[sid]}: history, backtests (dotted, cut-offs dashed) and forecast",
                         "font": {"size": 14}}, legend={"orientation": "h", "y": -0.12})
st.plotly_chart(fig, width="stretch")

# --- explainability -----------------------------------------------------------------------------
model_used = chosen.get(sid, v["model"])
if model_used == "prophet":
    st.markdown("**Prophet components** of this series' model")
    try:
        pm = artifacts.load_prophet(db, vid, sid)
        future = pm.make_future_dataframe(periods=v["horizon"], freq=v["freq"], include_history=True)
        for name in pm.extra_regressors:
            future[name] = 0.0
        comp = pm.predict(future)
        parts = [c2 for c2 in ("trend", "weekly", "yearly", "holidays", "extra_regressors_additive") if c2 in comp]
        cf = go.Figure()
        for p in parts:
            cf.add_trace(go.Scatter(x=comp["ds"], y=comp[p], name=p.replace("_", " "), mode="lines"))
        cf.update_layout(height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10}, yaxis_title="Units (effect)",
                         legend={"orientation": "h", "y": -0.15})
        st.plotly_chart(cf, width="stretch")
    except ShelfcastError as exc:
        st.error(str(exc))
elif model_used == "sklearn":
    st.markdown("**Feature importance** of the scikit-learn global model (permutation, on training rows)")
    try:
        _, meta = artifacts.load_sklearn(db, vid)
        imp = pd.Series(meta["importance"]).sort_values()
        bf = go.Figure(go.Bar(x=imp.values, y=imp.index, orientation="h", marker_color="#1f77b4"))
        bf.update_layout(height=max(260, 22 * len(imp)), margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         xaxis_title="Loss increase when the feature is shuffled")
        st.plotly_chart(bf, width="stretch")
        st.caption("Multi-step strategy: recursive (one-step model, predictions fed back as lags).")
    except ShelfcastError as exc:
        st.error(str(exc))
else:
    st.caption("Seasonal naive repeats the last season; there is nothing more to explain.")
with st.expander("Parameters and lineage"):
    st.json({k2: v[k2] for k2 in ("params", "dataset_id", "data_hash", "code_version", "created_by",
                                   "created_at", "duration_s")})
