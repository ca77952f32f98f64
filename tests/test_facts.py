"""Facts and roles on real sentences: the draft statements of eval/dev_draft_check.jsonl and
the passages that confirm or contradict them (saku 後期基本計画策定方針, env6 第六次環境基本計画),
copied with their original spaces, full-width digits and line breaks."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from assistant.text.facts import (
    Fact,
    canonical_tokens,
    compare_facts,
    compatible,
    extract_facts,
    values_equal,
)
from assistant.text.roles import Role, compare_roles, extract_roles, holders_equal

SHARED = Path(__file__).resolve().parents[2] / "shared"
SAKU = SHARED / "corpus" / "saku" / "saku_kouki_kihonkeikaku_sakutei_houshin.txt"
DRAFT_CASES = SHARED / "eval" / "dev_draft_check.jsonl"

# Evidence as it stands in the source files (saku: extracted text with spaces and line breaks
# inside numbers; env6: the HTML text without tags).
K01_EVIDENCE = (
    "これらは、平成 29 年度から令和８年度までの 10 年間の構想として策定された基本構\n"
    "想の骨格にあたるため、今回の改訂はありません。"
)
K02_EVIDENCE = (
    "（２）基本計画（計画期間 ５年間 前期 平成 29 年度～令和３年度 \n\n"
    "（２）基本計画（計画期間 ５年間 後期 令和４年度～令和８年度 ） "
)
K03_EVIDENCE = (
    "本市の人口は、平成 22 年の国勢調査をピークに減少局面に転じ、平成 27 年の調査\n\n"
    "時においては前回比 1.2％減の 99,368 人と、10 万人を割り込むとともに、高齢化率\n\n"
    "は 29.0 パーセントと、前回比 3.1 ポイント増で推移しています。"
)
K04_EVIDENCE = (
    "計画策定に関する調査・審議は、副市長を委員長とし、市長が任命した部長職に\n\n"
    "より構成される企画調整委員会において行い、必要な調整を図ります。"
)
K05_EVIDENCE = (
    "若い世代を対象としたワークショップなどを実施し、これまでの市の取組や今後\n\n"
    "の取組などに対する意向を把握します。"
)
K07_K10_EVIDENCE = (
    "その実現のための施策の実施期間は概ね2030年まで（本計画策定後５年を目途で見直しのプロセスに"
    "入る。）を想定している。"
)
K08_EVIDENCE = (
    "また、74（令和５年11 月現在）の脱炭素先行地域を始め脱炭素や環境保全の取組を地域の経済の"
    "再生などの課題解決に結びつける動きが加速化している。"
)
K09_EVIDENCE = (
    "2023 年の世界の年平均気温は観測史上最も高く、産業革命以前の平均と比較して1.45℃（±0.12）"
    "高くなり、我が国を含む世界で異常高温、気象災害が多発した。"
)
K11_EVIDENCE = "９ 策定スケジュール \n\n  令和２年度と令和３年度の２か年で策定します（「別紙１」参照）。 "

CASES = {
    "k01": ("基本構想は、平成29年度から令和８年度までの10年間の構想として策定されている。", K01_EVIDENCE),
    "k02": ("前期基本計画の計画期間は平成29年度から令和４年度までである。", K02_EVIDENCE),
    "k03": ("平成27年国勢調査の高齢化率は29.0％で、前回比3.1ポイント増加した。", K03_EVIDENCE),
    "k04": ("企画調整委員会の委員長には市長が就任する。", K04_EVIDENCE),
    "k05": ("ワークショップは高齢者を対象として実施する。", K05_EVIDENCE),
    "k07": ("第六次環境基本計画では、施策の実施期間をおおむね2030年までと想定している。", K07_K10_EVIDENCE),
    "k08": ("脱炭素先行地域は令和５年11月現在で47地域が選定されている。", K08_EVIDENCE),
    "k09": ("2023年の世界の年平均気温は、産業革命以前と比べて1.45℃高かった。", K09_EVIDENCE),
    "k10": ("第六次環境基本計画は、策定後10年を目途に見直しのプロセスに入る。", K07_K10_EVIDENCE),
    "k11": ("計画策定は令和2年度から令和3年度の2か年で行う。", K11_EVIDENCE),
}
CONFLICTS = ("k02", "k04", "k05", "k08", "k10")
CONSISTENT = ("k01", "k03", "k07", "k09", "k11")


def judge(draft: str, evidence: str) -> tuple[list[object], list[object]]:
    """(supported, contradicted) draft facts and roles: a draft item is supported when some
    counterpart in the evidence is equal, contradicted when it has counterparts and none is."""
    outcomes: dict[object, list[bool]] = {}
    for a, _, equal in compare_facts(extract_facts(draft), extract_facts(evidence)):
        outcomes.setdefault(a, []).append(equal)
    for ra, _, equal in compare_roles(extract_roles(draft), extract_roles(evidence)):
        outcomes.setdefault(ra, []).append(equal)
    supported = [x for x, eqs in outcomes.items() if any(eqs)]
    contradicted = [x for x, eqs in outcomes.items() if not any(eqs)]
    return supported, contradicted


def only(facts: list[Fact], kind: str) -> Fact:
    found = [f for f in facts if f.kind == kind]
    assert len(found) == 1, found
    return found[0]


# --- the development cases -----------------------------------------------------------


@pytest.mark.parametrize("case_id", CONFLICTS)
def test_conflict_cases_have_a_contradicted_fact_or_role(case_id: str) -> None:
    draft, evidence = CASES[case_id]
    _, contradicted = judge(draft, evidence)
    assert contradicted, f"{case_id}: nothing in the draft contradicts the evidence"


@pytest.mark.parametrize("case_id", CONSISTENT)
def test_consistent_cases_are_supported_and_never_contradicted(case_id: str) -> None:
    draft, evidence = CASES[case_id]
    supported, contradicted = judge(draft, evidence)
    assert supported and not contradicted, (supported, contradicted)


def test_k02_period_end_differs() -> None:
    draft = only(extract_facts(CASES["k02"][0]), "period")
    assert (draft.value, draft.unit) == ((2017, 2022), "年度")
    periods = [f for f in extract_facts(K02_EVIDENCE) if f.kind == "period"]
    assert [p.value for p in periods] == [(2017, 2021), (2022, 2026)]
    assert [p.surface for p in periods] == ["平成 29 年度～令和３年度", "令和４年度～令和８年度"]
    pairs = [(b.value, eq) for a, b, eq in compare_facts([draft], periods)]
    assert (2017, 2021) in [v for v, _ in pairs]
    assert not any(eq for _, eq in pairs)


def test_k04_chair_is_the_vice_mayor_not_the_mayor() -> None:
    assert extract_roles(CASES["k04"][0]) == [Role("委員長", "市長", "委員長には市長が就任")]
    evidence = extract_roles(K04_EVIDENCE)
    assert [(r.role, r.holder) for r in evidence] == [("委員長", "副市長")]
    assert compare_roles(extract_roles(CASES["k04"][0]), evidence)[0][2] is False


def test_k05_workshop_target_differs() -> None:
    [draft] = extract_roles(CASES["k05"][0])
    [evidence] = extract_roles(K05_EVIDENCE)
    assert (draft.role, draft.holder) == ("対象", "高齢者")
    assert (evidence.role, evidence.holder) == ("対象", "若い世代")
    assert not holders_equal(draft.holder, evidence.holder)


def test_k08_count_of_regions_and_its_date() -> None:
    draft = extract_facts(CASES["k08"][0])
    evidence = extract_facts(K08_EVIDENCE)
    count = only(evidence, "quantity")
    assert (count.value, count.unit, count.surface, count.subject) == (74, "地域", "74", "脱炭素先行地域")
    assert only(draft, "quantity").value == 47
    assert only(draft, "date").value == only(evidence, "date").value == (2023, 11, None)
    # the 11 and 5 of the date are not quantities of their own
    assert [f.kind for f in evidence] == ["quantity", "date"]
    pairs = compare_facts([only(draft, "quantity")], evidence)
    assert [(b.value, eq) for _, b, eq in pairs] == [(74, False)]


def test_k10_durations_not_calendar_years() -> None:
    draft = only(extract_facts(CASES["k10"][0]), "duration")
    evidence = only(extract_facts(K07_K10_EVIDENCE), "duration")
    assert (draft.value, draft.unit, draft.surface) == (10, "年", "10年")
    assert (evidence.value, evidence.unit, evidence.surface) == (5, "年", "５年")
    assert not any(f.kind == "year" for f in extract_facts(CASES["k10"][0]))
    assert compare_facts([draft], [evidence]) == [(draft, evidence, False)]


def test_k01_period_and_length() -> None:
    facts = extract_facts(K01_EVIDENCE)
    assert [(f.kind, f.value, f.unit) for f in facts] == [
        ("period", (2017, 2026), "年度"),
        ("duration", 10, "年"),
    ]
    assert facts[0].surface == "平成 29 年度から令和８年度まで"


def test_k03_percent_and_points() -> None:
    draft = extract_facts(CASES["k03"][0])
    evidence = extract_facts(K03_EVIDENCE)
    rate = only(draft, "percent")
    assert (rate.value, rate.subject) == (29.0, "国勢調査の高齢化率")
    matches = [b for _, b, eq in compare_facts([rate], evidence) if eq]
    assert [b.surface for b in matches] == ["29.0 パーセント"]
    assert matches[0].subject == "高齢化率"
    points = only(evidence, "points")
    assert (points.value, points.unit, points.subject) == (3.1, "ポイント", "前回比")


def test_k07_open_ended_period_ignores_approximation() -> None:
    draft = only(extract_facts(CASES["k07"][0]), "period")
    evidence = only(extract_facts(K07_K10_EVIDENCE), "period")
    assert draft.value == evidence.value == (None, 2030)
    assert (draft.surface, evidence.surface) == ("2030年まで", "2030年まで")
    assert values_equal(draft, evidence)


def test_k11_two_years_joined_by_to() -> None:
    evidence = extract_facts(K11_EVIDENCE)
    assert [(f.kind, f.value) for f in evidence] == [("period", (2020, 2021)), ("duration", 2)]
    draft = extract_facts(CASES["k11"][0])
    assert [(f.kind, f.value) for f in draft] == [("period", (2020, 2021)), ("duration", 2)]
    # without a following length, 「AとB」 is two separate years
    two_years = extract_facts("令和２年度と令和３年度に実施する。")
    assert [(f.kind, f.value) for f in two_years] == [("year", 2020), ("year", 2021)]


def _eval_normalise(text: str) -> str:
    """The eval README's matching rule: NFKC, then no whitespace."""
    return "".join(unicodedata.normalize("NFKC", text).split())


