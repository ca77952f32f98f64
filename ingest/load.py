"""Files → pages of normalised text (PDF, HTML, text, Markdown) or table records (CSV, XLSX).

`load_file` is the only entry point; it raises `UnsupportedFormat`, `TooLarge` or
`UnreadableDocument` with a one-line reason that says what to do. A PDF without a text
layer is not an error: its pages come back with status "no_text_layer" and a warning.

PDF text comes from pypdf, page by page. Where a page comes out as mojibake (see
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

import csv
import io
import logging
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pypdfium2
import pypdfium2.raw as pdfium_c
from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString
from charset_normalizer import from_bytes
from openpyxl import load_workbook
from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError

from assistant.errors import TooLarge, UnreadableDocument, UnsupportedFormat
from assistant.types import LoadedDocument, Page, Record
from ingest.normalize import (
    is_heading_line,
    japanese_ratio,
    normalize_text,
    page_quality,
    strip_running_lines,
    suspect_ratio,
    undouble_spacing,
)

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES: tuple[str, ...] = (".pdf", ".html", ".htm", ".txt", ".md", ".csv", ".xlsx")
_KIND = {
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".md": "markdown",
    ".csv": "csv",
    ".xlsx": "xlsx",
}
_HINTS = {
    ".docx": "PDF で保存してから",
    ".doc": "PDF で保存してから",
    ".xls": ".xlsx で保存してから",
    ".pptx": "PDF で保存してから",
    ".rtf": "PDF で保存してから",
}
NO_TEXT_NOTE = "no text layer (needs OCR)"
_RADICAL = re.compile("[\u2e80-\u2fdf]")
_LEADER_LINE = re.compile(r"^[ \u3000]*[・･]{6,}[ \u3000]*$")
_LONE_NUMBER = re.compile(r"^[ \u3000]*([0-9０-９]{1,3})[ \u3000]*$")
_DATEISH = re.compile(r"^[(（]?[令平昭]和?.{0,4}年|^\d{4}[年./-]|^[\d\s.,/-]+$")


def iter_files(paths: list[Path], supported_only: bool = True) -> Iterator[Path]:
    """Files to load: explicit files as given, directories recursively (sorted, hidden files
    and folders skipped; with `supported_only`, files of other types skipped too)."""
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                rel = found.relative_to(path).parts
                if any(part.startswith(".") for part in rel):
                    continue
                if found.is_file() and (found.suffix.lower() in SUPPORTED_SUFFIXES or not supported_only):
                    yield found
        else:
            yield path


def load_file(path: str | Path, max_bytes: int = 200 * 1024 * 1024) -> LoadedDocument:
    """Load one file. See the module docstring for what comes back and what is raised."""
    path = Path(path)
    if path.is_dir():
        raise UnreadableDocument(f"フォルダです: {path}: 中のファイルを指定してください")
    if not path.is_file():
        raise UnreadableDocument(f"ファイルが見つかりません: {path}: パスを確認してください")
    size = path.stat().st_size  # before reading anything
    if size > max_bytes:
        raise TooLarge(
            f"ファイルが大きすぎます ({size / 2**20:.0f} MB、上限 {max_bytes / 2**20:.0f} MB): "
            f"{path.name} を分割してから再投入してください"
        )
    if size == 0:
        raise UnreadableDocument(f"空のファイルです: {path.name}: 中身のあるファイルを投入してください")
    with path.open("rb") as f:
        head = f.read(1024)
    suffix = path.suffix.lower()
    kind = "pdf" if b"%PDF-" in head else _KIND.get(suffix)
    if kind is None:
        hint = _HINTS.get(suffix, "対応形式に変換してから")
        raise UnsupportedFormat(
            f"対応していない形式です ({suffix or '拡張子なし'}): {hint}再投入してください"
            f"（対応形式: {', '.join(SUPPORTED_SUFFIXES)}）"
        )
    doc = LoadedDocument(source=str(path), kind=kind)
    if kind == "pdf":
        if suffix != ".pdf":
            doc.warnings.append(f"拡張子は {suffix} ですが中身は PDF なので PDF として読みました")
        _load_pdf(path, doc)
    elif suffix == ".pdf":
        raise UnreadableDocument(
            f"PDF ではありません (%PDF- ヘッダなし): {path.name}: ファイルを確認してください"
        )
    elif kind == "xlsx":
        _load_xlsx(path, doc)
    else:
        text = _decode(path.read_bytes(), path.name)
        if kind == "csv":
            _load_csv(text, doc)
        elif kind == "html":
            title, body = _html_to_text(text)
            doc.title = title
            doc.pages = [Page(1, normalize_text(body, structured=True))]
        else:
            _load_text(text, doc)
        if not doc.records and not any(p.text for p in doc.pages):
            raise UnreadableDocument(f"テキストがありません: {path.name}: 中身を確認してください")
    return doc


# --- PDF ----------------------------------------------------------------------------


def _load_pdf(path: Path, doc: LoadedDocument) -> None:
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument(
                f"暗号化されたPDFです（パスワードが必要）: {path.name}: パスワードを外してから再投入してください"
            )
        pages = list(reader.pages)
    except UnreadableDocument:
        raise
    except (DependencyError, FileNotDecryptedError) as err:
        raise UnreadableDocument(f"暗号化されたPDFを開けません: {path.name}: {err}") from err
    except Exception as err:  # pypdf raises many types on broken files
        raise UnreadableDocument(
            f"PDF is corrupt or truncated: {path.name}: {err}: 元のファイルを取り直してください"
        ) from err
    if not pages:
        raise UnreadableDocument(f"PDF is corrupt or truncated: {path.name}: no pages")

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
        if page_quality(text)[0] != "ok" or suspect_ratio(text) > 0.005 or _RADICAL.search(text):
            other = fallback.page_text(i)
            if other is not None and _score(other) > _score(text):
                text, note = other, "extracted with pypdfium2"
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
    fallback.close()
    _pdf_warnings(doc)
    doc.title = _pdf_title(reader) or _first_heading(doc.pages[0].text if doc.pages else "")


def _score(text: str) -> tuple[bool, float, bool, int]:
    ok = page_quality(text)[0] == "ok"
    return ok, round(japanese_ratio(text) - 2 * suspect_ratio(text), 2), not _RADICAL.search(text), len(text)


class _Pdfium:
    """pypdfium2 on the same file: the fallback extractor, and a look at what a page is
    made of (text objects, images, paths). Opened on first use; None/unknown on failure."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pdf: object | None = None
        self.failed = False

    def _doc(self) -> object | None:
        if self.pdf is None and not self.failed:
            try:
                self.pdf = pypdfium2.PdfDocument(str(self.path))
            except (pypdfium2.PdfiumError, OSError) as err:
                log.warning("pypdfium2 cannot open %s: %s", self.path.name, err)
                self.failed = True
        return self.pdf

    def page_text(self, index: int) -> str | None:
        pdf = self._doc()
        if pdf is None:
            return None
        try:
            textpage = pdf[index].get_textpage()  # type: ignore[index]
            try:
                return str(textpage.get_text_range())
            finally:
                textpage.close()
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
            for obj in pdf[index].get_objects(max_depth=3):  # type: ignore[index]
                text = text or obj.type == pdfium_c.FPDF_PAGEOBJ_TEXT
                paths += obj.type == pdfium_c.FPDF_PAGEOBJ_PATH
                image = image or obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE
                if text and (image or paths >= 20):
                    break
            return text, image or paths >= 20  # 20+ paths: outlined text, a drawing
        except (pypdfium2.PdfiumError, IndexError):
            return None

    def close(self) -> None:
        if self.pdf is not None:
            self.pdf.close()  # type: ignore[attr-defined]


