"""Kanji numerals, era years and the offset-keeping normalisation."""

from __future__ import annotations

import pytest

from assistant.text.numerals import era_to_western, format_number, normalize_with_offsets, parse_number


@pytest.mark.parametrize(
    ("era", "year", "western"),
    [
        ("明治", 1, 1868),
        ("大正", 15, 1926),
        ("昭和", 64, 1989),
        ("平成", 1, 1989),
        ("平成", 29, 2017),
        ("令和", 1, 2019),
        ("令和", 8, 2026),
        ("R", 5, 2023),
        ("Ｒ", 5, 2023),
        ("H", 29, 2017),
        ("s", 48, 1973),
    ],
)
def test_era_to_western(era: str, year: int, western: int) -> None:
    assert era_to_western(era, year) == western


def test_era_to_western_rejects_unknown_eras_and_year_zero() -> None:
    with pytest.raises(ValueError):
        era_to_western("西暦", 5)
    with pytest.raises(ValueError):
        era_to_western("令和", 0)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,234", 1234),
        ("１２３", 123),
        ("3.1", 3.1),
        ("29.0", 29),
        ("五百", 500),
        ("二十", 20),
        ("十", 10),
        ("百二十三", 123),
        ("二千二十三", 2023),
        ("二〇二三", 2023),
        ("1万2千", 12000),
        ("１万２千", 12000),
        ("1.2万", 12000),
        ("2億5000万", 250_000_000),
        ("三億", 300_000_000),
        ("99,368", 99368),
        ("-1.5", -1.5),
    ],
)
def test_parse_number(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "万", "一2", "1,23", "令和"])
def test_parse_number_rejects_non_numbers(text: str) -> None:
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("value", "text"), [(29.0, "29"), (3.1, "3.1"), (12000.000000000002, "12000"), (0.12, "0.12")]
)
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text


def test_normalize_with_offsets_removes_spaces_but_keeps_numbers_apart() -> None:
    raw = "平成 29 年\n\n度　１万２千人 99,368 100,000"
    norm, offsets = normalize_with_offsets(raw)
    assert norm == "平成29年度1万2千人99,368 100,000"
    assert len(offsets) == len(norm)
    assert raw[offsets[norm.index("29")]] == "2"
    assert raw[offsets[norm.index("度")]] == "度"


def test_normalize_recomposes_half_width_kana_and_keeps_circled_numbers() -> None:
    norm, _ = normalize_with_offsets("3.1ﾎﾟｲﾝﾄ ①人口")
    assert norm == "3.1ポイント①人口"


@pytest.fixture(scope="module")
def tokenizer():
    from assistant.text.tokens import Tokenizer

    return Tokenizer()


@pytest.mark.parametrize(("text", "whole"), [
    ("令和6年4月1日現在", ["2024年", "4月", "4月1日"]),
    ("２０２４年度の目標", ["2024年度"]),  # full-width digits; 年度 stays apart from 年
    ("令和元年度から令和６年度まで", ["2019年度", "2024年度"]),
    ("平成27年3月31日", ["2015年", "3月", "3月31日"]),
    ("9月・10月", ["9月", "10月"]),
    ("10年後の姿", []),  # a span of years is no year
    ("13月の予定", []),  # no month
])
def test_a_date_is_indexed_as_whole_tokens_besides_its_pieces(tokenizer, text: str, whole: list[str]) -> None:
    tokens = tokenizer.tokens(text)
    assert [t for t in tokens if t in whole] == whole
    assert not [t for t in tokens if t.endswith(("年", "年度", "月", "日")) and len(t) > 2 and t not in whole]
    assert {"令和", "年", "月"} & set(tokens) or "令和" not in text  # the pieces are still there


def test_an_era_year_and_its_western_year_share_their_token(tokenizer) -> None:
    assert "2024年" in set(tokenizer.tokens("令和6年の人口")) & set(tokenizer.tokens("2024年の人口"))
    assert "2024年" not in tokenizer.tokens("令和5年の人口")
