"""Word lists, one place, each with what it is for. All entries are normalised forms (NFKC,
SudachiPy's normalized_form, lower case) unless said otherwise.
"""

from __future__ import annotations

# Question words and light nouns: they say what is asked, not what it is about, so they are not
# content words of a question (「何年」「どこ」「こと」). Used by `tokens.Tokenizer.content_tokens`.
QUESTION_WORDS = frozenset({
    "何", "なに", "なん", "いくつ", "いくら", "どの", "どれ", "どこ", "どう", "どんな", "どのよう", "いつ", "誰", "だれ",
    "くらい", "ぐらい", "程度", "教える", "ください", "こと", "もの", "ため", "よう", "場合", "について", "方",
    "時点", "現在", "どなた", "何故", "なぜ", "こちら", "それ", "その", "これ", "この", "あれ",
    "what", "which", "how", "when", "who", "where", "why", "the", "a", "an", "of", "in", "to", "is", "are", "was",
    "were", "be", "and", "or", "for", "on", "at", "by", "with", "according", "does", "do", "did", "much", "many",
    # normalised forms of question words and light nouns
    "幾ら", "幾つ", "何処", "如何", "何時", "何れ", "為", "事", "物", "様", "所", "等", "的", "さん", "位",
    "中", "上", "内", "際", "時", "頃", "方々", "皆様", "以上", "以下", "場所", "内容", "関係", "一", "全体",
})

# Words that say where or in what form something is written rather than what it says
# (パブリックコメント, 計画, 資料): in a question they count a quarter of their IDF weight
# (`retrieve.evidence.query_terms`).
META_WORDS = frozenset({
    "パブリックコメント", "パブコメ", "意見", "回答", "考え方", "国", "市", "県", "町", "村", "計画", "資料", "記載",
    "文書", "表現", "質問", "説明", "書く", "plan", "document",
})

# Words around a figure that do not name what it measures (うち, 時点, 本市, 年度): a draft
# statement's subject is what remains without them (`check.values.subject_tokens`).
VALUE_FILLERS = frozenset({
    "うち", "ほか", "等", "など", "末", "時点", "現在", "とおり", "中", "以上", "以下", "当たり", "約", "年度", "年",
    "月", "日", "本市", "本町", "本村", "本区", "当市", "当町", "当村", "本計画", "次", "前回", "比",
})

# Surface words (a regex alternation, not tokens) stripped from a figure's subject before it is
# compared with a statement's wording: reference times and self-references, not subjects.
SUBJECT_NOISE = r"現在|時点|年度末|年度|年末|令和|平成|本市|本町|本村|本区|本計画|計画|前回|全体|合計"

# Character bigrams that never make two figures' subjects alike (`facts.compare_facts`).
SUBJECT_STOP_GRAMS = frozenset({"計画", "本市", "本町", "本村", "現在", "時点", "以上", "以下", "年度"})

# Department names that name no department: 「担当課」「各課」「関係係」 (surface forms), and the endings
# of such names (「○○担当課」).
GENERIC_DEPARTMENTS = frozenset({"担当課", "所管課", "関係課", "各課", "同課", "本課", "主管課", "課", "担当係", "所管係",
                                 "関係係", "各係", "係", "室", "各室", "同室"})
GENERIC_DEPARTMENT_ENDS = ("担当課", "所管課", "関係課", "担当係", "所管係", "関係係")
# Rooms, not departments, though they end in 室 (会議室は…, 料理教室は…).
ROOMS = ("会議室", "教室", "和室", "研修室", "相談室", "浴室", "図書室", "保健室", "職員室", "待合室", "控室",
         "控え室", "集会室", "調理室", "資料室", "展示室", "談話室", "休憩室", "寝室", "居室", "病室", "個室", "温室")
