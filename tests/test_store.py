"""One suite, run against both store implementations (embedded engine and qdrant-client)."""

import pytest

from assistant.errors import StoreUnavailable
from assistant.store import ClientStore, EdgeStore, IndexPoint, point_id
from assistant.types import SearchFilters

DIM = 4


@pytest.fixture(params=["edge", "client"])
def store(request, tmp_path):
    s = EdgeStore(tmp_path / "edge", DIM) if request.param == "edge" else ClientStore(DIM, path=":memory:")
    s.open()
    yield s
    s.close()


def _pt(doc, version, n, dense, sparse, **payload):
    return IndexPoint(point_id(doc, version, n), dense, sparse,
                      {"doc_id": doc, "version": version, "chunk_no": n, "text": f"{doc}-{n}",
                       "doc_type": payload.get("doc_type", "plan"), "audience": payload.get("audience", "public"),
                       "period_start": payload.get("start"), "period_end": payload.get("end")})


@pytest.fixture
def filled(store):
    store.upsert([
        _pt("a", "v1", 0, [1, 0, 0, 0], ([1, 2], [1.0, 1.0]), start=2022, end=2026),
        _pt("a", "v1", 1, [0, 1, 0, 0], ([3], [1.0]), start=2022, end=2026),
        _pt("b", "v1", 0, [0.9, 0.1, 0, 0], ([2, 5], [2.0, 1.0]), doc_type="sector_plan", audience="staff",
            start=2024, end=2028),
        _pt("c", "v9", 0, [0, 0, 1, 0], ([7], [1.0]), doc_type="consultation"),
    ])
    return store


LIVE = {"a": "v1", "b": "v1", "c": "v9"}


def _texts(hits):
    return [h.payload["text"] for h in hits]


def test_dense_sparse_and_hybrid_rank(filled):
    assert _texts(filled.query([1, 0, 0, 0], None, 2, SearchFilters(), LIVE)) == ["a-0", "b-0"]
    assert _texts(filled.query(None, ([3], [1.0]), 5, SearchFilters(), LIVE)) == ["a-1"]
    hybrid = _texts(filled.query([0, 1, 0, 0], ([3], [1.0]), 3, SearchFilters(), LIVE))
    assert hybrid[0] == "a-1"


def test_filters(filled):
    f = SearchFilters(doc_types=["sector_plan"])
    assert _texts(filled.query([1, 0, 0, 0], None, 5, f, LIVE)) == ["b-0"]
    f = SearchFilters(audiences=["public"])
    assert "b-0" not in _texts(filled.query([1, 0, 0, 0], ([2], [1.0]), 5, f, LIVE))
    f = SearchFilters(fiscal_year=2027)
    assert _texts(filled.query([1, 0, 0, 0], None, 5, f, LIVE)) == ["b-0"]
    f = SearchFilters(doc_ids=["c"])
    assert _texts(filled.query([1, 0, 0, 0], None, 5, f, LIVE)) == ["c-0"]


def test_only_live_versions_are_seen_and_replacement_is_clean(filled):
    filled.upsert([_pt("a", "v2", 0, [1, 0, 0, 0], ([1], [1.0]))])
    # before the switch: old version only
    assert sorted(_texts(filled.query([1, 0, 0, 0], None, 10, SearchFilters(), LIVE))).count("a-0") == 1
    live = {**LIVE, "a": "v2"}
    filled.delete_doc("a", keep_version="v2")
    texts = _texts(filled.query([1, 0, 0, 0], None, 10, SearchFilters(), live))
    assert texts.count("a-0") == 1 and "a-1" not in texts
    assert filled.count() == 3


def test_orphans_of_dead_versions_are_removed(filled):
    filled.upsert([_pt("a", "crashed", 5, [1, 0, 0, 0], ([1], [1.0]))])
    assert filled.count() == 5
    filled.delete_versions_not_in(LIVE)
    assert filled.count() == 4


def test_second_process_cannot_open_the_embedded_store(tmp_path):
    import subprocess
    import sys

    s = EdgeStore(tmp_path / "edge", DIM)
    s.open()
    code = ("import sys; from assistant.store import EdgeStore; from assistant.errors import StoreUnavailable\n"
            f"s = EdgeStore({str(tmp_path / 'edge')!r}, {DIM})\n"
            "try:\n    s.open()\nexcept StoreUnavailable as e:\n    print('REFUSED', e); sys.exit(3)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    s.close()
    assert out.returncode == 3, out.stdout + out.stderr
    assert "another plan-assistant process" in out.stdout
    with pytest.raises(StoreUnavailable):
        _ = EdgeStore(tmp_path / "x", DIM).shard