def _pdf_warnings(doc: LoadedDocument) -> None:
    bad = {
        status: [p.number for p in doc.pages if p.status == status] for status in ("no_text_layer", "garbled")
    }
    if not any(p.status == "ok" for p in doc.pages):
        doc.warnings.append(
            "no text layer on any page (needs OCR)" if bad["no_text_layer"] else "no text on any page"
        )
    elif bad["no_text_layer"]:
        doc.warnings.append(f"no text layer on pages {_ranges(bad['no_text_layer'])} (needs OCR)")
    if bad["garbled"]:
        doc.warnings.append(f"garbled text (broken font map) on pages {_ranges(bad['garbled'])}: not indexed")


def _ranges(numbers: list[int]) -> str:
    out: list[str] = []
    for n in numbers:
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


def _pdf_title(reader: object) -> str | None:
    try:
        title = (reader.metadata or {}).get("/Title")  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a broken Info dictionary only costs the title
        return None
    title = normalize_text(str(title or ""), structured=True).replace("\n", " ").strip()
    if len(title) < 2 or japanese_ratio(title) < 0.3:
        return None  # "Microsoft Word - 001.docx", "untitled", "PowerPoint Presentation"…
    if re.search(r"\.(docx?|xlsx?|pptx?|pdf|indd|jtd)$|^(無題|タイトルなし)", title, re.IGNORECASE):
        return None
    return title


