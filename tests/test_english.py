"""English questions without a model: Japanese search terms from the JMdict dictionary (real lookups)."""

from __future__ import annotations

import builtins
import math

import pytest

from assistant.sparse import token_id
from assistant.text import english
from assistant.text.english import Translator, english_keys, japanese_terms
from assistant.text.tokens import Tokenizer


def _require_dictionary() -> english.Dictionary:
    words = english.dictionary()
    if words is None:
        pytest.skip("jamdict-data is not installed (pip install jamdict-data): dictionary translation tests skipped")
    return words


class IndexedWords:
    """Term statistics of an index holding exactly `words` (BM25 IDF over `chunks` chunks)."""

    def __init__(self, tokenizer: Tokenizer, words: dict[str, int], chunks: int = 100) -> None:
        self.df = {token_id(t): n for w, n in words.items() for t in tokenizer.tokens(w)}
        self.chunks = chunks

    def idf(self, tokens: list[int]) -> dict[int, float]:
        n = self.chunks
        return {t: math.log(1 + (n - self.df.get(t, 0) + 0.5) / (self.df.get(t, 0) + 0.5)) for t in tokens}


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


def test_population_gives_the_word_the_index_uses(tokenizer):
    _require_dictionary()
    stats = IndexedWords(tokenizer, {"人口": 40, "推計": 10})
    terms = japanese_terms("What is the projected population in 2040?", tokenizer, stats).split()
    assert "人口" in terms and "2040" in terms
    assert "母集団" not in terms and "個体群" not in terms  # dictionary senses the documents do not use


def test_the_index_decides_between_senses(tokenizer):
    words = _require_dictionary()
    # "population" is 人口 and 住民 (common) and 母集団 (rare) in JMdict: an index without 人口 or 住民 gets 母集団
    assert {"人口", "住民", "母集団"} <= {c.form for c in words.lookup("population")}
    only_rare = IndexedWords(tokenizer, {"母集団": 3})
    assert japanese_terms("population", tokenizer, only_rare) == "母集団"
    both = IndexedWords(tokenizer, {"母集団": 3, "人口": 3})
    assert japanese_terms("population", tokenizer, both).split()[0] == "人口"  # the common entry first


def test_two_word_phrases_before_single_words(tokenizer):
    _require_dictionary()
    stats = IndexedWords(tokenizer, {"最低賃金": 5, "最低": 20, "賃金": 20, "里親": 2, "親": 30})
    assert japanese_terms("the minimum wage", tokenizer, stats) == "最低賃金"
    assert "里親" in japanese_terms("Who can become foster parents?", tokenizer, stats).split()


def test_names_and_japanese_in_the_question(tokenizer):
    _require_dictionary()
    stats = IndexedWords(tokenizer, {"札幌": 5, "下水道": 5})
    terms = japanese_terms("How many people move from Sapporo? (下水道)", tokenizer, stats).split()
    assert "札幌" in terms and "下水道" in terms


def test_unknown_or_function_words_give_nothing(tokenizer):
    _require_dictionary()
    stats = IndexedWords(tokenizer, {"人口": 40})
    assert japanese_terms("xyzzy qwertyuiop", tokenizer, stats) == ""
    assert japanese_terms("What is it and where was it?", tokenizer, stats) == ""
    # a word the dictionary knows but no document uses: nothing to search for
    assert japanese_terms("giraffe", tokenizer, stats) == ""


def test_keys_are_lower_case_and_singular():
    keys = english_keys("What are the Students' dry-cell batteries?")
    assert [k[0] for k in keys] == ["Students", "dry", "cell", "batteries"]  # no stop words, hyphen splits
    flat = [k for ks in keys for k in ks]
    assert "student" in flat and "battery" in flat


