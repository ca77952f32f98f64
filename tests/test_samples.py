"""The bundled sample documents of the fictional みどり野市.

They must be reproducible from their sources, listed in the manifest, marked as fictional,
and carry the planted evidence that the draft-check demo and sample questions rely on.
Text is extracted here with the plain libraries (pypdf, openpyxl) and matched the way the
evaluation matches: NFKC-normalised, all whitespace removed.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import unicodedata
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from assistant.samples import FICTION_NOTICE, MANIFEST, PLANTED, SAMPLE_QA, SAMPLES_DIR
from assistant.samples.build import build
from assistant.types import AUDIENCES, DOC_TYPES

TEXT_SUFFIXES = {".md", ".txt", ".html", ".csv"}
PLAN = "midorino_sogo_keikaku_kouki_soan"


def norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def pdf_pages(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(path).pages]


def extract(path: Path) -> str:
    if path.suffix == ".pdf":
        return "\n".join(pdf_pages(path))
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True).worksheets[0]
        return "\n".join(
            " ".join(str(v) for v in row if v is not None) for row in sheet.iter_rows(values_only=True)
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp932")
    if path.suffix == ".html":
        text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", "", text, flags=re.DOTALL)))
    return text


@cache
def manifest() -> list[dict]:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


@cache
def doc_text(stem: str) -> str:
    (entry,) = [e for e in manifest() if e["id"] == stem]
    return norm(extract(SAMPLES_DIR / entry["file"]))


def test_build_is_deterministic_and_committed_files_are_current(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    build(first)
    build(second)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
        if Path(name).suffix in TEXT_SUFFIXES | {".json"}:
            assert (first / name).read_bytes() == (SAMPLES_DIR / name).read_bytes(), (
                f"{name}: rerun the build"
            )
        else:  # binary formats: same text as the committed file
            assert norm(extract(first / name)) == norm(extract(SAMPLES_DIR / name)), (
                f"{name}: rerun the build"
            )


def test_manifest_lists_every_file_with_valid_metadata() -> None:
    files = {p.name for p in SAMPLES_DIR.iterdir() if p.name != MANIFEST.name}
    assert files == {e["file"] for e in manifest()}
    for entry in manifest():
        assert set(entry) == {"file", "id", "title", "type", "issuer", "audience", "edition", "period"}
        assert entry["id"] == Path(entry["file"]).stem
        assert entry["type"] in DOC_TYPES and entry["audience"] in AUDIENCES
        assert entry["period"] is None or re.fullmatch(r"令和\S+年度～令和\S+年度", entry["period"])
    assert Counter(e["audience"] for e in manifest())["staff"] >= 1
    assert {".pdf", ".html", ".md", ".txt", ".csv", ".xlsx"} <= {Path(f).suffix for f in files}
    assert sum(p.stat().st_size for p in SAMPLES_DIR.iterdir()) < 1_000_000


@pytest.mark.parametrize("entry", manifest(), ids=lambda e: e["id"])
def test_every_file_is_marked_fictional_at_the_top(entry: dict) -> None:
    assert norm(FICTION_NOTICE) in doc_text(entry["id"])[:400]


def test_consultation_tables_parse_with_the_same_columns_in_every_row() -> None:
    header = ["番号", "該当箇所", "意見の概要", "市の考え方", "反映状況"]
    raw = (SAMPLES_DIR / "midorino_fukushi_keikaku_pubcome_kekka.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # this one is Shift_JIS (CP932), as many municipal exports are
    tables = [list(csv.reader(io.StringIO(raw.decode("cp932"))))]
    utf8 = (SAMPLES_DIR / "midorino_kouki_soan_pubcome_kekka.csv").read_text("utf-8")
    tables.append(list(csv.reader(io.StringIO(utf8))))
    from openpyxl import load_workbook

    sheet = load_workbook(SAMPLES_DIR / "midorino_koutsuu_keikaku_pubcome_kekka.xlsx").worksheets[0]
    tables.append([[str(v) for v in row] for row in sheet.iter_rows(values_only=True)])
    for rows in tables:
        assert rows[0] == header
        assert len(rows) > 5 and all(len(row) == len(header) and all(row) for row in rows)


def test_comprehensive_plan_pdf_has_running_head_page_numbers_and_indicator_table() -> None:
    pages = pdf_pages(SAMPLES_DIR / f"{PLAN}.pdf")
    assert 6 <= len(pages) <= 12
    for number, text in enumerate(pages[1:], start=2):
        assert f"-{number}-" in norm(text)
        assert norm("後期基本計画（素案）") in norm(text)
    whole = norm("\n".join(pages))
    assert norm("指標 現状値（令和４年度） 目標値（令和10年度） 担当課") in whole
    # sentences wrapped over several lines come back whole once line breaks are removed
    assert norm("後期基本計画の計画期間は、令和６年度から令和10年度までの５年間とします。") in whole


UNSUPPORTED_TOPICS = {"p09": "体育館", "p10": "給食"}  # no sample document mentions these at all


@pytest.mark.parametrize("case", json.loads(PLANTED.read_text(encoding="utf-8")), ids=lambda c: c["id"])
def test_planted_disagreement_evidence_is_in_the_named_document(case: dict) -> None:
    assert case["expected"] in {"conflict", "consistent", "unsupported"}
    if case["expected"] == "unsupported":
        assert case["evidence_contains"] == "" and case["doc"] is None
        assert not any(UNSUPPORTED_TOPICS[case["id"]] in doc_text(e["id"]) for e in manifest())
        return
    evidence = case["evidence_contains"]
    assert evidence == norm(evidence), "store evidence NFKC-normalised, without whitespace"
    assert evidence in doc_text(case["doc"])
    draft_value, evidence_value = case["values"]
    assert norm(draft_value) in doc_text(PLAN), "the draft side is planted in the comprehensive plan"
    assert norm(evidence_value) in doc_text(case["doc"])


def test_planted_set_covers_each_verdict() -> None:
    counts = Counter(c["expected"] for c in json.loads(PLANTED.read_text(encoding="utf-8")))
    assert counts["unsupported"] == 2 and counts["conflict"] >= 4 and counts["consistent"] >= 2


QA = [json.loads(line) for line in SAMPLE_QA.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("case", QA, ids=lambda c: c["id"])
def test_sample_question_is_answered_by_its_source(case: dict) -> None:
    if case["kind"] == "unanswerable":
        assert case["answer_keys"] == [] and case["doc"] is None
        return
    text = doc_text(case["doc"])
    assert norm(case["source_contains"]) in text
    for group in case["answer_keys"]:
        assert any(norm(alt) in text for alt in group), group
    if case.get("page"):
        page = pdf_pages(SAMPLES_DIR / f"{case['doc']}.pdf")[case["page"] - 1]
        assert norm(case["source_contains"]) in norm(page)


def test_sample_questions_cover_the_required_kinds() -> None:
    kinds = Counter(c["kind"] for c in QA)
    assert len(QA) == 10
    assert kinds["unanswerable"] == 2 and kinds["where_covered"] == 2 and kinds["crosslingual"] == 1