def _first_heading(text: str) -> str | None:
    """A title-like line near the top of page 1 (None when nothing looks like one): not a
    date, not a sentence, not a numbered section heading or a list item."""
    for line in [ln.lstrip("# ") for ln in text.split("\n") if ln.strip()][:6]:
        if (
            4 <= len(line) <= 60
            and japanese_ratio(line) >= 0.5
            and not _DATEISH.search(line)
            and not line.endswith("。")
            and not is_heading_line(line)
            and line[0] not in "(【[<「"
        ):
            return line
    return None


# --- text ---------------------------------------------------------------------------


def _decode(data: bytes, name: str) -> str:
    """Bytes → str: BOMs, then strict UTF-8 / CP932 / EUC-JP, then charset-normalizer."""
    text: str | None = None
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors="replace")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        candidates = []
        for encoding in ("utf-8", "cp932", "euc_jp"):
            try:
                candidates.append(data.decode(encoding))
            except UnicodeDecodeError:
                continue
        if candidates:  # CP932 also "decodes" EUC-JP, as half-width katakana: prefer real Japanese
            text = max(candidates, key=_plausibility)
        else:
            best = from_bytes(data).best()
            text = str(best) if best is not None else None
    if text is None or _looks_binary(text):
        raise UnreadableDocument(
            f"テキストとして読めません (バイナリか未知の文字コード): {name}: UTF-8 で保存し直してください"
        )
    return text


def _plausibility(text: str) -> float:
    sample = text[:20000]
    halfwidth = sum(1 for c in sample if "\uff61" <= c <= "\uff9f")
    return japanese_ratio(sample) - 3 * halfwidth / max(len(sample), 1) - 5 * _control_ratio(sample)


def _control_ratio(text: str) -> float:
    bad = sum(
        1 for c in text if (ord(c) < 32 and c not in "\t\n\r\f") or "\ue000" <= c <= "\uf8ff" or c == "\ufffd"
    )
    return bad / max(len(text), 1)


def _looks_binary(text: str) -> bool:
    return "\x00" in text or _control_ratio(text[:20000]) > 0.01


def _load_text(text: str, doc: LoadedDocument) -> None:
    for number, page in _text_pages(undouble_spacing(text)):
        doc.pages.append(Page(number, normalize_text(page)))
    if doc.kind == "markdown":
        heading = next((ln for p in doc.pages for ln in p.text.split("\n") if ln.startswith("# ")), None)
        doc.title = heading[2:].strip() if heading else None
    if not doc.title and doc.pages:
        doc.title = _first_heading(doc.pages[0].text)


