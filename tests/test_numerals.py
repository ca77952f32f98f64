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