def test_without_jamdict_the_terms_are_empty_and_logged_once(tokenizer, monkeypatch, caplog):
    from assistant.answer import AnswerEngine

    real_import = builtins.__import__

    def no_jamdict(name, *args, **kwargs):
        if name.startswith("jamdict"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_jamdict)
    monkeypatch.setattr(english, "_dictionary", None)
    monkeypatch.setattr(english, "_dictionary_missing", False)
    stats = IndexedWords(tokenizer, {"人口": 40})
    engine = AnswerEngine(lambda *a, **k: [], tokenizer, stats, covered=None)
    with caplog.at_level("WARNING", logger="assistant.text.english"):
        assert japanese_terms("What is the population?", tokenizer, stats) == ""
        assert engine.translate("What is the population?") == ""  # the old behaviour: no translation
    assert len([r for r in caplog.records if "jamdict-data is not installed" in r.message]) == 1
    monkeypatch.setattr(builtins, "__import__", real_import)
    monkeypatch.setattr(english, "_dictionary_missing", False)
    if english.dictionary() is not None:  # the same engine translates once the dictionary is there
        assert engine.translate("What is the population?") == "人口"


def test_translator_is_safe_across_threads(tokenizer):
    from concurrent.futures import ThreadPoolExecutor

    words = _require_dictionary()
    stats = IndexedWords(tokenizer, {"人口": 40, "森林": 5})
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda q: Translator(tokenizer, stats, words).terms(q),
                            ["population forest"] * 8))
    assert set(got) == {"人口 森林"}


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    from tests.helpers import sample_service

    s = sample_service(tmp_path_factory.mktemp("english"))
    yield s
    s.close()


@pytest.mark.slow
def test_english_question_end_to_end_over_a_real_index(svc):
    _require_dictionary()
    question = "What is the FY2028 target for annual ridership of route buses in the public transport plan?"
    terms = svc.engine.translate(question).split()
    assert "バス" in terms and ("公共交通" in terms or "交通" in terms), terms
    ev = svc.engine.gather(question, None, None)
    assert ev.translated_by == "dictionary"
    assert "midorino_chiiki_koukyou_koutsuu_keikaku" in [p.doc_id for p in ev.passages[:3]]
    a = svc.ask(question)
    assert not a.abstained and a.citations and "1,200" in a.text  # the target the transport plan states
    lead, *rest = a.text.splitlines()
    assert "Japanese" in lead and "quoted" in lead  # says in English that it quotes the Japanese source
    quotes = [q for q in rest if q.startswith("- ")]  # one bullet a quote; a note on issuers may follow
    assert quotes and all("「" in q for q in quotes)
    assert all(q.startswith(("- ", "Note:")) for q in rest if q.strip()), rest


def test_the_passages_all_the_senses_find_choose_a_words_sense(tokenizer):
    words = _require_dictionary()
    # "salary" is 手当 and 給料 among others in JMdict; an index using 手当 more often ranks it first, but the
    # passages that the question's other words find with it speak of 給料
    stats = IndexedWords(tokenizer, {"手当": 40, "給料": 10, "市長": 5, "毎月": 5})
    translator = Translator(tokenizer, stats, words)
    question = "What is the monthly salary of the mayor?"
    assert [f for _, f in translator.options(question)[1]][:2] == ["手当", "給料"]
    passages = ["市長の給料は毎月830,000円です。", "副市長の給料は毎月650,000円です。",
                "職員の通勤手当は距離に応じて支給します。", "扶養手当は子1人につき10,000円です。"]
    searched: list[str] = []

    def search(query: str) -> list[str]:  # the passages holding at least two of the query's words
        searched.append(query)
        return [p for p in passages if sum(w in p for w in query.split()) >= 2]

    assert "手当" in translator.terms(question).split()
    chosen = translator.terms(question, search).split()
    assert "給料" in chosen and "手当" not in chosen and "市長" in chosen
    assert {"手当", "給料", "市長"} <= set(searched[0].split())  # all the senses searched at once
    # no passage found: the dictionary's and the index's order stands
    assert "手当" in translator.terms(question, lambda q: []).split()
