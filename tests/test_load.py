"""Loading real files: what comes out of each format, and the one-line errors for bad files."""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from assistant.errors import TooLarge, UnreadableDocument, UnsupportedFormat
from ingest.load import SUPPORTED_SUFFIXES, iter_files, load_file
from ingest.normalize import japanese_ratio

SHARED = Path(__file__).resolve().parents[2] / "shared"
KANGXI = re.compile("[\u2e80-\u2eff\u2f00-\u2fdf]")
BROKEN_NEWSLETTERS = ["2020-09", "2021-02", "2022-01", "2023-10", "2024-05"]


def shared_file(rel: str) -> Path:
    path = SHARED / rel
    if not path.exists():
        pytest.skip(f"{path} is absent: the corpus lives in ../shared next to the repository")
    return path


def make_pdf(path: Path, pages: list[list[str]], title: str | None = None) -> Path:
    """A real PDF with Japanese text in a CID font, one list of lines per page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
    c = canvas.Canvas(str(path), pagesize=A4)
    if title:
        c.setTitle(title)
    for lines in pages:
        c.setFont("HeiseiKakuGo-W5", 10.5)
        for i, line in enumerate(lines):
            c.drawString(60, 800 - 16 * i, line)
        c.showPage()
    c.save()
    return path


def encrypt(src: Path, dst: Path, password: str) -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(src))
    writer.encrypt(password, algorithm="AES-256")
    with dst.open("wb") as f:
        writer.write(f)
    return dst


PLAN_PAGES = [
    [
        "第1章 総論",
        "1 計画策定の趣旨",
        "平成 17 年４月１日に合併して誕生した新しい市では、将来都市像の実現に向け",
        "各種施策を展開しています。",
        "- 1 -",
    ],
    ["第1章 総論", "2 計画の期間", "令和４年度から令和８年度までを計画期間とします。", "- 2 -"],
    ["第1章 総論", "3 計画の構成", "基本構想、基本計画、実施計画から構成されています。", "- 3 -"],
    ["第1章 総論", "4 策定体制", "企画課長を幹事長とし、市長が任命した課長職から構成します。", "- 4 -"],
]


# --- PDF -----------------------------------------------------------------------------


def test_pdf_pages_are_normalised_and_running_lines_stripped(tmp_path: Path) -> None:
    doc = load_file(make_pdf(tmp_path / "plan.pdf", PLAN_PAGES, title="テスト市総合計画"))
    assert doc.kind == "pdf" and [p.number for p in doc.pages] == [1, 2, 3, 4]
    assert all(p.status == "ok" for p in doc.pages)
    first = doc.pages[0].text
    assert first.split("\n") == [
        "1 計画策定の趣旨",
        "平成17年4月1日に合併して誕生した新しい市では、将来都市像の実現に向け各種施策を展開しています。",
    ]
    assert not any("総論" in p.text or "- " in p.text for p in doc.pages)
    assert doc.title == "テスト市総合計画"


def test_pdf_title_is_what_page_one_prints_largest_with_its_subtitle(tmp_path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
    path = tmp_path / "cover.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setTitle("地域防災計画書")  # the series' title in the metadata, the same for every volume
    c.setFont("HeiseiKakuGo-W5", 36)
    c.drawString(60, 700, "みどり村地域防災計画")
    c.setFont("HeiseiKakuGo-W5", 26)
    c.drawString(60, 650, "（資料編）")
    c.setFont("HeiseiKakuGo-W5", 11)
    for i, line in enumerate(["令和２年３月", "みどり村防災会議", "この計画は、災害対策基本法に基づき作成する。"]):
        c.drawString(60, 600 - 16 * i, line)
    c.showPage()
    c.save()
    assert load_file(path).title == "みどり村地域防災計画(資料編)"
    # one type size throughout: the metadata title, then the first heading line
    assert load_file(make_pdf(tmp_path / "m.pdf", PLAN_PAGES, title="テスト市総合計画")).title == "テスト市総合計画"


def test_pdf_title_falls_back_to_first_heading_line(tmp_path: Path) -> None:
    pages = [["第二次テスト市総合計画", "令和2年10月", "本文です。"]]
    assert load_file(make_pdf(tmp_path / "t.pdf", pages)).title == "第二次テスト市総合計画"


def test_aes_encrypted_pdf_with_empty_password_is_read(tmp_path: Path) -> None:
    src = make_pdf(tmp_path / "plain.pdf", PLAN_PAGES)
    doc = load_file(encrypt(src, tmp_path / "aes.pdf", ""))
    assert "企画課長を幹事長" in doc.text


def test_pdf_needing_a_password_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    src = make_pdf(tmp_path / "plain.pdf", PLAN_PAGES)
    with pytest.raises(UnreadableDocument, match="パスワード") as err:
        load_file(encrypt(src, tmp_path / "locked.pdf", "secret"))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("keep", [0.5, 0.1])
def test_truncated_pdf_is_unreadable(tmp_path: Path, keep: float) -> None:
    data = make_pdf(tmp_path / "full.pdf", PLAN_PAGES).read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(UnreadableDocument, match="壊れているか途中で切れています"):
        load_file(cut)


def scanned_page(c, tmp_path: Path) -> None:
    from PIL import Image

    image = tmp_path / "scan.png"
    Image.new("RGB", (200, 100), "gray").save(image)
    c.drawImage(str(image), 50, 500, 400, 200)
    c.showPage()


@pytest.fixture
def no_ocr(monkeypatch):
    """Without tesseract (the OCR path itself is tests/test_ocr.py)."""
    from ingest.readers import ocr

    monkeypatch.setattr(ocr, "ocr_available", lambda: False)


def test_pdf_without_text_layer_is_returned_with_a_warning(tmp_path: Path, no_ocr) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    scanned_page(c, tmp_path)
    for i in range(40):  # text turned into outlines
        c.line(50, 100 + 10 * i, 400, 100 + 10 * i)
    c.showPage()
    c.showPage()  # a blank page
    c.save()
    doc = load_file(path)
    assert [(p.status, p.text) for p in doc.pages] == [
        ("no_text_layer", ""),
        ("no_text_layer", ""),
        ("empty", ""),
    ]
    assert doc.pages[0].note == "no text layer (needs OCR)"
    assert len(doc.warnings) == 2 and "OCR をかけてから再投入してください" in doc.warnings[0]
    assert "apt-get install tesseract-ocr tesseract-ocr-jpn" in doc.warnings[1]


def test_pdf_with_some_scanned_pages_names_them_once(tmp_path: Path, no_ocr) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
    path = tmp_path / "mixed.pdf"
    c = canvas.Canvas(str(path))
    for n in range(1, 6):
        if n in (2, 3, 5):
            scanned_page(c, tmp_path)
        else:
            c.setFont("HeiseiKakuGo-W5", 10.5)
            c.drawString(60, 700, f"第{n}頁の本文です。市民協働を推進します。")
            c.showPage()
    c.save()
    doc = load_file(path)
    assert [p.status for p in doc.pages] == ["ok", "no_text_layer", "no_text_layer", "ok", "no_text_layer"]
    assert len(doc.warnings) == 2 and "OCR" in doc.warnings[0] and doc.warnings[0].endswith(": ページ 2-3, 5")
    assert "tesseract" in doc.warnings[1]


def test_pdf_is_sniffed_by_magic_whatever_the_extension(tmp_path: Path) -> None:
    data = make_pdf(tmp_path / "plan.pdf", PLAN_PAGES).read_bytes()
    odd = tmp_path / "plan.txt"
    odd.write_bytes(data)
    doc = load_file(odd)
    assert doc.kind == "pdf" and "企画課長を幹事長" in doc.text and doc.warnings


def test_pdf_extension_without_pdf_content_is_unreadable(tmp_path: Path) -> None:
    fake = tmp_path / "fake.pdf"
    fake.write_text("これはPDFではありません", encoding="utf-8")
    with pytest.raises(UnreadableDocument, match="PDF"):
        load_file(fake)


# --- refusals ------------------------------------------------------------------------


def test_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.pdf"
    with huge.open("wb") as f:
        f.truncate(300 * 1024 * 1024)  # sparse: no data blocks
    start = time.perf_counter()
    with pytest.raises(TooLarge, match="300 MB"):
        load_file(huge)
    assert time.perf_counter() - start < 0.5


def test_size_limit_is_configurable(tmp_path: Path) -> None:
    small = tmp_path / "a.txt"
    small.write_text("計画" * 1000, encoding="utf-8")
    with pytest.raises(TooLarge):
        load_file(small, max_bytes=1000)
    assert load_file(small, max_bytes=10_000).pages


def test_empty_file_is_unreadable(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(UnreadableDocument, match="空のファイル"):
        load_file(empty)


def test_binary_garbage_with_txt_extension_is_unreadable(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_bytes(bytes(range(256)) * 32)
    with pytest.raises(UnreadableDocument, match="テキストとして読めません"):
        load_file(junk)


def test_unsupported_format_lists_what_is_supported(tmp_path: Path) -> None:
    docx = tmp_path / "plan.docx"
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(UnsupportedFormat) as err:
        load_file(docx)
    message = str(err.value)
    assert "PDF で保存" in message and all(s in message for s in SUPPORTED_SUFFIXES)
    assert "\n" not in message


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableDocument, match="見つかりません"):
        load_file(tmp_path / "nothing.pdf")


# --- text ----------------------------------------------------------------------------

JAPANESE = "第二次佐久市総合計画\n１ 計画策定の趣旨\n平成 17 年に合併しました。企画課長を幹事長とします。\n"


@pytest.mark.parametrize("encoding", ["shift_jis", "cp932", "euc_jp", "utf-8", "utf-8-sig", "utf-16"])
def test_text_encodings_are_detected(tmp_path: Path, encoding: str) -> None:
    text = JAPANESE + ("①②の髙橋さん\n" if encoding == "cp932" else "")
    path = tmp_path / f"{encoding}.txt"
    path.write_bytes(text.encode(encoding))
    doc = load_file(path)
    assert doc.kind == "text"
    assert "平成17年に合併しました。企画課長を幹事長とします。" in doc.text
    assert "1 計画策定の趣旨" in doc.text.split("\n")
    if encoding == "cp932":
        assert "①②の髙橋さん" in doc.text


def test_short_euc_jp_is_not_mistaken_for_half_width_katakana(tmp_path: Path) -> None:
    path = tmp_path / "short.txt"
    path.write_bytes("あいうえお、かきくけこ。".encode("euc_jp"))
    assert load_file(path).text == "あいうえお、かきくけこ。"


def test_form_feeds_split_pages(tmp_path: Path) -> None:
    path = tmp_path / "paged.txt"
    path.write_text("一頁目です。\f二頁目です。\f三頁目です。\f", encoding="utf-8")
    doc = load_file(path)
    assert [(p.number, p.text) for p in doc.pages] == [
        (1, "一頁目です。"),
        (2, "二頁目です。"),
        (3, "三頁目です。"),
    ]


def test_markdown_keeps_headings(tmp_path: Path) -> None:
    path = tmp_path / "plan.md"
    path.write_text("# 計画の概要\n\n本文です。\n\n## 第1章 総論\n\n- 項目\n", encoding="utf-8")
    doc = load_file(path)
    assert doc.kind == "markdown" and doc.title == "計画の概要"
    assert doc.pages[0].text.split("\n") == [
        "# 計画の概要",
        "",
        "本文です。",
        "",
        "## 第1章 総論",
        "",
        "- 項目",
    ]


# --- tables --------------------------------------------------------------------------


def test_cp932_csv_with_multiline_quoted_cell(tmp_path: Path) -> None:
    path = tmp_path / "comments.csv"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerows(
        [
            ["番号", "意見", "回答"],
            ["1", "一行目の意見\r\n二行目の意見", "ご意見ありがとうございます。"],
            ["", "", ""],
            ["3", "①について", ""],
        ]
    )
    path.write_bytes(buf.getvalue().encode("cp932"))
    doc = load_file(path)
    assert doc.kind == "csv" and not doc.pages
    assert [(r.row, r.page) for r in doc.records] == [(1, 1), (3, 1)]
    assert (
        doc.records[0].text == "番号: 1\n意見: 一行目の意見\n二行目の意見\n回答: ご意見ありがとうございます。"
    )
    assert doc.records[1].text == "番号: 3\n意見: ①について"


def test_xlsx_one_record_per_row_with_sheet_name(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "施策一覧"
    ws.append(["施策", "目標値", "期限"])
    ws.append(["移住促進", 120.0, datetime(2026, 3, 31)])
    ws.append([None, None, None])
    ws.append(["子育て支援", "ＰＤＣＡ", None])
    budget = wb.create_sheet("予算")
    budget.append(["事業", "金額"])
    budget.append(["道路改良", 1500])
    path = tmp_path / "plan.xlsx"
    wb.save(path)
    doc = load_file(path)
    assert doc.kind == "xlsx"
    assert [(r.page, r.row) for r in doc.records] == [(1, 1), (1, 3), (2, 1)]
    assert doc.records[0].text == "シート: 施策一覧\n施策: 移住促進\n目標値: 120\n期限: 2026-03-31"
    assert doc.records[1].text == "シート: 施策一覧\n施策: 子育て支援\n目標値: PDCA"
    assert doc.records[2].text == "シート: 予算\n事業: 道路改良\n金額: 1500"


def test_corrupt_xlsx_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(UnreadableDocument, match="XLSX"):
        load_file(path)


# --- HTML ----------------------------------------------------------------------------

HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>テスト計画（案）</title>
<script>alert(1)</script><style>p { color: red }</style></head>
<body>
<nav><a href="/">ホーム</a> | <a href="/map">サイトマップ</a></nav>
<h1>テスト計画</h1>
<h2 id="s1"><span data-pageno="6">第1部 <em>環境</em>・経済</span></h2>
<p><span>本文の</span><span>段落です</span><span class="footnote-mark">12</span>。<script>document.write("evil")</script></p>
<h3><span>1 現下の危機と 2030 年の重要性</span></h3>
<div role="heading" aria-level="7" id="x"><span>(ア) 未然防止原則</span></div>
<div role="heading"><span>（基本的な考え方）</span></div>
<div role="heading"><span>（具体的な施策）</span></div>
<table><tr><td>a|b</td><td>c</td></tr></table>
<ul><li>項目A</li><li>項目<b>B</b></li></ul>
<table><caption>表1 目標</caption><tr><th>年度</th><th>目標</th></tr><tr><td>2025</td><td>100 件</td></tr></table>
<p hidden>隠し段落</p>
<!-- コメント -->
<footer>Copyright テスト市</footer>
</body></html>"""


