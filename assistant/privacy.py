"""Masking of personal data in what residents type, before anything is stored (issue 11, item 4).

Pure and conservative in one direction: a log may lose a word that only looked personal (「私は市民です」
→ 「私は〔氏名〕です」), but a phone number, e-mail address, street number, individual number or a
name introduced as one must not be stored. Plan figures (令和10年度, 1,200千人, 29.0%, 施策1-2) are left
alone: numbers are masked only in the shapes of a phone number, a 12-digit number or an address.
Full-width digits and hyphens are matched as typed, so the rest of the text is stored unchanged.
"""

from __future__ import annotations

import re

PHONE, EMAIL, ADDRESS, MY_NUMBER, NAME = "〔電話番号〕", "〔メール〕", "〔住所〕", "〔個人番号〕", "〔氏名〕"

_D = "[0-9０-９]"
_NOT_D = r"(?<![0-9０-９])"
_END_D = r"(?![0-9０-９])"
_HYPHEN = "[-－‐‑–—―−ーｰ]"
_NUM = "[0-9０-９一二三四五六七八九十〇]+"
_PLACE = "[一-龥々〆ヶァ-ヴー]"  # kanji and katakana: place names (no hiragana, which would swallow 「住所は」)
_NAME_CHARS = "[一-龥々〆ヶァ-ヴー]"

_LOCAL, _LABEL = r"[A-Za-z0-9._%+\-Ａ-Ｚａ-ｚ０-９．＿]", r"[A-Za-z0-9\-Ａ-Ｚａ-ｚ０-９]"
_EMAIL = re.compile(rf"{_LOCAL}+[@＠]{_LABEL}+(?:[.．]{_LABEL}+)+")
# a 12-digit individual number (マイナンバー), typed whole or in groups of four
_MY_NUMBER = re.compile(rf"{_NOT_D}{_D}{{4}}(?:{_HYPHEN}|[ 　])?{_D}{{4}}(?:{_HYPHEN}|[ 　])?{_D}{{4}}{_END_D}")
# a candidate phone number: 0 or +81, then digits with hyphens, brackets or spaces; the digit count decides
_PHONE = re.compile(rf"{_NOT_D}(?:\+81|＋８１|[0０])(?:{_D}|{_HYPHEN}|[()（） 　]){{8,16}}{_D}{_END_D}")
_POSTCODE = re.compile(rf"〒[ 　]?{_D}{{3}}{_HYPHEN}?{_D}{{4}}")
# 1丁目2番3号, 123番地, 5番地の2, 2番3号, or 3-4-5 after a place name ending in 町, 区 …; a bare 「1丁目」 is
# a district, not a home, and stays
_BLOCK = (rf"{_NUM}丁目(?:{_NUM}番地?(?:の?{_NUM}号?)?|{_HYPHEN}?{_NUM}(?:{_HYPHEN}{_NUM})?)"
          rf"|{_NUM}番地(?:の?{_NUM}号?)?|{_NUM}番{_NUM}号")
_TOWN = rf"{_PLACE}{{0,20}}?(?:都|道|府|県|市|区|町|村|郡)"
_ADDRESS = re.compile(rf"(?:{_TOWN})?(?:{_BLOCK})|{_TOWN}{_D}+{_HYPHEN}{_D}+(?:{_HYPHEN}{_D}+)?{_END_D}")
# a name introduced as one: 私は山田太郎です, 氏名：佐藤花子, 名前は 山田 太郎
_NAME_AFTER_I = re.compile(rf"((?:私|わたし|わたくし|僕|ぼく)は[ 　]?)({_NAME_CHARS}{{1,8}}(?:[ 　]{_NAME_CHARS}{{1,6}})?)"
                           r"(?=[ 　]?(?:です|と申します|といいます|と言います|でございます|だ|。|、|$))")
_NAME_FIELD = re.compile(rf"((?:氏名|お名前|名前|なまえ)[ 　]*(?:は|：|:|＝|=)?[ 　]*)"
                         rf"({_NAME_CHARS}{{1,8}}(?:[ 　]{_NAME_CHARS}{{1,6}})?)")


def _phone(m: re.Match[str]) -> str:
    digits = sum(c.isdigit() for c in m.group(0))
    international = m.group(0).startswith(("+81", "＋８１"))
    return PHONE if (9 <= digits - 2 <= 10 if international else 10 <= digits <= 11) else m.group(0)


def mask(text: str) -> str:
    """`text` with phone numbers, e-mail addresses, addresses, individual numbers and introduced names
    replaced by 〔電話番号〕〔メール〕〔住所〕〔個人番号〕〔氏名〕; everything else as typed."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL, text)
    text = _MY_NUMBER.sub(MY_NUMBER, text)
    text = _PHONE.sub(_phone, text)
    text = _POSTCODE.sub(ADDRESS, text)
    text = _ADDRESS.sub(ADDRESS, text)
    text = _NAME_FIELD.sub(lambda m: m.group(1) + NAME, text)
    return _NAME_AFTER_I.sub(lambda m: m.group(1) + NAME, text)
