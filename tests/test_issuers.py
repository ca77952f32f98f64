"""Whose document, and whose plans a question asks about (assistant/text/issuers.py), with SudachiPy."""

from __future__ import annotations

import pytest

from assistant.text.issuers import AskedIssuer, asked_issuer, infer_issuer, kind_of
from assistant.text.tokens import Tokenizer
from assistant.types import DocumentMeta
from ingest.registry import Registry


@pytest.fixture(scope="module")
def tok():
    return Tokenizer()


def test_a_document_belongs_to_the_municipality_it_names_most(tok):
    text = "長野県佐久市は、市民とともに計画を進めます。佐久市の人口は減少しています。国や県と連携します。"
    assert infer_issuer(tok, "総合計画", text) == "佐久市"
    # the title weighs more than one mention of a neighbour in the text
    assert infer_issuer(tok, "音威子府村人口ビジョン", "隣の名寄市と連携し、村民の暮らしを守る。") == "音威子府村"


def test_a_municipality_that_never_names_itself_is_known_by_its_kind(tok):
    assert infer_issuer(tok, "総合戦略", "本村では、村民の皆さまとともに村長が先頭に立ち、村内の産業を育てます。") == "村"


def test_the_state_is_known_by_its_ministries_and_government(tok):
    text = "政府は、環境省を中心に関係府省が連携し、国として取り組む。環境省は地方公共団体を支援する。"
    assert infer_issuer(tok, "環境基本計画", text) == "国"


def test_a_text_that_speaks_for_nobody_has_no_issuer(tok):
    assert infer_issuer(tok, "お知らせ", "屋根からの落雪に注意してください。") == ""


@pytest.mark.parametrize("question, names, kinds", [
    ("佐久市の面積は何平方キロメートルですか", ["佐久市"], {"市"}),
    ("長野県佐久市の人口は", ["佐久市"], {"市"}),
    ("村の人口は何人ですか", [], {"村"}),
    ("村長と副村長の給料月額の差は", [], {"村"}),
    ("本町の方針は", [], {"町"}),
    ("国はどう回答しましたか", [], {"国"}),
    ("環境省の見解は", [], {"国"}),
    ("市場の動向は", [], set()),  # 市場 is a market, not the city
    ("ごみの出し方を教えてください", [], set()),
])
def test_what_a_question_names_or_implies(tok, question, names, kinds):
    asked = asked_issuer(tok, question)
    assert (asked.names, asked.kinds) == (names, kinds)


def test_matching_a_documents_issuer():
    named = AskedIssuer(["佐久市"], {"市"})
    assert named.matches("佐久市") is True and named.matches("南国市") is False
    assert named.matches("市") is True and named.matches("村") is False  # known only by its kind
    assert named.matches("") is None
    village = AskedIssuer([], {"村"})
    assert village.matches("音威子府村") is True and village.matches("佐久市") is False
    assert village.matches("国") is False
    assert AskedIssuer().matches("佐久市") is None  # the question says nothing of an issuer
    assert (kind_of("佐久市"), kind_of("村"), kind_of("国"), kind_of("環境省"), kind_of("")) == ("市", "村", "国", "国", "")


def test_the_registry_serves_issuers_and_refreshes_them_on_change(tmp_path):
    reg = Registry(tmp_path / "registry.sqlite")
    reg.open()
    try:
        reg.set_live(DocumentMeta(doc_id="a", title="A", doc_type="other", issuer="佐久市"), "v1")
        assert reg.issuers() == {"a": "佐久市"}
        reg.set_live(DocumentMeta(doc_id="a", title="A", doc_type="other", issuer="国"), "v2")
        reg.set_live(DocumentMeta(doc_id="b", title="B", doc_type="other"), "v1")
        assert reg.issuers() == {"a": "国", "b": ""}
    finally:
        reg.close()
