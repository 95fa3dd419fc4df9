"""Data: upload sales files with a column mapping, and look at what the store holds."""

from __future__ import annotations

import streamlit as st

from app import charts, state, tables, uploads, widgets
from core.text import md

actor = state.actor()
api = widgets.api()
st.title("Data")

counts = api.data.counts
freq = api.data.freq
NONE = "(none)"


def upload_section() -> None:
    st.subheader("Upload sales history")
    st.caption(
        "CSV, Parquet or Excel with a date, a SKU and units sold per row; store, price, promo and "
        "weather columns are optional. Re-uploading dates that are already stored replaces them."
    )
    f = st.file_uploader("Sales file", type=["csv", "tsv", "txt", "parquet", "xlsx"], key=uploads.widget_key())
    if f is None:
        uploads.discard()
        return
    ok, up = widgets.action(lambda: uploads.current(f, api.data.inspect))
    if not ok:
        return
    st.dataframe(up.preview, hide_index=True)
    options = [NONE, *up.columns]

    def pick(label: str, current: str | None, key: str) -> str | None:
        idx = options.index(current) if current in options else 0
        v = st.selectbox(label, options, index=idx, key=key)
        return None if v == NONE else v

    c = st.columns(4)
    with c[0]:
        date_col = pick("Date column", up.guess.date, "map-date")
    with c[1]:
        sku_col = pick("SKU column", up.guess.sku, "map-sku")
    with c[2]:
        store_col = pick("Store column (optional)", up.guess.store, "map-store")
    with c[3]:
        qty_col = pick("Units sold column", up.guess.qty, "map-qty")
    rest = [x for x in up.columns if x not in (date_col, sku_col, store_col, qty_col)]
    regs = st.multiselect(
        "Regressor columns (numbers or yes/no: price, promo, temperature...)", rest,
        default=[r for r in (up.guess.regressors or []) if r in rest], key="map-regs",
    )
    if st.button("Load into store", type="primary", key="do-ingest"):
        m = api.data.Mapping(date=date_col, sku=sku_col, store=store_col, qty=qty_col, regressors=regs)
        with st.spinner("Validating and loading ..."):
            ok, r = widgets.action(lambda: api.data.ingest(actor, up.path, m, file_name=up.name))
        if ok:
            uploads.loaded()
            st.session_state["last_ingest"] = r.to_json()
            st.rerun()


if actor and actor.can("upload"):
    upload_section()

last = st.session_state.pop("last_ingest", None)  # shown once, right after the upload
if last:
    st.success(
        f"Loaded {md(last['file_name'])}: {last['rows_added']:,} rows added, {last['rows_updated']:,} updated, "
        f"{last['series']:,} series, {last['first_date']} to {last['last_date']} "
        f"({api.data.describe_freq(last['freq'])}, dataset version {last['dataset_id']})."
    )
    if last.get("monitoring_error"):
        st.warning(f"The sales are stored, but updating monitoring failed: "
                   f"{md(last['monitoring_error'])} The Monitor page shows it too.")

st.divider()
if counts.rows == 0:
    widgets.empty_state(
        "The store has no sales yet. Upload a sales file above (date, SKU, units; store optional), "
        "or load the demo data set to look around."
    )
    if actor and actor.can("promote") and st.button("Load demo data", key="load-demo"):
        with st.spinner("Loading demo data ..."):
            ok, _ = widgets.action(lambda: api.data.load_demo(actor))
        if ok:
            st.rerun()
    st.stop()

m = st.columns([1, 1.3, 0.8, 0.8, 1, 1.4])
m[0].metric("Rows", widgets.fmt_int(counts.rows))
m[1].metric("Series (SKU × store)", widgets.fmt_int(counts.series))
m[2].metric("SKUs", widgets.fmt_int(counts.skus))
m[3].metric("Stores", widgets.fmt_int(counts.stores))
m[4].metric("Frequency", (api.data.describe_freq(freq) if freq else "–").split(" (")[0])
m[5].metric("Latest actuals", str(counts.last_date))
st.caption(f"History from {counts.first_date} to {counts.last_date} ({api.data.describe_freq(freq)}).")

st.subheader("Sales of one SKU")
c1, c2 = st.columns([2, 2])
ALL = "All stores"
sku = c1.selectbox("SKU", api.data.skus(), key="chart-sku")
store = c2.selectbox("Store", [ALL, *api.data.stores()], key="chart-store")
h = api.data.history(sku, None if store == ALL else store)
st.plotly_chart(charts.sales_history(h, sku, store), width="stretch")

st.subheader("Series")
summary = api.data.series_summary()
st.dataframe(
    tables.shown(summary, "series", "series", "by SKU and store"),
    hide_index=True,
    column_config={
        "sku": "SKU", "store": "Store",
        "first_date": st.column_config.DateColumn("First date", format="YYYY-MM-DD"),
        "last_date": st.column_config.DateColumn("Last date", format="YYYY-MM-DD"),
        **widgets.number_columns({"periods": ("Periods", "%d"), "total_units": ("Total units", "%.0f"),
                                  "mean_units": ("Mean units / period", "%.1f"),
                                  "zero_share": ("Zero-sales share", "percent")}),
    },
    height=300,
)
if actor and actor.can("download"):
    widgets.download_buttons(summary, "series_summary", "series", what="series summary")

st.subheader("Upload history")
st.dataframe(
    [
        {
            "Version": d.id, "File": d.file_name, "Rows added": d.rows_added, "Rows updated": d.rows_updated,
            "Series": d.series_count, "From": d.first_date, "To": d.last_date, "By": d.created_by,
            "At (UTC)": d.created_at.strftime("%Y-%m-%d %H:%M") if d.created_at else "",
            "SHA-256": d.sha256[:12],
        }
        for d in api.data.uploads()
    ],
    hide_index=True,
)
