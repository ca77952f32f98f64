"""PDF → one `Page` per page, with a status: "ok", "empty" (blank), "no_text_layer" (a scan or
outlined text: needs OCR) or "garbled" (a broken font map). Only "ok" pages carry text.

A PDF without a text layer is not an error here: its pages come back with status
"no_text_layer" and a warning, so a reviewer can still look at the rest; the indexer refuses a
PDF in which no page has text (`needs_ocr`).

Pages without a text layer are read by OCR (`ingest.readers.ocr`, tesseract) when the engine is
installed, and only those pages: a page read at or above `OCR_CONFIDENCE_FLOOR` becomes "ok"
with the note "OCR (confidence 0.93…)"; one below it, or one on which the engine crashed, stays
"no_text_layer" and is named in a warning with its confidence or the error, and the rest of the
file is read as usual. Without tesseract the pages stay "no_text_layer" and a warning says what
to install.

Text comes from pypdf, page by page. Where a page comes out as mojibake (see
`normalize.page_quality`) or with CJK radical code points, it is extracted again with
pypdfium2 and the better text is kept (note "extracted with pypdfium2"). Measured on
corpus/otoineppu/kouhou/*.pdf, share of non-space characters that are Japanese, whole
file, pypdf → pypdfium2:

    2020-09  0.21 → 0.87    2021-02  0.29 → 0.83    2022-01  0.12 → 0.90
    2023-10  0.41 → 0.82    2024-05  0.07 → 0.78    2024-06 (clean issue)  0.73 → 0.73

pypdf leaves 44 of those 60 pages garbled, pypdfium2 none, and pypdfium2 is 3–5× faster.
pdfminer.six also decodes them but is not a dependency.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pypdfium2
import pypdfium2.raw as pdfium_c
from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError

from assistant.errors import UnreadableDocument
from assistant.types import LoadedDocument, Page
from ingest.normalize import (
    japanese_ratio,
    normalize_text,
    overprint_ratio,
    page_quality,
    strip_running_lines,
    suspect_ratio,
)
from ingest.readers import first_heading, ocr, page_labels, page_ranges, pdf_actions, vertical
from ingest.readers.pdf_tables import add_table_records

log = logging.getLogger(__name__)
T = TypeVar("T")

# A page with more than 0.5 % mojibake characters (1 in 200) is extracted again with pypdfium2;
# far below `GARBLED_RATIO`, as a page with a few broken fonts among good ones is worth a retry.
# Measured with pypdf on the 603 readable pages of ../shared/corpus/**/*.pdf: 586 have none,
# 4 have 0.0007–0.0035 (stray symbols), 13 have 0.0066–0.19 (broken fonts) and are retried.
RETRY_SUSPECT_RATIO = 0.005
# When comparing two extractions, a mojibake character costs twice what a Japanese one earns.
SUSPECT_PENALTY = 2
# A page whose pypdf text repeats runs of text (`overprint_ratio`: fake bold drawn 3–4 times) above this
# share is extracted again with pypdfium2, which reads overprinted characters once; a repeated character
# costs what a Japanese one earns. On the 431 pages of ../shared/corpus (nankoku/ left out): 20 pages of two
# village plans have 0.04–0.35 with pypdf and 0.00–0.05 with pypdfium2; table pages that repeat a header
# or a column have the same share either way (up to 0.15), so only the difference decides.
RETRY_OVERPRINT_RATIO = 0.02
OVERPRINT_PENALTY = 1
# A page without text objects but with 20+ path objects is drawn (outlined text, a map, a
# chart), so it needs OCR rather than being blank; a few paths are just rules and frames. In
# ../shared/corpus the 9 pages without text objects have either 0 paths (blank) or 931–1,651.
DRAWING_PATHS = 20
# The /Title in the PDF's metadata is used only when at least 30 % Japanese: authoring tools
# leave "Microsoft Word - 001.docx", "untitled", "PowerPoint Presentation" there.
METADATA_TITLE_MIN_JAPANESE = 0.3

# Text rebuilt in reading order (`vertical`) replaces the extracted text unless it is less Japanese by
# more than this: it drops overprinted duplicates, so it may score 0.01 below (corpus newsletters).
ORDERED_QUALITY_MARGIN = 0.05

# A page's largest type is its title when it is at least this times the size most of its text is set in. On
# the first pages of the corpus PDFs (nankoku/ left out), titles are 1.4–3× the body (22 pt over 14 pt, 36
# over 11); pages set in one size (議案, minutes, 1-pt type scaled up) give none, and first_heading decides.
TITLE_TYPE_RATIO = 1.3
_SUBTITLE = re.compile(r"[(（][^()（）]{1,14}[)）]")  # （資料編）, （地震災害対策編）
_LEADING_YEAR = re.compile(r"^(?:令和|平成)(?:[0-9]+|元)年度?")

NO_TEXT_NOTE = "no text layer (needs OCR)"  # Page.note, for diagnostics
NEEDS_OCR = (
    "どのページにもテキスト層がありません（画像や図形だけの PDF です）: no text layer on any page。"
    "OCR をかけてから再投入してください"
)

_RADICAL = re.compile("[\u2e80-\u2fdf]")
_TOOL_TITLE = re.compile(r"\.(docx?|xlsx?|pptx?|pdf|indd|jtd)$|^(無題|タイトルなし)", re.IGNORECASE)


def read(path: Path) -> LoadedDocument:
    doc = LoadedDocument(source=str(path), kind="pdf")
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument(
                f"暗号化されたPDFです（パスワードが必要）: {path.name}。パスワードを外してから再投入してください"
            )
        pages = list(reader.pages)
    except UnreadableDocument:
        raise
    except (DependencyError, FileNotDecryptedError) as err:
        raise UnreadableDocument(f"暗号化されたPDFを開けません: {path.name}: {err}") from err
    except Exception as err:  # pypdf raises many types on broken files
        raise UnreadableDocument(_broken(path, err)) from err
    if not pages:
        raise UnreadableDocument(_broken(path, "no pages"))

    fallback = _Pdfium(path)
    raw: list[str] = []
    notes: list[str] = []
    censuses = [fallback.census(i) for i in range(len(pages))]
    for i, page in enumerate(pages):
        text, note, census = "", "", censuses[i]
        if census is None or census[0]:  # pypdf is slow on pages without any text
            try:
                text = page.extract_text() or ""
            except Exception as err:  # noqa: BLE001 - pypdf raises anything on a broken content stream
                log.warning("pypdf failed on %s page %d: %s", path.name, i + 1, err)
        retry = (page_quality(text)[0] != "ok" or suspect_ratio(text) > RETRY_SUSPECT_RATIO
                 or overprint_ratio(text) > RETRY_OVERPRINT_RATIO)
        if retry or _RADICAL.search(text):
            other = fallback.page_text(i)
            if other is not None and _score(other) > _score(text):
                text, note = other, "extracted with pypdfium2"
        ordered = fallback.vertical_text(i) if census is None or census[0] else None
        if ordered is not None and _score(ordered)[:2] >= (True, _score(text)[1] - ORDERED_QUALITY_MARGIN):
            text, note = ordered, "text ordered by position"  # vertical or scrambled text
        raw.append(text)
        notes.append(note)
    cleaned = strip_running_lines([t if page_quality(t)[0] == "ok" else "" for t in raw])
    for i, (text, note) in enumerate(zip(raw, notes)):
        status, reason = page_quality(text)
        census = censuses[i]
        if status == "ok":
            doc.pages.append(Page(i + 1, normalize_text(cleaned[i]), "ok", note))
        elif status == "empty" and census is not None and not census[1]:
            doc.pages.append(Page(i + 1, "", "empty", "blank page"))
        elif status == "empty":
            doc.pages.append(Page(i + 1, "", "no_text_layer", NO_TEXT_NOTE))
        else:
            doc.pages.append(Page(i + 1, "", "garbled", reason))
    tried = _ocr(doc, fallback, path)
    for done, label in zip(doc.pages, page_labels.page_labels(reader, raw)):
        done.label = label  # the printed page number, where it differs from the PDF page
    doc.warnings.extend(_warnings(doc, tried))
    if active := pdf_actions.active_content_warning(reader):  # JavaScript, launch actions: never run
        doc.warnings.append(active)
    add_table_records(doc, path)  # table rows as records (pdf_tables)
    # the title printed largest on page 1 first: metadata titles are often a template's or a series' (two
    # volumes of one plan both say 「地域防災計画書」)
    doc.title = (fallback.largest_type(0) or _metadata_title(reader)
                 or first_heading(doc.pages[0].text if doc.pages else ""))
    fallback.close()
    return doc


def needs_ocr(doc: LoadedDocument) -> bool:
    """No page has text and some have no text layer: a scan, which only OCR can make searchable."""
    return (
        bool(doc.pages)
        and not doc.records
        and not any(p.status == "ok" for p in doc.pages)
        and any(p.status == "no_text_layer" for p in doc.pages)
    )


def _broken(path: Path, detail: object) -> str:
    return f"PDF が壊れているか途中で切れています: {path.name}: {detail}。元のファイルを取り直してください"


def _ocr(doc: LoadedDocument, fallback: _Pdfium, path: Path) -> dict[int, str]:
    """OCR on the pages without a text layer, in place. Returns the pages it tried with why each
    one is still unreadable ("" when it was read), for `_warnings`; {} when nothing was tried."""
    todo = [i for i, p in enumerate(doc.pages) if p.status == "no_text_layer"]
    if not todo or not ocr.ocr_available():
        return {}
    tried: dict[int, str] = {}
    for i in todo:
        number = doc.pages[i].number
        try:  # the engine, the renderer or the image library may fail on one page: not the file
            pdf_page = fallback.page(number - 1)
            if pdf_page is None:
                raise ocr.OcrError("pypdfium2 cannot open the page")
            result = ocr.ocr_page(pdf_page)
        except Exception as err:  # noqa: BLE001 - see above
            log.warning("OCR failed on %s page %d: %s", path.name, number, err)
            tried[number] = f"読み取りエラー: {str(err)[:120]}"
            doc.pages[i] = Page(number, "", "no_text_layer", f"{NO_TEXT_NOTE}; OCR failed: {err}")
            continue
        if not result.text or result.confidence < ocr.OCR_CONFIDENCE_FLOOR:
            tried[number] = f"信頼度 {result.confidence:.2f}" if result.text else "文字なし"
            doc.pages[i] = Page(number, "", "no_text_layer",
                                f"{NO_TEXT_NOTE}; OCR confidence {result.confidence:.2f} below the floor "
                                f"{ocr.OCR_CONFIDENCE_FLOOR:.2f}")
            continue
        how = (", vertical" if result.vertical else "") + (f", turned {result.rotation}°" if result.rotation else "")
        tried[number] = ""
        note = f"{ocr.OCR_NOTE} (confidence {result.confidence:.2f}{how})"
        # rounded as the note and the warning say it; chunks and citations carry it (`Chunk.ocr`)
        doc.pages[i] = Page(number, result.text, "ok", note, ocr_confidence=round(result.confidence, 2))
    return tried


def _warnings(doc: LoadedDocument, tried: dict[int, str]) -> list[str]:
    """The one place that words what went wrong with a PDF's pages, naming the pages. When no
    page has text the first warning is the reason the file cannot be indexed."""
    no_text = [p.number for p in doc.pages if p.status == "no_text_layer" and p.number not in tried]
    garbled = [p.number for p in doc.pages if p.status == "garbled"]
    read = [p for p in doc.pages if p.number in tried and not tried[p.number]]
    failed = ", ".join(f"{n} ({why})" for n, why in tried.items() if why)
    out: list[str] = []
    if failed:
        out.append(f"OCR でも読み取れなかったページは検索できません（信頼度の下限 "
                   f"{ocr.OCR_CONFIDENCE_FLOOR:.2f}）: ページ {failed}")
    if needs_ocr(doc) and not tried:
        out.append(NEEDS_OCR)
    elif not any(p.status == "ok" for p in doc.pages) and not tried:
        out.append("どのページからも文字を取り出せません: 白紙か文字化けしたページだけです")
    elif no_text:
        out.append(f"テキスト層のないページは検索できません（OCR が必要です）: ページ {page_ranges(no_text)}")
    if no_text and not tried:
        out.append(f"OCR エンジン（tesseract）がないため OCR をしていません: {ocr.OCR_INSTALL_HINT}")
    if read:
        low, high = (f(p.note.split("confidence ")[1][:4] for p in read) for f in (min, max))
        out.append(f"OCR で読み取ったページです（誤認識を含むことがあります）: ページ "
                   f"{page_ranges([p.number for p in read])}（信頼度 {low if low == high else f'{low}–{high}'}）")
    if garbled:
        out.append(
            f"文字化けしたページは検索できません（フォントの文字対応表が壊れています）: ページ {page_ranges(garbled)}"
        )
    return out


def _score(text: str) -> tuple[bool, float, bool, int]:
    """Which of two extractions of a page to keep: readable first, then more Japanese and less
    mojibake and overprint, then free of radicals, then longer."""
    ok = page_quality(text)[0] == "ok"
    quality = round(japanese_ratio(text) - SUSPECT_PENALTY * suspect_ratio(text)
                    - OVERPRINT_PENALTY * overprint_ratio(text), 2)
    return ok, quality, not _RADICAL.search(text), len(text)


def _metadata_title(reader: PdfReader) -> str | None:
    try:
        info = reader.metadata
        title = info.get("/Title") if info else None
    except Exception:  # noqa: BLE001 - a broken Info dictionary only costs the title
        return None
    title = normalize_text(str(title or ""), structured=True).replace("\n", " ").strip()
    if len(title) < 2 or japanese_ratio(title) < METADATA_TITLE_MIN_JAPANESE or _TOOL_TITLE.search(title):
        return None
    return title


def _chars_by_size(textpage: pypdfium2.PdfTextPage) -> dict[float, list[str]]:
    """A text page's characters (spaces left out) by font size, in reading order."""
    by_size: dict[float, list[str]] = {}
    for i in range(textpage.count_chars()):
        char = textpage.get_text_range(i, 1)
        if char.strip():
            by_size.setdefault(round(pdfium_c.FPDFText_GetFontSize(textpage.raw, i), 1), []).append(char)
    return by_size


