"""CSV quoting: the sniffer is told RFC 4180's double quote when a file's start shows no other
quote (core.ingest._sniff), and sniffs in full otherwise."""

from __future__ import annotations

import pytest

from core.ingest import ingest
from core.store import session


def _names(db) -> list[str]:
    with session(db) as s:
        return [r[0] for r in s.connection().exec_driver_sql("SELECT DISTINCT sku FROM series ORDER BY 1").fetchall()]


def test_a_quoted_cell_past_the_sniffers_sample_reads_as_one_cell(db, tmp_path, scientist):
    """5 MB of plain rows, then SKU names quoted as CSV writers quote them (a comma; a doubled
    quote): the sniffer's sample saw no quote (it used to pick none, and the file could not be
    read, or kept the quotes in the name)."""
    from core import ingest as ingest_mod

    path = tmp_path / "late_quote.csv"
    lines = ["date,sku,store,units,note"]
    lines += [f"2024-01-{d:02d},P{i},S,1,{'n' * 120}" for i in range(1200) for d in range(1, 31)]
    lines += [f'2024-01-{d:02d},"Pizza, large",S,2,' for d in range(1, 31)]
    lines += [f'2024-01-{d:02d},"""Big"" TV",S,2,' for d in range(1, 31)]
    path.write_text("\n".join(lines) + "\n")
    assert lines[-1].encode() not in path.read_bytes()[: ingest_mod.SNIFF_BYTES]
    r = ingest(path, scientist)
    assert (r.rows_added, r.series) == (36_060, 1202)
    assert {"Pizza, large", '"Big" TV'} <= set(_names(db))


@pytest.mark.parametrize("cell,name", [
    # a cell opening with a quote it does not close as RFC 4180 would: the start holds a quote,
    # so the sniffer looks at every quoting, as it always did, and reads the cell as written
    ('"Big" TV', '"Big" TV'),
    ("'a, b'", "a, b"),  # single-quoted cells
    ('"a \\"x\\" b"', 'a "x" b'),  # backslash-escaped quotes
], ids=["lone-quote", "single-quotes", "backslash-escapes"])
def test_a_start_with_other_quoting_is_sniffed_in_full(db, tmp_path, scientist, cell, name):
    path = tmp_path / "quoted.csv"
    path.write_text("date,sku,units\n" + "".join(f"2024-01-{d:02d},{cell},3\n" for d in range(1, 11)))
    r = ingest(path, scientist)
    assert (r.rows_added, r.series) == (10, 1)
    assert _names(db) == [name]


def test_a_file_wider_than_the_sniffers_buffer(db, tmp_path, scientist):
    """The sniff and the first rows read through a 4 MB buffer (core.ingest.SNIFF_BYTES): a file
    of long rows past it (~6 MB) still reads whole, its last quoted cell included."""
    from core import ingest as ingest_mod

    path = tmp_path / "wide.csv"
    pad = "x" * 300
    lines = ["date,sku,store,units,note"]
    lines += [f"2024-01-{d:02d},P{i},S,1,{pad}" for i in range(650) for d in range(1, 31)]
    lines += [f'2024-01-{d:02d},"Late, SKU",S,2,{pad}' for d in range(1, 31)]
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size > ingest_mod.SNIFF_BYTES
    r = ingest(path, scientist)
    assert (r.rows_added, r.series) == (19_530, 651)
    assert "Late, SKU" in _names(db)
