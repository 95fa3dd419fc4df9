"""Deleting a date range of sales: the way out when a bad row got in (a store poisoned by a
'9999-12-31' before dates were checked, a week loaded twice under the wrong store, ...).

To replace a range, delete it and ingest the corrected file. A deletion is audited twice: a row
in `sales_deletions` (who, when, range, filters, rows, note) and a `datasets` entry, so lineage,
training's data hash and monitoring's refresh (keyed on dataset ranges) all see the change; then
the same hooks as an ingest (`ingest.AFTER_INGEST`) re-evaluate the alerts.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import date

from core.access import Actor, require
from core.errors import ValidationError
from core.store import datasets, sales, session


@dataclass
class Deletion:
    dataset_id: int
    date_from: date | None
    date_to: date | None
    sku: str | None
    store: str | None
    sales_rows: int
    regressor_rows: int
    series: int
    note: str
    actor: str

    def to_json(self) -> dict:
        d = asdict(self)
        d["date_from"] = str(self.date_from) if self.date_from else None
        d["date_to"] = str(self.date_to) if self.date_to else None
        return d


def parse_date(text: str | date | None, what: str) -> date | None:
    """A YYYY-MM-DD argument; None or '' means open-ended."""
    if text is None or isinstance(text, date) or not str(text).strip():
        return text or None
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise ValidationError(f"{what} {str(text)[:40]!r} is not a date: write it as YYYY-MM-DD.") from None


def delete_sales(actor: Actor, date_from: str | date | None, date_to: str | date | None, *,
                 note: str, sku: str | None = None, store: str | None = None,
                 db: str | os.PathLike | None = None) -> Deletion:
    """Delete the sales and regressor rows from `date_from` to `date_to` (inclusive; either may
    be None for open-ended), for one SKU and/or store if given. Manager and up, like uploading.
    Refuses a deletion that matches nothing, so a typo in a SKU does not pass unnoticed."""
    require(actor, "upload")
    lo, hi = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    note = (note or "").strip()
    if not note:
        raise ValidationError("Add a note saying why these sales are deleted (it goes into the audit).")
    if lo is None and hi is None and not sku and not store:
        raise ValidationError("Give --from and/or --to (and optionally --sku/--store): deleting every "
                              "sale is not what this command is for; use a new store file instead.")
    if lo and hi and lo > hi:
        raise ValidationError(f"--from {lo} is after --to {hi}.")
    with session(db, write=True) as s:
        n_sales, n_regs, n_series, first, last = sales.range_extent(s, lo, hi, sku or None, store or None)
        if n_sales + n_regs == 0:
            raise ValidationError("No sales or regressor rows match that range and filter; nothing "
                                  "was deleted.")
        ds = datasets.add_dataset(s, datasets.Dataset(
            file_name=f"(deleted {lo or 'start'} to {hi or 'end'})", sha256="", rows_added=0,
            rows_updated=0, series_count=n_series, first_date=first, last_date=last,
            freq=datasets.get_setting(s, "freq") or "",
            columns=json.dumps({"deleted": {"sales_rows": n_sales, "regressor_rows": n_regs,
                                            "sku": sku, "store": store, "note": note}}),
            created_by=actor.name,
        ))
        n_sales, n_regs = sales.delete_range(s, lo, hi, sku or None, store or None, ds.id, note,
                                             actor.name)
        change = (int(ds.id), first, last, ds.freq)
        out = Deletion(dataset_id=int(ds.id), date_from=lo, date_to=hi, sku=sku or None,
                       store=store or None, sales_rows=n_sales, regressor_rows=n_regs,
                       series=n_series, note=note, actor=actor.name)
    from core import ingest  # the after-change hooks live with ingest

    # The hooks get what an ingest gives them: the dataset and the date range that changed.
    result = ingest.IngestResult(
        dataset_id=change[0], file_name=f"(deleted {lo or 'start'} to {hi or 'end'})",
        rows_added=0, rows_updated=0, series=n_series, first_date=change[1],
        last_date=change[2], freq=change[3], mapping={"deleted": out.to_json()},
    )
    for hook in ingest.AFTER_INGEST:
        hook(result, actor, db)
    return out