def test_html_becomes_markdown_ish_lines_without_scripts(tmp_path: Path) -> None:
    path = tmp_path / "plan.html"
    path.write_text(HTML, encoding="utf-8")
    doc = load_file(path)
    assert doc.kind == "html" and doc.title == "テスト計画(案)"
    assert [p.number for p in doc.pages] == [1, 6]  # unmarked text before the first printed page is page 1
    assert doc.text.split("\n") == [
        "# テスト計画",
        "## 第1部 環境・経済",
        "本文の段落です。",
        "### 1 現下の危機と2030年の重要性",
        "####### (ア)未然防止原則",
        "######## (基本的な考え方)",
        "######## (具体的な施策)",
        "| a¦b | c |",
        "・項目A",
        "・項目B",
        "表1目標",
        "| 年度 | 目標 |",
        "| 2025 | 100件 |",
    ]
    for chrome in ("alert", "evil", "color", "ホーム", "Copyright", "隠し", "コメント", "12"):
        assert chrome not in doc.text


def test_cp932_html_without_meta_charset(tmp_path: Path) -> None:
    path = tmp_path / "old.htm"
    path.write_bytes("<html><body><h1>旧い計画</h1><p>本文です。</p></body></html>".encode("cp932"))
    doc = load_file(path)
    assert doc.title == "旧い計画" and doc.pages[0].text == "# 旧い計画\n本文です。"


