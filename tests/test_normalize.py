"""Japanese text clean-up: what a chunker and a reader see after normalisation."""

from __future__ import annotations

import pytest

from ingest.normalize import (
    is_heading_line,
    japanese_ratio,
    normalize_text,
    overprint_ratio,
    page_quality,
    strip_running_lines,
    undouble_spacing,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("平成 17 年４月１日", "平成17年4月1日"),
        ("令和２年 10 月", "令和2年10月"),
        ("前回比 3.1 ポイント増", "前回比3.1ポイント増"),
        ("11 月", "11月"),
        ("佐 久 市", "佐久市"),
        ("後 期 基 本 計 画", "後期基本計画"),
        ("人口は 99,368 人", "人口は99,368人"),
        ("2023 年のCOP28 において", "2023年のCOP28において"),
        ("Hello  World 2019 2020", "Hello World 2019 2020"),
    ],
)
def test_spaces_inside_numbers_and_japanese_go_latin_spaces_stay(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_nfkc_folds_full_width_and_kangxi_radicals() -> None:
    assert normalize_text("⽬的と⼊札と⼯事") == "目的と入札と工事"
    assert normalize_text("ＡＢＣ１２３ｱｲｳ") == "ABC123アイウ"
    every_kangxi = "".join(chr(c) for c in range(0x2F00, 0x2FD6))
    assert not any(0x2E80 <= ord(c) <= 0x2FDF for c in normalize_text(every_kangxi))


def test_radicals_supplement_table_covers_what_nfkc_leaves() -> None:
    assert normalize_text("⻑野県⻄部の⻘年") == "長野県西部の青年"


def test_circled_numbers_survive_as_item_markers() -> None:
    assert normalize_text("①計画の目的\n②計画の期間") == "①計画の目的\n②計画の期間"


def test_control_characters_removed() -> None:
    assert normalize_text("計画\x00の\x07目的\u200b") == "計画の目的"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("森森森森の音威子府", "森の音威子府"),
        ("おおおお知らせ", "お知らせ"),
        (
            "織りなすりなすりなすりなす匠の里・おといねっぷ・おといねっぷ・おといねっぷ",
            "織りなす匠の里・おといねっぷ",
        ),
        ("いろいろな計画計画", "いろいろな計画計画"),
        ("人々の暮らし", "人々の暮らし"),
        ("ーーー区切り", "ーーー区切り"),
        ("電話 1111 番", "電話1111番"),
        ("木木", "木木"),
    ],
)
def test_fake_bold_repeats_collapse_legit_repeats_stay(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_dot_leaders_removed() -> None:
    assert normalize_text("第1章 総論・・・・・・・・3") == "第1章 総論3"
    assert normalize_text("目次……12") == "目次12"
    assert normalize_text("Contents ..... 4") == "Contents 4"
    assert normalize_text("など...") == "など..."


@pytest.mark.parametrize("footer", ["- 3 -", "－３－", "3/12", "— 12 —"])
def test_page_number_lines_removed(footer: str) -> None:
    assert normalize_text(f"本文です。\n{footer}\n続きです。") == "本文です。\n続きです。"


def test_lone_number_removed_only_at_page_edges() -> None:
    assert normalize_text("3\n本文です。\n4") == "本文です。"
    assert normalize_text("本文です。\n12\n続きです。") == "本文です。\n12\n続きです。"


def test_paren_number_heading_is_not_a_page_number() -> None:
    assert normalize_text("（３）実施計画\n本文です。") == "(3)実施計画\n本文です。"


def test_pdf_line_breaks_inside_sentences_are_joined() -> None:
    raw = "本市では、人口減少と少子・超高齢化といった全国共通の課題に加え、令和元年東日\n本台風による被害など、大きな転換期を迎えています。\n次の段落です。"
    assert normalize_text(raw) == (
        "本市では、人口減少と少子・超高齢化といった全国共通の課題に加え、令和元年東日"
        "本台風による被害など、大きな転換期を迎えています。\n次の段落です。"
    )


@pytest.mark.parametrize(
    "heading",
    [
        "第１章 総論",
        "第２節 計画の概要",
        "１ 計画策定の趣旨",
        "（１）基本構想",
        "(1) 人口",
        "ア 人口減少への対応",
        "①目標",
        "◇健康長寿",
        "■概要",
        "●委員長",
        "○委員",
        "・市民の実感",
        "# 見出し",
        "- 項目",
        "| 項目 | 値 |",
    ],
)
def test_headings_and_items_keep_their_own_line(heading: str) -> None:
    body = "これは段落の途中で改行された長い文章の一行目で、まだ文は終わっていませんが"
    out = normalize_text(f"{body}\n{heading}\n続きの本文です。")
    lines = out.split("\n")
    assert lines[0] == body
    assert is_heading_line(lines[1])
    assert lines[1] == normalize_text(heading)


def test_heading_line_does_not_swallow_following_body() -> None:
    out = normalize_text(
        "（１）佐久市総合計画審議会\n学識経験者や各種団体の代表、公募委員からなる総合計画審議会を設置し、市長\nからの諮問に応じます。"
    )
    assert out.split("\n") == [
        "(1)佐久市総合計画審議会",
        "学識経験者や各種団体の代表、公募委員からなる総合計画審議会を設置し、市長からの諮問に応じます。",
    ]


def test_heading_marker_space_is_kept() -> None:
    assert normalize_text("　１ 計画策定の趣旨") == "1 計画策定の趣旨"
    assert normalize_text("ア 人口減少、少子・超高齢社会への対応") == "ア 人口減少、少子・超高齢社会への対応"
    assert normalize_text("第１章 総論") == "第1章 総論"


def test_continuations_join_even_when_indented() -> None:
    raw = (
        "◇ 基本計画は、基本構想に掲げる基本目標を実現するため、分野ごとの施策の方向と成果指標\n"
        "  を体系的に示すものです。\n"
        "●役割:計画策定に関する調査・審議、総合調整等を行う企画調整委員会の事務\n"
        "       局を置きます。\n"
        "  新しい段落は字下げで始まります。"
    )
    assert normalize_text(raw).split("\n") == [
        "◇ 基本計画は、基本構想に掲げる基本目標を実現するため、分野ごとの施策の方向と成果指標を体系的に示すものです。",
        "●役割:計画策定に関する調査・審議、総合調整等を行う企画調整委員会の事務局を置きます。",
        "新しい段落は字下げで始まります。",
    ]


def test_short_lines_are_not_glued_together() -> None:
    out = normalize_text("基本理念\n将来都市像\n市民アンケート")
    assert out.split("\n") == ["基本理念", "将来都市像", "市民アンケート"]


def test_blank_runs_collapse_and_trailing_spaces_go() -> None:
    assert normalize_text("一段落目。   \n\n\n\n二段落目。  ") == "一段落目。\n\n二段落目。"


def test_double_spaced_extraction_is_undone() -> None:
    lines = ["これは一行ごとに空行が入った抽出結果で、文の途中で改行されて"] * 12 + ["います。"]
    raw = " \n\n".join(lines) + " \n"
    out = normalize_text(undouble_spacing(raw))
    assert "\n" not in out and out.endswith("います。")
    assert undouble_spacing("一段落目\n\n二段落目\n") == "一段落目\n\n二段落目\n"  # too short to tell


def test_structured_text_keeps_every_line() -> None:
    raw = "comment: 一行目で文が終わらない\n二行目\n3"
    assert normalize_text(raw, structured=True) == raw


def test_running_headers_and_footers_are_stripped() -> None:
    bodies = [
        "計画の目的です。",
        "計画の期間です。",
        "計画の構成です。",
        "計画の体制です。",
        "計画の日程です。",
    ]
    pages = [f"第1章 総論\n{body}\n- {i} -" for i, body in enumerate(bodies, start=1)]
    pages[2] = "第2章 各論\n計画の構成です。\n- 3 -"
    out = strip_running_lines(pages)
    assert out[0] == "計画の目的です。"
    assert out[4] == "計画の日程です。"
    assert out[2] == "第2章 各論\n計画の構成です。"  # seen on one page only: not a running line


def test_running_lines_need_half_the_pages_and_three_at_least() -> None:
    two = ["見出し\n本文A。", "見出し\n本文B。"]
    assert strip_running_lines(two) == two
    bodies = ["目的。", "期間。", "構成。", "体制。", "日程。", "予算。", "評価。"]
    pages = [f"{head}\n{body}" for head, body in zip(["表紙", "共通", "共通", "A", "B", "C", "D"], bodies)]
    assert strip_running_lines(pages) == pages  # 2 of 7 pages: not running
    long_line = "これは四十文字を超える長い見出し行なので繰り返されても柱とはみなさない文章ですよ。"
    assert len(long_line) > 40
    pages = [f"{long_line}\n{body}" for body in bodies[:4]]
    assert strip_running_lines(pages) == pages


def test_japanese_ratio() -> None:
    assert japanese_ratio("日本語のテキスト。") == 1.0
    assert japanese_ratio("abc def") == 0.0
    assert japanese_ratio("") == 0.0
    assert japanese_ratio("計画 plan") == pytest.approx(2 / 6)


def test_page_quality_ok_empty_garbled() -> None:
    assert page_quality("") == ("empty", "no text")
    assert page_quality("  \n ") == ("empty", "no text")
    assert page_quality("音威子府村の広報です。")[0] == "ok"
    status, reason = page_quality("ȁɐʃʊ ΑΒΓΔ ǅǆǇǈ ɣɤɥɦ ʌʍʎʏ ΣΤΥΦ ȂȃȄȅ " * 5)
    assert status == "garbled" and "mojibake" in reason


@pytest.mark.parametrize(
    "text",
    [
        "The quick brown fox jumps over the lazy dog. " * 20,
        "2019 2020 2021 2022\n1,234 5,678 9,012\n" * 20,
        "L'économie française a été très touchée; les prévisions révisées à la baisse. " * 10,
        "Müller, Größe, Straße, Ärger, Übung, Öl. " * 10,
    ],
)
def test_page_quality_does_not_flag_english_numbers_or_accents(text: str) -> None:
    assert page_quality(text)[0] == "ok"


def test_overprint_ratio_counts_runs_printed_over_themselves() -> None:
    overprinted = "展覧会の入場者数 700700700700 人人人人（（（（2014201420142014 年度年度年度年度）"
    assert overprint_ratio(overprinted) > 0.4
    assert overprint_ratio("展覧会の入場者数 700 人（2014 年度）") == 0.0
    assert overprint_ratio("―――――― 0 0 0 0 0") == 0.0  # one character repeated: a rule, a column of zeros
    assert overprint_ratio("") == 0.0
    # a table header repeated over columns is counted too: only comparing two extractions of a page decides
    assert overprint_ratio("法人個人法人個人法人個人") > 0.5


def test_a_pdf_page_drawn_in_fake_bold_is_read_once() -> None:
    from pathlib import Path

    from ingest.readers.pdf import read

    path = Path(__file__).parents[2] / "shared" / "corpus" / "otoineppu" / "otoineppu_sogosenryaku.pdf"
    if not path.is_file():
        pytest.skip(f"{path} not found: the corpus lives in ../shared/corpus")
    doc = read(path)
    text = "\n".join(p.text for p in doc.pages)
    assert "700700" not in text and "展覧会の入場者数700" in text.replace(" ", "")
    assert max(overprint_ratio(p.text) for p in doc.pages) < 0.1