@pytest.mark.corpus
def test_cases_match_the_shared_eval_file() -> None:
    if not DRAFT_CASES.exists():
        pytest.skip(f"{DRAFT_CASES} not found")
    for line in DRAFT_CASES.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        if case["id"] not in CASES:
            continue
        draft, evidence = CASES[case["id"]]
        assert draft == case["draft"]
        assert case["expected"] == ("conflict" if case["id"] in CONFLICTS else "consistent")
        assert _eval_normalise(case["evidence_contains"]) in _eval_normalise(evidence)


@pytest.mark.corpus
def test_whole_saku_document_offsets_and_roles() -> None:
    if not SAKU.exists():
        pytest.skip(f"{SAKU} not found")
    text = SAKU.read_text(encoding="utf-8")
    facts = extract_facts(text)
    assert all(text[f.start : f.end] == f.surface for f in facts)
    assert any(f.kind == "period" and f.value == (2017, 2026) and "\n" in f.surface for f in facts)
    roles = {(r.role, r.holder) for r in extract_roles(text)}
    assert {
        ("委員長", "副市長"),
        ("幹事長", "企画課長"),
        ("事務局", "企画部企画課"),
        ("対象", "若い世代"),
    } <= roles


# --- years, dates, periods -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("令和元年東日本台風", 2019, "年"),
        ("平成元年度", 1989, "年度"),
        ("R5年度の実績", 2023, "年度"),
        ("Ｈ29年度", 2017, "年度"),
        ("H29の調査", 2017, "年"),
        ("R5", 2023, "年"),
        ("平成 22 年の国勢調査", 2010, "年"),
        ("昭和 48 年法律第110 号", 1973, "年"),
        ("令和五年に", 2023, "年"),
        ("二千二十三年に", 2023, "年"),
        ("2030 年度において", 2030, "年度"),
        ("1995（平成 7）年版の環境白書", 1995, "年"),
        ("1990 年代頃", 1990, "年代"),
    ],
)
def test_years(text: str, value: int, unit: str) -> None:
    year = only(extract_facts(text), "year")
    assert (year.value, year.unit) == (value, unit)


