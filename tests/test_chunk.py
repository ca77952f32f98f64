from assistant.text.layout import heading_style
from assistant.types import LoadedDocument, Page, Record
from ingest.chunk import chunk_document


def _doc(*pages: str, records=()) -> LoadedDocument:
    return LoadedDocument("x.txt", "text", [Page(i + 1, t) for i, t in enumerate(pages)], list(records))


def test_heading_styles_recognised():
    assert heading_style("第１章 総論")[0] == "chapter"
    assert heading_style("第2節 計画の構成")[0] == "section"
    assert heading_style("1 計画策定の趣旨")[0] == "num"
    assert heading_style("(1) 基本構想")[0] == "paren_num"
    assert heading_style("ア 市民参加")[0] == "kata"
    assert heading_style("① 住民説明会")[0] == "circled"
    assert heading_style("◇ 施策の方向")[0] == "diamond"
    assert heading_style("■ 主な取組")[0] == "square"
    assert heading_style("## 目標") == ("md2", "目標")
    # a sentence is not a heading, even when it starts with a number
    assert heading_style("1 計画は、市の最上位計画として位置付けられるものであり、各分野の施策を示します。") is None


def test_section_path_nests_and_pops():
    doc = _doc("第1章 総論\n1 趣旨\n本文その一。\n(1) 基本構想\n本文その二。\n2 構成\n本文その三。\n第2章 各論\n本文その四。")
    chunks = chunk_document(doc, "d")
    by_text = {c.text.split("\n")[-1]: c.section for c in chunks}
    assert by_text["本文その一。"] == "第1章 総論 > 1 趣旨"
    assert by_text["本文その二。"] == "第1章 総論 > 1 趣旨 > (1) 基本構想"
    assert by_text["本文その三。"] == "第1章 総論 > 2 構成"
    assert by_text["本文その四。"] == "第2章 各論"


def test_heading_stays_with_its_body_and_pages_are_kept():
    body = "あ" * 100 + "。"
    doc = _doc(f"1 趣旨\n{body}\n{body}", f"{body}\n2 次の節\n{body}")
    chunks = chunk_document(doc, "d", target=400)
    for c in chunks:
        assert c.text.strip() and not c.text.endswith("2 次の節")
    assert chunks[0].text.startswith("1 趣旨")
    assert any(c.pages == [1, 2] for c in chunks)
    assert chunks[-1].text.startswith("2 次の節") and chunks[-1].pages == [2]


def test_long_paragraph_splits_at_sentence_ends():
    sentence = "計画の推進にあたっては市民と行政が協働します。"
    doc = _doc("1 推進\n" + sentence * 60)
    chunks = chunk_document(doc, "d", target=400, maximum=600)
    assert len(chunks) > 2
    for c in chunks:
        assert len(c.text) <= 700
        body = c.text.replace("1 推進\n", "")
        assert body.endswith("。")


def test_table_rows_never_split_and_records_are_one_chunk_each():
    table = "\n".join(f"| 指標{i} | {i}0% | 担当課{i} |" for i in range(40))
    doc = _doc("## 指標\n" + table, records=[Record("番号: 1\n意見: 長い意見" + "。" * 900, 1, 1),
                                            Record("番号: 2\n意見: 短い", 1, 2)])
    chunks = chunk_document(doc, "d")
    rows = [line for c in chunks if not c.is_record for line in c.text.split("\n") if line.startswith("|")]
    assert len(rows) == 40 and all(r.endswith("|") for r in rows)
    recs = [c for c in chunks if c.is_record]
    assert [r.section for r in recs] == ["1行目", "2行目"]
    assert len(recs[0].text) > 900


def test_chunk_from_ocr_pages_carries_the_lowest_confidence_and_records_none():
    body = "市民協働を推進します。" * 3
    pages = [Page(1, f"1 趣旨\n{body}"), Page(2, body, note="OCR (confidence 0.91)", ocr_confidence=0.91),
             Page(3, f"2 推進\n{body}", note="OCR (confidence 0.72, turned 90°)", ocr_confidence=0.72),
             Page(4, f"3 評価\n{body}")]
    doc = LoadedDocument("scan.pdf", "pdf", pages, [Record("番号: 1\n意見: 賛成", 2, 1)])
    by_pages = {tuple(c.pages): c.ocr for c in chunk_document(doc, "d", target=400)}
    assert by_pages == {(1, 2): 0.91, (3,): 0.72, (4,): None, (2,): None}  # the last: the record on "page 2"