# --- iter_files ----------------------------------------------------------------------


def test_iter_files_recursive_sorted_skipping_hidden(tmp_path: Path) -> None:
    for rel in ["b.pdf", "a/c.txt", "a/d.csv", ".hidden.txt", ".git/e.txt", "a/.cache/f.md", "notes.docx"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x", encoding="utf-8")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path])]
    assert found == ["a/c.txt", "a/d.csv", "b.pdf"]
    explicit = tmp_path / "notes.docx"
    assert list(iter_files([explicit])) == [explicit]  # named files are passed on, to be reported


# --- the corpus ----------------------------------------------------------------------


@pytest.mark.corpus
@pytest.mark.parametrize("issue", BROKEN_NEWSLETTERS)
def test_broken_newsletters_come_out_as_japanese(issue: str) -> None:
    doc = load_file(shared_file(f"corpus/otoineppu/kouhou/{issue}.pdf"))
    text_pages = [p for p in doc.pages if p.status == "ok"]
    assert len(text_pages) == len(doc.pages) == 12
    assert not [p.number for p in doc.pages if p.status == "garbled"]
    full_pages = [p for p in text_pages if len(p.text) > 200]
    assert full_pages and all(japanese_ratio(p.text) >= 0.5 for p in full_pages)
    assert japanese_ratio(doc.text) >= 0.7
    assert sum(p.note in ("extracted with pypdfium2", "text ordered by position") for p in doc.pages) >= 8


@pytest.mark.corpus
def test_clean_newsletter_stays_with_pypdf() -> None:
    doc = load_file(shared_file("corpus/otoineppu/kouhou/2024-06.pdf"))
    assert doc.pages and all(p.status == "ok" for p in doc.pages)
    assert sum(p.note == "extracted with pypdfium2" for p in doc.pages) <= 3
    assert "広報おといねっぷ" in doc.text


@pytest.mark.corpus
@pytest.mark.slow
def test_word_pdf_radicals_are_folded() -> None:
    doc = load_file(shared_file("corpus/otoineppu/R7shinseitebiki_kensetukouzi.pdf"))
    assert not KANGXI.search(doc.text)
    assert "入札参加資格" in doc.text and "目次" in doc.text


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["R03hinannpoint.pdf", "R4rakuhyousetsujikoboushi.pdf"])
def test_image_only_pdfs_report_no_text_layer(name: str, no_ocr) -> None:
    doc = load_file(shared_file(f"corpus/otoineppu/{name}"))
    assert doc.pages and all(p.status == "no_text_layer" and p.text == "" for p in doc.pages)
    assert any("OCR をかけてから再投入してください" in w for w in doc.warnings)


