"""`fuse()`, the default hybrid ranking: a weighted sum of min-max normalised dense and BM25 scores."""

from __future__ import annotations

import pytest

from assistant.retrieve import fuse, spread_rows
from assistant.store import Hit


def hit(name: str, score: float, chunk_no: int = 0) -> Hit:
    return Hit({"doc_id": name, "chunk_no": chunk_no, "text": f"{name}#{chunk_no}"}, score)


def ranked(hits: list[Hit]) -> list[str]:
    return [h.payload["doc_id"] for h in hits]


def scores(hits: list[Hit]) -> dict[str, float]:
    return {h.payload["doc_id"]: h.score for h in hits}


# dense: cosine similarities; sparse: BM25 scores on another scale
DENSE = [hit("a", 0.9), hit("b", 0.5), hit("c", 0.1)]
SPARSE = [hit("b", 12.0), hit("d", 6.0), hit("a", 3.0)]


def test_scores_are_min_max_normalised_then_weighted_and_summed():
    fused = scores(fuse(DENSE, SPARSE, dense_weight=0.25, sparse_weight=1.0))
    # sparse: (s - 3) / 9 → b 1, d 1/3, a 0;  dense: (s - .1) / .8 → a 1, b .5, c 0
    assert fused == pytest.approx({"b": 1.0 + 0.25 * 0.5, "d": 1 / 3, "a": 0.25 * 1.0, "c": 0.0})


def test_the_best_fused_score_comes_first():
    assert ranked(fuse(DENSE, SPARSE, dense_weight=0.25)) == ["b", "d", "a", "c"]


def test_raw_score_scales_do_not_matter():
    """BM25 scores in the hundreds do not drown the dense list: only positions within each list's range count."""
    scaled = [hit(h.payload["doc_id"], h.score * 100 + 40) for h in SPARSE]
    assert scores(fuse(DENSE, scaled, 0.25)) == pytest.approx(scores(fuse(DENSE, SPARSE, 0.25)))


def test_weights_decide_between_the_lists():
    # a is dense's best and sparse's worst; d is sparse's second and absent from dense
    assert ranked(fuse(DENSE, SPARSE, dense_weight=0.25)).index("d") < ranked(fuse(DENSE, SPARSE, 0.25)).index("a")
    assert ranked(fuse(DENSE, SPARSE, dense_weight=1.0)) == ["b", "a", "d", "c"]
    assert ranked(fuse(DENSE, SPARSE, dense_weight=1.0, sparse_weight=0.0)) == ["a", "b", "d", "c"]
    assert scores(fuse(DENSE, SPARSE, dense_weight=0.0))["a"] == 0.0


def test_a_candidate_missing_from_one_list_scores_zero_there():
    fused = scores(fuse(DENSE, SPARSE, dense_weight=0.25))
    assert fused["d"] == pytest.approx(1 / 3)  # sparse only: nothing from dense
    assert fused["c"] == 0.0  # dense's last, absent from sparse
    assert set(fused) == {"a", "b", "c", "d"}  # the union of both lists, each candidate once


def test_chunks_of_one_document_are_separate_candidates_and_keep_their_payload():
    dense = [hit("p", 0.8, chunk_no=1), hit("p", 0.5, chunk_no=2), hit("r", 0.2)]
    sparse = [hit("p", 5.0, chunk_no=2), hit("q", 1.0)]
    fused = fuse(dense, sparse, dense_weight=1.0)
    assert [(h.payload["doc_id"], h.payload["chunk_no"]) for h in fused] == [("p", 2), ("p", 1), ("q", 0), ("r", 0)]
    assert [h.payload["text"] for h in fused] == ["p#2", "p#1", "q#0", "r#0"]
    assert [h.score for h in fused] == pytest.approx([1.5, 1.0, 0.0, 0.0])


def test_empty_lists():
    assert fuse([], [], 0.25) == []
    assert ranked(fuse(DENSE, [], 0.25)) == ["a", "b", "c"]
    assert scores(fuse(DENSE, [], 0.25)) == pytest.approx({"a": 0.25, "b": 0.125, "c": 0.0})
    assert ranked(fuse([], SPARSE, 0.25)) == ["b", "d", "a"]


def test_equal_fused_scores_keep_the_sparse_order_first():
    """No random tie-break: a tie goes to the candidate the BM25 list (best first) names first."""
    sparse = [hit("x", 2.0), hit("y", 1.0)]
    dense = [hit("y", 0.9), hit("x", 0.1)]  # x: 1 + 0, y: 0 + 1
    assert ranked(fuse(dense, sparse, dense_weight=1.0)) == ["x", "y"]
    assert ranked(fuse(dense, sparse, dense_weight=1.0)) == ranked(fuse(dense, sparse, dense_weight=1.0))
    # a dense-only candidate tied with a sparse one comes after it
    assert ranked(fuse([hit("z", 0.9), hit("w", 0.1)], [hit("v", 3.0), hit("u", 1.0)], 1.0)) == ["v", "z", "u", "w"]


def test_a_list_of_equal_scores_does_not_divide_by_zero():
    tied = [hit("a", 4.0), hit("b", 4.0)]
    fused = fuse([hit("b", 0.7), hit("a", 0.3)], tied, dense_weight=0.25)
    assert ranked(fused) == ["b", "a"]  # the tie is broken by the dense list


def test_the_only_keyword_match_counts_as_the_top_of_its_list():
    # a proper noun found in one chunk only: BM25 returns that chunk alone
    sparse = [hit("only_match", 8.5)]
    dense = [hit("similar", 0.82), hit("only_match", 0.80), hit("other", 0.40)]
    fused = fuse(dense, sparse, dense_weight=0.25)
    assert ranked(fused)[0] == "only_match"


def row(doc: str, chunk_no: int, section: str, score: float) -> Hit:
    return Hit({"doc_id": doc, "chunk_no": chunk_no, "is_record": True, "section": section}, score)


def test_rows_of_one_table_beyond_the_cap_go_below_every_other_hit():
    fee = [row("fees", n, f"使用料 > {n}行目", 1.0 - n / 100) for n in range(1, 5)]
    text = hit("fees", 0.5, chunk_no=90)
    other_table = row("fees", 50, "職員数 > 1行目", 0.4)
    hits = [*fee, text, other_table]
    spread = spread_rows(hits, per_table=2)
    assert [h.payload["chunk_no"] for h in spread] == [1, 2, 90, 50, 3, 4]
    assert spread_rows(hits, per_table=0) == hits  # off
    # CSV rows ("N行目", no caption) of one file are one table; another document's rows are another
    csv = [row("comments", n, f"{n}行目", 0.9) for n in range(1, 4)] + [row("other", 1, "1行目", 0.1)]
    assert [(h.payload["doc_id"], h.payload["chunk_no"]) for h in spread_rows(csv, 1)] == [
        ("comments", 1), ("other", 1), ("comments", 2), ("comments", 3)]
