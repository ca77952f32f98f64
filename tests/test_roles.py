"""Roles and departments in other municipalities' wording: 係 and 室 as departments, 「…をもって充てる」,
本町 / 本村 as self-references."""

from __future__ import annotations

import pytest

from assistant.check.compare import compare_values
from assistant.check.values import values_of
from assistant.text.numerals import normalize
from assistant.text.roles import departments, extract_roles, heads, holders_equal


@pytest.mark.parametrize("text, role, holder", [
    ("委員長は、副市長をもって充てる。", "委員長", "副市長"),
    ("委員長は副村長をもつて充てる。", "委員長", "副村長"),
    ("会長には、町長をもってあてる。", "会長", "町長"),
    ("事務局は、住民課福祉係に置く。", "事務局", "住民課福祉係"),
    ("2 運航指揮者は、隊長をもって充てる。", "運航指揮者", "隊長"),  # any office, by the construction
    ("2 会長は、音威子府村長をもつて充てる。", "会長", "音威子府村長"),
])
def test_roles_stated_the_way_councils_write_them(text, role, holder):
    assert [(r.role, r.holder) for r in extract_roles(text)] == [(role, holder)]


@pytest.mark.parametrize("text, expected", [
    ("本事業は産業振興室が担当する。", ["産業振興室"]),
    ("この計画の推進は企画財政係が所管する。", ["企画財政係"]),
    ("保健福祉課が中心となって進めます。", ["保健福祉課"]),
    ("会議室は2階です。", []),  # a room, not a department
    ("料理教室は毎月開きます。", []),
    ("各係と連携して進めます。", []),
])
def test_departments_in_charge(text, expected):
    assert departments(normalize(text), responsible_only=True) == expected


def test_a_different_unit_in_charge_is_a_conflict():
    draft = values_of("地域防災計画の見直しは総務係が担当する。")
    evidence = values_of("地域防災計画の見直しは住民係が担当する。", responsible_only=False)
    c = compare_values(draft, evidence)
    assert c.outcome == "conflict" and c.differ[0][0] == "担当部署"


@pytest.mark.parametrize("text, acting, named", [
    ("進捗状況は、副村長が年1回とりまとめる。", ["副村長"], ["副村長"]),
    ("総務課長は計画の進捗状況を年1回まとめ、村長に報告する。", ["総務課長"], ["総務課長", "村長"]),
    ("各職場の所属長が中心となって実施する。", ["所属長"], ["所属長"]),
    ("部会長は、会長の指名する委員がこれに当たる。", [], ["部会長", "会長"]),  # a role as the topic
    ("経済の成長が続き、計画期間を延長する。", [], []),  # words that end in 長 and name no one
    ("音威子府村長が任命する。", ["音威子府村長"], ["音威子府村長"]),
])
def test_office_holders_who_act(text, acting, named):
    assert heads(normalize(text), acting_only=True) == acting
    assert heads(normalize(text), acting_only=False) == named


def test_another_office_holder_doing_the_same_is_a_conflict():
    draft = values_of("行動計画の進捗状況は、副村長が年1回とりまとめる。")
    evidence = values_of("総務課長は計画の進捗状況を年1回まとめ、委員会に報告する。", responsible_only=False)
    c = compare_values(draft, evidence)
    assert c.outcome == "conflict" and ("担当・役割", "副村長", "総務課長") in c.differ
    # the holder the sentence names anywhere is not in question: 「会長は村長をもって充てる」
    same = values_of("防災会議の会長は、村長をもって充てる。", responsible_only=False)
    assert not [d for d in compare_values(values_of("村長が防災会議を招集する。"), same).differ if d[0] == "担当・役割"]


class _FlatIdf:
    def idf(self, tokens: list[int]) -> dict[int, float]:
        return {t: 1.0 for t in tokens}


def test_a_village_calling_itself_honson_is_not_part_of_the_subject():
    from assistant.check.values import subject_tokens
    from assistant.evidence import WordWeights
    from assistant.text.tokens import Tokenizer

    words = WordWeights(Tokenizer(), _FlatIdf())
    text = "本村の移住者数は令和7年度に30人を目指す。"
    subject = subject_tokens(words, text, values_of(text))
    assert "移住者" in "".join(subject) and not any("本村" in t for t in subject), subject


@pytest.mark.parametrize("a, b, same", [
    ("村長", "音威子府村長", True),  # the head of the municipality, named with its place
    ("市長", "佐久市長", True),
    ("村長", "副村長", False),  # a title prefix is another office
    ("町長", "副町長", False),
    ("企画課", "企画部企画課", True),
    ("企画課", "総務課", False),
])
def test_holders_named_longer_are_the_same_holder(a, b, same):
    assert holders_equal(a, b) is same and holders_equal(b, a) is same
