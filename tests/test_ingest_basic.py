from core.ingest import ingest
from core.store import sales, session
from tests.helpers import demo_csv


def test_ingest_then_reupload_upserts(db, tmp_path, scientist):
    f = demo_csv(tmp_path / "d.csv", n_skus=3, n_stores=2, days=60)
    r1 = ingest(f, scientist)
    assert (r1.rows_added, r1.rows_updated, r1.series, r1.freq) == (360, 0, 6, "D")
    r2 = ingest(f, scientist)
    assert (r2.rows_added, r2.rows_updated) == (0, 360)
    with session(db) as s:
        assert sales.counts(s)["rows"] == 360