def _text_pages(text: str) -> list[tuple[int, str]]:
    """Split on form feeds; or, in text pulled out of a PDF, on `・・・・・・` page-break
    leader lines and on lone page-number lines (whose number then names the page)."""
    if "\f" in text:
        parts = text.split("\f")
        while len(parts) > 1 and not parts[-1].strip():
            parts.pop()
        return [(i + 1, p) for i, p in enumerate(parts)]
    lines = text.split("\n")
    if not any(_LEADER_LINE.match(ln) for ln in lines):
        return [(1, text)]
    pages: list[tuple[int, str]] = []
    current: list[str] = []

    def close(printed: int | None) -> None:
        if not "".join(current).strip():
            current.clear()
            return
        last = pages[-1][0] if pages else 0
        number = printed if printed is not None and last < printed <= last + 3 else last + 1
        pages.append((number, "\n".join(current)))
        current.clear()

    for line in lines:
        if _LEADER_LINE.match(line):
            close(None)
            continue
        lone = _LONE_NUMBER.match(line)
        if lone:
            close(int(lone.group(1).translate(str.maketrans("０１２３４５６７８９", "0123456789"))))
            continue
        current.append(line)
    close(None)
    return pages


# --- HTML ---------------------------------------------------------------------------

# fmt: off
_DROP_TAGS = {"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas",
              "nav", "footer", "button", "select", "input", "textarea", "form", "head"}
_DROP_ROLES = {"navigation", "banner", "contentinfo", "search", "menu", "menubar"}
_CHROME = re.compile(
    r"footnote-(area|mark)|breadcrumb|skip-?link|cookie|global-?nav|side-?menu|pagetop", re.IGNORECASE
)
_FOOTNOTES = re.compile(r"(^|\s)(footnotes|endnotes|notes)(\s|$)", re.IGNORECASE)
_BLOCK_TAGS = {"p", "div", "li", "ul", "ol", "dl", "dt", "dd", "section", "article", "main", "header",
               "aside", "blockquote", "pre", "figure", "figcaption", "address", "details", "summary",
               "hr", "center", "caption", "body", "html"}
# fmt: on


