"""The fitted reranker (assistant/rerank.py) and its fit (eval/fit_rerank.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.config import RERANK_MODEL
from assistant.rerank import FEATURES, Candidate, Reranker, RerankModel
from assistant.retrieve import candidates, fuse
from assistant.store import Hit
from eval import fit_rerank
from tests.helpers import sample_service


def cand(text: str, chunk_no: int, fused: float, *, doc: str = "plan", section: str = "",
         record: bool = False) -> Candidate:
    payload = {"doc_id": doc, "chunk_no": chunk_no, "title": "総合計画", "section": section, "text": text,
               "is_record": record}
    return Candidate(Hit(payload, fused), fused, fused, fused, fused)


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    s = sample_service(tmp_path_factory.mktemp("rerank"))
    yield s
    s.close()


@pytest.fixture()
def reranker(svc):
    return Reranker(svc.tokenizer, svc.term_stats, RerankModel.load())


def test_candidates_keep_the_fused_order_and_each_lists_scores():
    dense = [Hit({"doc_id": "a", "chunk_no": 0}, 0.9), Hit({"doc_id": "b", "chunk_no": 0}, 0.5)]
    sparse = [Hit({"doc_id": "b", "chunk_no": 0}, 12.0), Hit({"doc_id": "c", "chunk_no": 0}, 3.0)]
    got = candidates(dense, sparse, 0.25)
    assert [c.hit.payload["doc_id"] for c in got] == [h.payload["doc_id"] for h in fuse(dense, sparse, 0.25)]
    by = {c.hit.payload["doc_id"]: c for c in got}
    assert (by["b"].sparse, by["b"].dense, by["b"].cosine) == (1.0, 0.0, 0.5)
    assert (by["c"].sparse, by["c"].dense, by["c"].cosine) == (0.0, 0.0, 0.0)  # BM25's last, not in dense
    assert by["a"].fused == pytest.approx(0.25)


def test_features_see_the_asked_unit_and_the_questions_words(reranker):
    question = "地域公共交通の利用者数の目標は何人ですか"
    rows = reranker.features(question, [
        cand("地域公共交通の利用者数を令和12年度に12,000人とすることを目標とします。", 0, 1.0),
        cand("地域公共交通のあり方について検討を進めます。", 1, 0.9),
        cand("ごみの減量に取り組みます。", 2, 0.8),
    ])
    assert rows is not None and all(set(r) == set(FEATURES) for r in rows)
    with_unit, without, other = rows
    assert with_unit["asked_unit"] == 1.0 and without["asked_unit"] == 0.0
    assert with_unit["cover"] > other["cover"] and without["cover"] > other["cover"]
    assert with_unit["neighbour"] == 1.0 and other["neighbour"] == 1.0  # chunk 1 sits next to both
    assert with_unit["fused"] == 1.0 and with_unit["log_rank"] == 0.0


def test_rows_of_one_table_count_the_rows_ranked_above_them(reranker):
    rows = reranker.features("下水道使用料の基本料金", [
        cand("区分: 一般用 | 基本料金: 1,650円", 0, 1.0, section="下水道使用料 > 1行目", record=True),
        cand("区分: 営業用 | 基本料金: 2,300円", 1, 0.9, section="下水道使用料 > 2行目", record=True),
        cand("区分: 一般用 | 基本料金: 1,200円", 5, 0.8, section="水道料金 > 1行目", record=True),
    ])
    assert rows is not None
    assert [r["rows_above"] for r in rows] == pytest.approx([0.0, np.log1p(1), 0.0])


def test_the_model_reorders_only_its_depth_and_keeps_the_rest(reranker):
    model = RerankModel({"asked_unit": 1.0}, {f: 0.0 for f in FEATURES}, {f: 1.0 for f in FEATURES}, depth=2)
    rr = Reranker(reranker.tokenizer, reranker.stats, model)
    cands = [cand("検討を進めます。", 0, 1.0), cand("利用者を12,000人とします。", 3, 0.9),
             cand("利用者は9,000人でした。", 6, 0.8)]
    got = rr.rerank("利用者は何人ですか", cands)
    assert [c.hit.payload["chunk_no"] for c in got] == [3, 0, 6]  # the third is below the depth: stays third


def test_english_without_japanese_terms_and_no_model_keep_the_fused_order(reranker, svc):
    cands = [cand("人口は減少しています。", 0, 1.0), cand("人口ビジョン", 1, 0.5)]
    assert reranker.rerank("What is the population target?", cands) is None
    assert Reranker(svc.tokenizer, svc.term_stats, None).rerank("人口の目標", cands) is None


def test_an_english_question_is_weighed_by_the_japanese_terms_searched_beside_it(reranker):
    cands = [cand("ごみの減量に取り組みます。", 0, 1.0),
             cand("令和12年の人口の目標は8,000人です。", 5, 0.9)]
    english = "人口 目標 2030 What is the population target for 2030?"
    rows = reranker.features(english, cands)
    assert rows is not None and rows[1]["cover"] > rows[0]["cover"]
    assert rows == reranker.features("人口 目標 2030", cands)  # the English words themselves weigh nothing


def test_the_shipped_model_was_fitted_on_tune_and_beats_the_fused_order_there():
    data = json.loads(RERANK_MODEL.read_text(encoding="utf-8"))
    assert list(data["weights"]) == list(FEATURES) and data["depth"] > 0
    fit = data["fit"]
    assert fit["split"] == "tune" and "fit-rerank" in fit["command"]
    assert fit["cross_validated"]["mrr@10"] > fit["fused_order"]["mrr@10"]
    for name, sign in fit["signs"].items():
        assert sign * data["weights"][name] >= 0, name


def test_the_fit_learns_the_feature_that_separates_relevant_passages():
    rng = np.random.default_rng(0)
    questions = []
    for _ in range(40):
        x = rng.normal(size=(12, len(FEATURES)))
        y = np.zeros(12)
        y[rng.integers(12)] = 1
        x[:, FEATURES.index("bigrams")] += 3.0 * y  # the answer shares more of the question's characters
        questions.append((x, y))
    w, _, _ = fit_rerank.fit(questions, l2=0.1)
    assert int(np.argmax(w)) == FEATURES.index("bigrams")
    cv = fit_rerank.cross_validate(questions, depth=12, l2=0.1)
    assert cv["hit@1"] > 0.5  # random order would put the answer first 1 time in 12


def test_search_goes_through_the_reranker_and_keeps_the_same_passages(svc):
    query = "地域福祉計画の計画期間"
    with_model = svc.search(query, k=10)
    fused = [c.hit for c in svc.retriever.candidates(query, k=10)]
    assert {(p.doc_id, p.chunk_no) for p in with_model} <= {(h.payload["doc_id"], h.payload["chunk_no"])
                                                              for h in fused[:max(10, RerankModel.load().depth)]}
    assert svc.retriever.reranker is not None


def test_a_broken_model_file_says_what_to_do_and_an_empty_setting_turns_reranking_off(tmp_path):
    from assistant.errors import PlanAssistantError
    from assistant.service import PlanAssistant
    from tests.helpers import service_settings

    bad = tmp_path / "rerank.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(PlanAssistantError, match="fit-rerank"):
        PlanAssistant(service_settings(tmp_path / "a", rerank_model=bad)).start()
    off = PlanAssistant(service_settings(tmp_path / "b", rerank_model="")).start()
    try:
        assert off.retriever.reranker is None
    finally:
        off.close()