def test_fiscal_and_calendar_years_compare_but_values_must_match() -> None:
    [a] = extract_facts("2023年度")
    [b] = extract_facts("令和５年度")
    [c] = extract_facts("令和５年")
    [d] = extract_facts("令和４年度")
    assert values_equal(a, b) and values_equal(b, c)
    assert not values_equal(b, d)


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("令和４年度～令和８年度", (2022, 2026), "年度"),
        ("令和２年度から令和６年度までを計画期間", (2020, 2024), "年度"),
        ("令和２年度から６年度まで", (2020, 2024), "年度"),
        ("～2030年まで", (None, 2030), "年"),
        ("産業革命以前の1850～1900年の平均", (1850, 1900), "年"),
        ("2010 年以降、熱中症による", (2010, None), "年"),
        ("令和６年度から一律200円", (2024, None), "年度"),
    ],
)
def test_periods(text: str, value: tuple[int | None, int | None], unit: str) -> None:
    period = only(extract_facts(text), "period")
    assert (period.value, period.unit) == (value, unit)


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("令和５年11月現在", (2023, 11, None), "年月"),
        ("令和２年 10 月", (2020, 10, None), "年月"),
        ("平成 17 年４月１日、佐久市・臼田町", (2005, 4, 1), "年月日"),
        ("2023 年 6 月末現在、340 兆円", (2023, 6, None), "年月"),
        ("R5.4.1施行", (2023, 4, 1), "年月日"),
    ],
)
def test_dates(text: str, value: tuple[int | None, ...], unit: str) -> None:
    date = only(extract_facts(text), "date")
    assert (date.value, date.unit) == (value, unit)