class _Pdfium:
    """pypdfium2 on the same file: the fallback extractor, and a look at what a page is
    made of (text objects, images, paths). Opened on first use; None/unknown on failure."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pdf: pypdfium2.PdfDocument | None = None
        self.failed = False

    def _doc(self) -> pypdfium2.PdfDocument | None:
        if self.pdf is None and not self.failed:
            try:
                self.pdf = pypdfium2.PdfDocument(str(self.path))
            except (pypdfium2.PdfiumError, OSError) as err:
                log.warning("pypdfium2 cannot open %s: %s", self.path.name, err)
                self.failed = True
        return self.pdf

    def page(self, index: int) -> pypdfium2.PdfPage | None:
        pdf = self._doc()
        return None if pdf is None else pdf[index]

    def _read_text(self, index: int, read: Callable[[pypdfium2.PdfTextPage], T]) -> T | None:
        """`read` applied to the page's text page (closed afterwards); None when pdfium fails."""
        pdf = self._doc()
        if pdf is None:
            return None
        try:
            textpage = pdf[index].get_textpage()
            try:
                return read(textpage)
            finally:
                textpage.close()
        except (pypdfium2.PdfiumError, IndexError) as err:
            log.warning("pypdfium2 failed on %s page %d: %s", self.path.name, index + 1, err)
            return None

    def page_text(self, index: int) -> str | None:
        return self._read_text(index, lambda textpage: str(textpage.get_text_range()))

    def vertical_text(self, index: int) -> str | None:
        """The page in reading order when it holds vertical text (`vertical.page_text`), else None."""
        pdf = self._doc()
        if pdf is None:
            return None
        try:
            return vertical.page_text(pdf[index])
        except (pypdfium2.PdfiumError, IndexError) as err:
            log.warning("pypdfium2 failed on %s page %d: %s", self.path.name, index + 1, err)
            return None

    def census(self, index: int) -> tuple[bool, bool] | None:
        """(has text objects, has an image or a drawing), or None when unknown."""
        pdf = self._doc()
        if pdf is None:
            return None
        try:
            text, paths, image = False, 0, False
            for obj in pdf[index].get_objects(max_depth=3):
                text = text or obj.type == pdfium_c.FPDF_PAGEOBJ_TEXT
                paths += obj.type == pdfium_c.FPDF_PAGEOBJ_PATH
                image = image or obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE
                if text and (image or paths >= DRAWING_PATHS):
                    break
            return text, image or paths >= DRAWING_PATHS
        except (pypdfium2.PdfiumError, IndexError):
            return None

    def largest_type(self, index: int) -> str | None:
        """The page's title as a reader sees it: its text set in the largest type, when that type is at least
        TITLE_TYPE_RATIO times the size most of the page is set in and it reads as a title (see
        `first_heading`); a bracketed subtitle in the next size is kept with it (「…地域防災計画（資料編）」)."""
        by_size = self._read_text(index, _chars_by_size)
        if not by_size:
            return None
        body = max(by_size, key=lambda s: len(by_size[s]))
        sizes = sorted((s for s in by_size if s >= TITLE_TYPE_RATIO * body), reverse=True)
        if not sizes:
            return None
        title = normalize_text("".join(by_size[sizes[0]]), structured=True).replace("\n", "").strip()
        undated = _LEADING_YEAR.sub("", title)  # 「令和7年度…発注見通し」: a title that starts with its year
        if first_heading(undated) != undated:
            return None
        smaller = sorted((s for s in by_size if s < sizes[0]), reverse=True)
        if smaller:
            sub = normalize_text("".join(by_size[smaller[0]]), structured=True).replace("\n", "").strip()
            if _SUBTITLE.fullmatch(sub):
                title += sub
        return title

    def close(self) -> None:
        if self.pdf is not None:
            self.pdf.close()
