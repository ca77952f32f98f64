"""Heading styles of Japanese plans and their ranking into section paths (assistant.text.layout),
on lines taken from the corpus documents (the file each one comes from is named)."""

from __future__ import annotations

import pytest

from assistant.text.layout import SectionStack, heading_style
from assistant.types import LoadedDocument, Page
from ingest.chunk import chunk_document
from ingest.normalize import normalize_text

# (line as it stands in the corpus, its style)
CORPUS_HEADINGS = [
    ("第4部 計画の効果的実施", "part"),  # env6/env6_plan_an.html
    ("第１章 総 論", "chapter"),  # otoineppu/koudoukeikaku.pdf
    ("第２節 地震情報の伝達計画", "section"),  # otoineppu/jishin202003.pdf
    ("資料編", "appendix"),  # otoineppu/siryou202003.pdf
    ("資料４ 気象庁震度階級関連解説表", "appendix_no"),  # otoineppu/siryou202003.pdf
    ("【注意事項】", "bracket"),  # otoineppu/siryou202003.pdf
    ("【重点プロジェクト】", "bracket"),  # otoineppu/otoineppu_sogosenryaku.pdf
    ("（１）基本構想", "paren_num"),  # saku/saku_kouki_kihonkeikaku_sakutei_houshin.txt
    ("ア 人口減少、少子・超高齢社会への対応", "kata"),  # saku/saku_kouki_kihonkeikaku_sakutei_houshin.txt
    ("１ 平常時の心得", "num"),  # otoineppu/jishin202003.pdf
]
# styles the corpus lines above do not show, in the wording plans use
PLAN_HEADINGS = [
    ("第２編 基本計画", "hen"),
    ("第１款 総則", "item"),
    ("基本目標１ 安心して子育てできるまち", "goal"),
    ("施策３ 子育て支援の充実", "measure"),
    ("重点プロジェクト", "project"),
    ("重点プロジェクト２ 移住定住の促進", "project"),
    ("① 相談体制の充実", "circled"),
]


@pytest.mark.parametrize(("line", "style"), CORPUS_HEADINGS + PLAN_HEADINGS)
def test_heading_styles(line: str, style: str) -> None:
    found = heading_style(normalize_text(line))
    assert found is not None and found[0] == style, (line, found)


@pytest.mark.parametrize("line", [
    "【担当課】企画課",  # a label with its value, not a heading
    "第１部第２章、第３章で記載された基本的な考え方",  # env6: a sentence that cites parts
    "資料の作成に当たっては、関係課と協議した。",
    "基本目標を示すものです。",
    "48.6歳",  # a table's cells on their own lines: decimal figures, not numbered headings
    "3.5%",
    "４．６０",
])
def test_not_headings(line: str) -> None:
    assert heading_style(normalize_text(line)) is None


def _path(lines: list[str]) -> str:
    stack = SectionStack()
    for line in lines:
        style = heading_style(normalize_text(line))
        assert style is not None, line
        stack.push(*style)
    return stack.path()


def test_ranks_nest_and_close() -> None:
    assert _path(["第2部 環境政策の具体的な展開", "第１章 総 論", "第２節 計画の構成", "１ 平常時の心得"]) == \
        "第2部 環境政策の具体的な展開 > 第1章 総論 > 第2節 計画の構成 > 1 平常時の心得"
    # a new 部 closes the chapter and section of the previous one
    assert _path(["第2部 環境政策", "第１章 総 論", "第２節 計画の構成", "第3部 環境保全施策の体系"]) == \
        "第3部 環境保全施策の体系"
    # 資料編 closes the body; its 資料N sit under it and close each other
    assert _path(["第２章 具体的な内容", "第１節 応急活動体制", "資料編", "資料１ 用語", "資料４ 気象庁震度階級関連解説表"]) \
        == "資料編 > 資料4 気象庁震度階級関連解説表"
    # 基本目標 > 施策: the next 基本目標 closes the 施策 of the previous one
    assert _path(["基本目標１ 安心して子育てできるまち", "施策３ 子育て支援の充実", "基本目標２ 活力あるまち"]) == \
        "基本目標2 活力あるまち"
    assert _path(["基本目標１ 安心して子育てできるまち", "施策３ 子育て支援の充実", "① 相談体制の充実"]) == \
        "基本目標1 安心して子育てできるまち > 施策3 子育て支援の充実 > ① 相談体制の充実"


def test_fake_bold_bracket_heading_is_read_once() -> None:
    # otoineppu/otoineppu_sogosenryaku.pdf prints its bracket headings four times over (fake bold)
    assert normalize_text("【基本目標】【基本目標】【基本目標】【基本目標】") == "【基本目標】"


def test_every_chunk_after_a_heading_carries_its_path() -> None:
    text = "\n".join(["資料編", "資料４ 気象庁震度階級関連解説表", "震度階級は計測震度から決まる。" * 20,
                      "【注意事項】", "この表は目安である。" * 10])
    doc = LoadedDocument("x.pdf", "pdf", pages=[Page(1, normalize_text(text))])
    chunks = chunk_document(doc, "x", target=60, maximum=120)
    assert len(chunks) > 3
    assert all(c.section.startswith("資料編 > 資料4 気象庁") for c in chunks)
    assert chunks[-1].section.endswith("【注意事項】")