def test_numbers_inside_dates_are_not_quantities() -> None:
    facts = extract_facts("平成 17 年４月１日、１市２町１村が合併して誕生した")
    assert [f.kind for f in facts] == ["date"]
    assert facts[0].surface == "平成 17 年４月１日"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("平成29年度から令和８年度までの10年間", 10),
        ("令和２年度と令和３年度の２か年で策定", 2),
        ("本計画策定後５年を目途で見直し", 5),
        ("計画策定から５年後に見直しを行う", 5),
        ("過去 2000年間のどの 50 年間よりも", 2000),
        ("翌年度から３年度分を策定し", 3),
    ],
)
def test_durations_are_counts_of_years(text: str, value: float) -> None:
    durations = [f for f in extract_facts(text) if f.kind == "duration"]
    assert durations[0].value == value and durations[0].unit == "年"
    assert not any(f.kind == "year" and f.value == value for f in extract_facts(text))


# --- quantities ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "value", "unit"),
    [
        ("前回比 1.2％減の 99,368 人", "quantity", 99368, "人"),
        ("10 万人を割り込む", "quantity", 100000, "人"),
        ("１万２千人", "quantity", 12000, "人"),
        ("五百人", "quantity", 500, "人"),
        ("1.2万人", "quantity", 12000, "人"),
        ("3億円", "quantity", 300_000_000, "円"),
        ("12千円", "quantity", 12000, "円"),
        ("２億5000万円", "quantity", 250_000_000, "円"),
        ("10 兆円規模", "quantity", 10**13, "円"),
        ("委員21名", "quantity", 21, "人"),
        ("５カ所", "quantity", 5, "箇所"),
        ("3か所", "quantity", 3, "箇所"),
        ("重点箇所5個所", "quantity", 5, "箇所"),  # 個所: the older official spelling of 箇所
        ("総棟数:415棟", "quantity", 415, "棟"),
        ("74地域", "quantity", 74, "地域"),
        ("20ｋｍ", "quantity", 20, "km"),
        ("30ヘクタール", "quantity", 30, "ha"),
        ("1.45℃（±0.12）高くなり", "quantity", 1.45, "℃"),
        ("気温が２度上昇", "quantity", 2, "℃"),
        ("970 万トン", "quantity", 9_700_000, "t"),
        ("84億リットル", "quantity", 8_400_000_000, "L"),
        ("523万キロリットル", "quantity", 5_230_000, "kL"),
        ("1人当たり3.3 m2で算出", "quantity", 3.3, "m2"),  # a space before the unit, as PDFs give it
        ("1人当たり3.3平方メートル", "quantity", 3.3, "m2"),
        ("３つの危機", "quantity", 3, "つ"),
        ("29.0 パーセント", "percent", 29, "%"),
        ("43.1％の人", "percent", 43.1, "%"),
        ("3.1 ポイント増", "points", 3.1, "ポイント"),
        ("第六次環境基本計画", "ordinal", 6, "次"),
        ("第２期佐久市まち・ひと・しごと創生総合戦略", "ordinal", 2, "期"),
    ],
)
def test_quantities(text: str, kind: str, value: float, unit: str) -> None:
    fact = [f for f in extract_facts(text) if f.kind == kind][-1]
    assert (fact.value, fact.unit) == (value, unit)


def _one(text: str):
    [fact] = extract_facts(text)
    return fact


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("1週間分", "7日分", True),
        ("3週間分", "3日間", False),  # the same figure in another unit: a different value, not another measure
        ("5年間", "60か月", True),
        ("116ヘクタール", "1.16km2", True),
        ("116ヘクタール", "116平方キロメートル", False),
        ("84億m3", "84億リットル", False),
        ("2キロリットル", "2m3", True),
        ("3.5km", "3,500メートル", True),
    ],
)
def test_units_of_one_measure_compare_as_values(a: str, b: str, equal: bool) -> None:
    fa, fb = _one(a), _one(b)
    assert compatible(fa, fb) and values_equal(fa, fb) is equal