@pytest.mark.corpus
def test_typeset_fixture_pdf() -> None:
    doc = load_file(shared_file("fixtures/saku_houshin_typeset.pdf"))
    assert doc.pages and all(p.status == "ok" for p in doc.pages)
    assert "希望をかなえ" in doc.text and "選ばれるまち" in doc.text
    assert "平成17年" in doc.text and "平成 17 年" not in doc.text
    assert "企画課長を幹事長" in doc.text


@pytest.mark.corpus
def test_saku_text_gets_pages_and_clean_numbers() -> None:
    doc = load_file(shared_file("corpus/saku/saku_kouki_kihonkeikaku_sakutei_houshin.txt"))
    assert 8 <= len(doc.pages) <= 12
    numbers = [p.number for p in doc.pages]
    assert numbers == sorted(set(numbers)) and numbers[0] == 1
    assert "平成17年" in doc.text and "平成 17 年" not in doc.text
    assert "企画課長を幹事長" in doc.text
    assert "・・・・" not in doc.text
    assert "(1)基本構想" in doc.text.split("\n")


@pytest.mark.corpus
def test_env6_html_headings_and_footnotes() -> None:
    doc = load_file(shared_file("corpus/env6/env6_plan_an.html"))
    lines = doc.text.split("\n")
    assert len({p.number for p in doc.pages}) > 100  # one page per printed page (data-pageno)
    assert doc.title == "第六次環境基本計画(案)"
    assert "## 第1部 環境・経済・社会の状況と環境政策の展開の方向" in lines
    assert "### 第1章 環境・経済・社会の現状と課題認識" in lines
    assert any(line.startswith("####### ") for line in lines)
    assert "特異な状況が常態化" in doc.text  # the footnote mark "2" is not glued into the text
    assert "## 脚注" in lines and any(line.startswith("注1: ") for line in lines)
    assert "prepareTOC" not in doc.text