class _HtmlLines:
    """Walks a parsed page and writes markdown-ish lines: `#`×level headings, one line per
    paragraph or list item (`・` for unordered items), `| a | b |` per table row."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.buf: list[str] = []
        self.level = 1  # of the last heading with an explicit level

    def flush(self) -> None:
        text = re.sub(r"[ \t\r\n]+", " ", "".join(self.buf)).strip()
        self.buf.clear()
        if text:
            self.lines.append(text)

    def text_of(self, tag: Tag) -> str:
        sub = _HtmlLines()
        sub.walk(tag)
        sub.flush()
        return " ".join(sub.lines)

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, PreformattedString):  # comments, CDATA, doctype
                    self.buf.append(str(child))
                continue
            if not isinstance(child, Tag) or _dropped(child):
                continue
            name = child.name
            level, explicit = _heading_level(child, self.level)
            if level:
                self.flush()
                text = self.text_of(child)
                if text:
                    self.level = level if explicit else self.level
                    self.lines.append("#" * level + " " + text)
            elif name == "table":
                self.flush()
                self.table(child)
            elif name == "br":
                self.flush()
            elif name in _BLOCK_TAGS:
                self.flush()
                if _FOOTNOTES.search(
                    " ".join(child.get("class") or []) + " " + str(child.get("id", ""))
                ) and not child.find(re.compile(r"^h[1-6]$")):
                    self.lines.append("## 脚注")
                if name == "li" and child.parent is not None and child.parent.name == "ul":
                    self.buf.append("・")
                elif name == "li" and child.get("data-footnoteno"):
                    self.buf.append(f"注{child['data-footnoteno']}: ")
                self.walk(child)
                self.flush()
            else:
                self.walk(child)

    def table(self, table: Tag) -> None:
        caption = table.find("caption")
        if isinstance(caption, Tag):
            self.lines.append(self.text_of(caption))
        for tr in table.find_all("tr"):
            if not isinstance(tr, Tag) or tr.find_parent("table") is not table:
                continue  # a nested table's rows come with its own cell text
            cells = [self.text_of(c).replace("|", "¦") for c in tr.find_all(["th", "td"], recursive=False)]
            if any(cells):
                self.lines.append("| " + " | ".join(cells) + " |")


def _dropped(tag: Tag) -> bool:
    attrs = tag.attrs or {}
    if tag.name in _DROP_TAGS or attrs.get("role") in _DROP_ROLES:
        return True
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    if re.search(r"display\s*:\s*none", str(attrs.get("style", ""))):
        return True
    classes = attrs.get("class") or []
    names = " ".join(classes if isinstance(classes, list) else [classes]) + " " + str(attrs.get("id", ""))
    return bool(_CHROME.search(names))


def _heading_level(tag: Tag, current: int) -> tuple[int, bool]:
    """(level, explicit): h1–h6 → 1–6; role="heading" → its aria-level, or one below the
    last explicit heading when it has none (ARIA's default of 2 would break the nesting)."""
    if re.fullmatch(r"h[1-6]", tag.name):
        return int(tag.name[1]), True
    if tag.get("role") == "heading":
        level = str(tag.get("aria-level", ""))
        return (int(level), True) if level.isdigit() and int(level) > 0 else (current + 1, False)
    return 0, False


def _html_to_text(text: str) -> tuple[str | None, str]:
    """HTML → (title, markdown-ish lines). Nothing is executed; scripts are dropped."""
    try:
        import lxml  # noqa: F401

        parser = "lxml"
    except ImportError:
        parser = "html.parser"
    soup = BeautifulSoup(text, parser)
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    root = soup.find("main") or soup.find(attrs={"role": "main"}) or soup.body or soup
    walker = _HtmlLines()
    walker.walk(root if isinstance(root, Tag) else soup)
    walker.flush()
    if not title:
        h1 = next((ln for ln in walker.lines if ln.startswith("# ")), "")
        title = h1[2:]
    title = normalize_text(title, structured=True).replace("\n", " ")
    return title or None, "\n".join(walker.lines)


# --- tables -------------------------------------------------------------------------


def _record_text(header: list[str], row: list[str], prefix: str = "") -> str:
    lines = [prefix] if prefix else []
    for i, value in enumerate(row):
        if value.strip():
            column = header[i] if i < len(header) and header[i] else f"列{i + 1}"
            lines.append(f"{column}: {value.strip()}")
    return normalize_text("\n".join(lines), structured=True) if len(lines) > bool(prefix) else ""


def _load_csv(text: str, doc: LoadedDocument) -> None:
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    number = 0
    try:
        for row in rows:
            if header is None:
                if any(c.strip() for c in row):
                    header = [c.strip().lstrip("\ufeff") for c in row]
                continue
            number += 1
            body = _record_text(header, row)
            if body:
                doc.records.append(Record(body, page=1, row=number))
    except csv.Error as err:
        raise UnreadableDocument(f"CSV を解析できません: {err}: 引用符の対応を確認してください") from err
    if not doc.records:
        doc.warnings.append("no data rows")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _load_xlsx(path: Path, doc: LoadedDocument) -> None:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # BadZipFile, InvalidFileException, KeyError…
        raise UnreadableDocument(
            f"XLSX を開けません（壊れているか暗号化されています）: {path.name}: {err}: "
            "Excel で開いて保存し直してください"
        ) from err
    try:
        for sheet_no, sheet in enumerate(workbook.worksheets, start=1):
            header: list[str] | None = None
            number = 0
            for values in sheet.iter_rows(values_only=True):
                row = [_cell(v) for v in values]
                if header is None:
                    if any(c.strip() for c in row):
                        header = [c.strip() for c in row]
                    continue
                number += 1
                body = _record_text(header, row, prefix=f"シート: {sheet.title}")
                if body:
                    doc.records.append(Record(body, page=sheet_no, row=number))
    finally:
        workbook.close()
    if not doc.records:
        doc.warnings.append("no data rows")