def test_units_of_different_measures_do_not_compare() -> None:
    # a month is not a whole number of days, tons are not litres, hectares are not metres
    for a, b in (("1か月", "30日間"), ("523万トン", "523万キロリットル"), ("10ヘクタール", "10km")):
        assert not compatible(_one(a), _one(b)), (a, b)


def test_unit_multipliers_compare_as_values() -> None:
    [a] = extract_facts("1.2万人")
    [b] = extract_facts("12,000人")
    [c] = extract_facts("3億円")
    [d] = extract_facts("300000000円")
    [e] = extract_facts("１万２千円")
    assert values_equal(a, b) and values_equal(c, d)
    assert not values_equal(b, e)  # same number, different unit


def test_percent_and_points_are_distinct() -> None:
    [percent] = extract_facts("高齢化率は3.1％")
    [points] = extract_facts("高齢化率は3.1ポイント増")
    assert percent.kind == "percent" and points.kind == "points"
    assert not values_equal(percent, points)
    assert compare_facts([percent], [points]) == []


def test_idioms_are_not_counts() -> None:
    assert extract_facts("一人ひとりが統一した行動を一度とる") == []


def test_subjects_keep_unrelated_figures_apart() -> None:
    [rate] = extract_facts("高齢化率は29.0％")
    [other] = extract_facts("失業率は29.0％")
    [same] = extract_facts("本市の高齢化率は 29.0 パーセント")
    assert rate.subject == "高齢化率"
    assert compare_facts([rate], [other]) == []
    assert compare_facts([rate], [same]) == [(rate, same, True)]


def test_offsets_point_into_the_original_text() -> None:
    text = "基本構想は、平成 29 年\n\n度から令和８年度までの 10 年間"
    facts = extract_facts(text)
    assert [f.surface for f in facts] == ["平成 29 年\n\n度から令和８年度まで", "10 年間"]
    assert all(text[f.start : f.end] == f.surface for f in facts)


# --- roles ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "role", "holder"),
    [
        ("企画課長を幹事長とし、市長が任命した課長職から構成される", "幹事長", "企画課長"),
        ("市長が委員長", "委員長", "市長"),
        ("審議会は市長が会長を務める。", "会長", "市長"),
        ("所管課は企画課", "所管課", "企画課"),
        ("事務局は企画課に置く", "事務局", "企画課"),
        (
            "事務局を企画部企画課に置き、計画策定に関する全般の調整と庶務を行います。",
            "事務局",
            "企画部企画課",
        ),
        ("企画課に事務局を置く", "事務局", "企画課"),
        ("●委員長：副市長 \n●委員：市長が任命した部長職", "委員長", "副市長"),
        ("副委員長は市長とする", "副委員長", "市長"),
        ("市民が主体となって取り組む", "主体", "市民"),
    ],
)
def test_roles(text: str, role: str, holder: str) -> None:
    assert [(r.role, r.holder) for r in extract_roles(text)] == [(role, holder)]


def test_no_role_without_an_assignment() -> None:
    assert extract_roles("市長が任命した部長職により構成される企画調整委員会において行い") == []
    assert extract_roles("住民が主体的に参加する") == []


def test_holder_equality() -> None:
    assert holders_equal("企画課", "企画部企画課")
    assert holders_equal("高齢者", "市内の高齢者")
    assert not holders_equal("市長", "副市長")
    assert not holders_equal("世代", "若い世代")


# --- canonical tokens ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("令和５年", {"2023"}),
        ("29.0％", {"29", "29%"}),
        ("１万２千人", {"12000"}),
        ("3.1ポイント", {"3.1"}),
        ("平成29年度", {"2017"}),
        ("令和５年11月現在", {"2023", "11"}),
        ("平成 29 年度～令和３年度", {"2017", "2021"}),
        ("1.45℃（±0.12）", {"1.45", "0.12"}),
    ],
)
def test_canonical_tokens(text: str, tokens: set[str]) -> None:
    assert canonical_tokens(text) == tokens


def test_answer_numbers_must_appear_in_the_passage() -> None:
    answer_ok = "平成27年の高齢化率は29％で、前回から3.1ポイント増えました。"
    answer_wrong = "脱炭素先行地域は47地域です（2023年11月現在）。"
    assert canonical_tokens(answer_ok) <= canonical_tokens(K03_EVIDENCE)
    assert canonical_tokens("2023年11月現在で74の地域") <= canonical_tokens(K08_EVIDENCE)
    assert not canonical_tokens(answer_wrong) <= canonical_tokens(K08_EVIDENCE)
