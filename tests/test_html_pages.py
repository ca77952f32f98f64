"""HTML web editions of printed plans: citations give the printed page (`data-pageno`)."""

from __future__ import annotations

from pathlib import Path

from ingest.chunk import chunk_document
from ingest.load import load_file

WEB_EDITION = """<html><head><title>第6次計画（案）</title></head><body><main>
<h2><span data-pageno="3">第1部　総論</span></h2>
<p><span data-pageno="3">本計画は強い危機感に基づいている。</span><span data-pageno="3">三つの危機に直面している。</span></p>
<p><span data-pageno="4">計画期間は概ね2030年までとする。</span></p>
<table><tr><th data-pageno="4">指標</th><th data-pageno="4">目標</th></tr>
<tr><td data-page="5">再エネ比率</td><td data-page="5">36%</td></tr></table>
<ol class="footnotes"><li data-footnoteno="1"><span data-pageno="3">注記の本文。</span></li></ol>
</main></body></html>"""


def test_printed_pages_become_the_pages_of_the_document(tmp_path: Path):
    path = tmp_path / "web_edition.html"
    path.write_text(WEB_EDITION, encoding="utf-8")
    doc = load_file(path)
    by_page: dict[int, str] = {}
    for page in doc.pages:
        by_page[page.number] = by_page.get(page.number, "") + page.text
    assert "危機感" in by_page[3] and "2030年" in by_page[4] and "再エネ比率" in by_page[5]
    assert "2030年" not in by_page[3]
    assert doc.pages[-1].number == 3 and "注記" in doc.pages[-1].text  # a footnote keeps its page
    chunks = chunk_document(doc, "web_edition", target=40, maximum=60)
    period = next(c for c in chunks if "2030年" in c.text)
    assert period.pages == [4] and "総論" in period.section


def test_html_without_page_markers_is_page_one(tmp_path: Path):
    path = tmp_path / "plain.html"
    path.write_text("<html><body><h1>計画</h1><p>本文です。</p></body></html>", encoding="utf-8")
    assert [p.number for p in load_file(path).pages] == [1]
