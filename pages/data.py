"""Data: upload sales files with a column mapping, and look at what the store holds."""

from __future__ import annotations

import tempfile
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from app import state, widgets
from core import ingest as ing
from core.errors import ShelfcastError
from core.seed import seed_demo
from core.store import datasets, sales, session

actor = state.actor()
db = widgets.db()
st.title("Data")

with session(db) as s:
    counts = sales.counts(s)
    history = datasets.list_datasets(s)
    freq = datasets.get_setting(s, "freq")

NONE = "(none)"


def upload_section() -> None:
    st.subheader("Upload sales history")
    st.caption(
        "CSV, Parquet or Excel with a date, a SKU and units sold per row; store, price, promo and "
        "weather columns are optional. Re-uploading dates that are already stored replaces them."
    )
    f = st.file_uploader("Sales file", type=["csv", "tsv", "txt", "parquet", "xlsx"], key="upload")
    if f is None:
        return
    tmp = Path(tempfile.gettempdir()) / f"shelfcast-upload-{st.session_state.get('_sid', id(st.session_state))}{Path(f.name).suffix.lower()}"
    tmp.write_bytes(f.getvalue())
    try:
        prep_cols, guess, preview = ing.inspect_file(tmp, f.name)
    except ShelfcastError as exc:
        st.error(str(exc))
        return
    st.dataframe(preview, hide_index=True)
    options = [NONE, *prep_cols]

    def pick(label: str, current: str | None, key: str) -> str | None:
        idx = options.index(current) if current in options else 0
        v = st.selectbox(label, options, index=idx, key=key)
        return None if v == NONE else v

    c = st.columns(4)
    with c[0]:
        date_col = pick("Date column", guess.date, "map-date")
    with c[1]:
        sku_col = pick("SKU column", guess.sku, "map-sku")
    with c[2]:
        store_col = pick("Store column (optional)", guess.store, "map-store")
    with c[3]:
        qty_col = pick("Units sold column", guess.qty, "map-qty")
    rest = [x for x in prep_cols if x not in (date_col, sku_col, store_col, qty_col)]
    regs = st.multiselect(
        "Regressor columns (numbers or yes/no: price, promo, temperature...)", rest,
        default=[r for r in (guess.regressors or []) if r in rest], key="map-regs",
    )
    if st.button("Load into store", type="primary", key="do-ingest"):
        m = ing.Mapping(date=date_col, sku=sku_col, store=store_col, qty=qty_col, regressors=regs)
        try:
            with st.spinner("Validating and loading ..."):
                r = ing.ingest(tmp, actor, m, db=db, file_name=f.name)
        except ShelfcastError as exc:
            st.error(str(exc))
        else:
            st.session_state["last_ingest"] = r.to_json()
            st.rerun()


if actor and actor.can("upload"):
    upload_section()

last = st.session_state.pop("last_ingest", None)  # shown once, right after the upload
if last:
    st.success(
        f"Loaded {last['file_name']}: {last['rows_added']:,} rows added, {last['rows_updated']:,} updated, "
        f"{last['series']:,} series, {last['first_date']} to {last['last_date']} "
        f"({ing.describe_freq(last['freq'])}, dataset version {last['dataset_id']})."
    )

st.divider()
if counts["rows"] == 0:
    widgets.empty_state(
        "The store has no sales yet. Upload a sales file above (date, SKU, units; store optional), "
        "or load the demo data set to look around."
    )
    if actor and actor.can("promote") and st.button("Load demo data", key="load-demo"):
        with st.spinner("Loading demo data ..."):
            seed_demo(actor, db, say=lambda _m: None)
        st.rerun()
    st.stop()

m = st.columns([1, 1.3, 0.8, 0.8, 1, 1.4])
m[0].metric("Rows", widgets.fmt_int(counts["rows"]))
m[1].metric("Series (SKU × store)", widgets.fmt_int(counts["series"]))
m[2].metric("SKUs", widgets.fmt_int(counts["skus"]))
m[3].metric("Stores", widgets.fmt_int(counts["stores"]))
m[4].metric("Frequency", (ing.describe_freq(freq) if freq else "–").split(" (")[0])
m[5].metric("Latest actuals", str(counts["last_date"]))
st.caption(f"History from {counts['first_date']} to {counts['last_date']} ({ing.describe_freq(freq)}).")

st.subheader("Sales of one SKU")
with session(db) as s:
    sku_list = sales.skus(s)
    store_list = sales.stores(s)
c1, c2 = st.columns([2, 2])
sku = c1.selectbox("SKU", sku_list, key="chart-sku")
store = c2.selectbox("Store", ["All stores", *store_list], key="chart-store")
with session(db) as s:
    h = sales.history(s, sku, None if store == "All stores" else store)
fig = go.Figure(go.Scatter(x=h["ds"], y=h["y"], mode="lines", name="Units sold", line={"width": 1.5}))
fig.update_layout(
    height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10},
    yaxis_title="Units sold", xaxis_title=None,
    title={"text": f"{sku} — {store}", "font": {"size": 14}},
)
st.plotly_chart(fig, width="stretch")

st.subheader("Series")
with session(db) as s:
    summary = sales.series_summary(s)
st.dataframe(
    summary,
    hide_index=True,
    column_config={
        "sku": "SKU", "store": "Store",
        "first_date": st.column_config.DateColumn("First date", format="YYYY-MM-DD"),
        "last_date": st.column_config.DateColumn("Last date", format="YYYY-MM-DD"),
        "periods": st.column_config.NumberColumn("Periods", format="%d"),
        "total_units": st.column_config.NumberColumn("Total units", format="%.0f"),
        "mean_units": st.column_config.NumberColumn("Mean units / period", format="%.1f"),
        "zero_share": st.column_config.NumberColumn("Zero-sales share", format="percent"),
    },
    height=300,
)
if actor and actor.can("download"):
    widgets.download_buttons(summary, "series_summary", "series")

st.subheader("Upload history")
st.dataframe(
    [
        {
            "Version": d.id, "File": d.file_name, "Rows added": d.rows_added, "Rows updated": d.rows_updated,
            "Series": d.series_count, "From": d.first_date, "To": d.last_date, "By": d.created_by,
            "At (UTC)": d.created_at.strftime("%Y-%m-%d %H:%M") if d.created_at else "",
            "SHA-256": d.sha256[:12],
        }
        for d in history
    ],
    hide_index=True,
)