@pytest.mark.corpus
def test_env6_comments_csv_one_record_per_row() -> None:
    path = shared_file("corpus/env6/env6_public_comments_and_replies.csv")
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))[1:]
    doc = load_file(path)
    assert len(doc.records) == len(rows)
    first = doc.records[0]
    assert first.row == 1 and first.text.startswith(
        "plan_edition: 第五次環境基本計画\nid: 1\ncomment: P2 L22\n"
    )


def test_a_periodical_is_titled_with_the_issue_its_cover_names(tmp_path: Path) -> None:
    from ingest.meta import build_meta

    cover = ["広報みどり", "令和六年六月第五九七号", "特集 みどり村の防災訓練", "本文です。"]
    path = make_pdf(tmp_path / "k.pdf", [cover, ["2ページ目の本文です。"]], title="広報みどり")
    assert build_meta(load_file(path), path, "k", {}).title == "広報みどり 令和六年六月第五九七号"
    monthly = make_pdf(tmp_path / "m.pdf", [["議会だより", "2024年6月号", "本文です。"]], title="議会だより")
    assert build_meta(load_file(monthly), monthly, "m", {}).title == "議会だより 2024年6月号"
    # a plan that cites a law's number on its cover is no periodical; a title from the manifest stands
    plan = make_pdf(tmp_path / "p.pdf", [["みどり村行動計画", "法律第64号に基づく計画", "本文です。"]],
                    title="みどり村行動計画")
    assert build_meta(load_file(plan), plan, "p", {}).title == "みどり村行動計画"
    assert build_meta(load_file(path), path, "k", {"title": "広報"}).title == "広報"
