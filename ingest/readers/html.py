"""HTML pages (saved from a city website or exported from a plan's web edition) → markdown-ish
lines the chunker can split: headings as `#`×level, one line per paragraph or list item, table rows
as `| a | b |`. Site chrome (menus, breadcrumbs, footers, hidden elements) and scripts are dropped;
nothing is executed.

A web edition of a printed plan marks the printed page of its text (`data-pageno="12"`, also
`data-page` / `data-page-number`): the document then has one page per printed page, so citations
give the page a reader finds in the printed plan. Without such markers the file is page 1.
"""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString

from assistant.types import LoadedDocument, Page
from ingest.normalize import normalize_text
from ingest.readers import require_text
from ingest.readers.text import decode

PAGE_ATTRIBUTES = ("data-pageno", "data-page", "data-page-number")
# A page whose elements nest deeper than this is read as plain text, line by line, without its
# headings and tables: the walk below recurses once per level (Python's stack holds 1,000 frames),
# and a hostile page of 20,000 nested <div>s or 3,000 nested tables would exhaust it or take
# minutes. Pages of the corpus and the web editions of plans nest 10–40 deep.
MAX_NESTING = 200
TOO_DEEP = "要素の入れ子が深すぎるため（{depth} 段以上、上限 {limit} 段）、見出しや表の構造を読まずにテキストだけ読み取りました"


def read(path: Path) -> LoadedDocument:
    title, lines, warnings = _html_to_lines(decode(path.read_bytes(), path.name))
    doc = LoadedDocument(source=str(path), kind="html", title=title, warnings=warnings)
    pages: list[tuple[int, list[str]]] = []
    for page, line in lines:
        number = page if page is not None else (pages[-1][0] if pages else 1)
        if pages and pages[-1][0] == number:
            pages[-1][1].append(line)
        else:
            pages.append((number, [line]))
    doc.pages = [Page(n, normalize_text("\n".join(text), structured=True)) for n, text in pages] or [Page(1, "")]
    return require_text(doc, path)


def _printed_page(node: Tag | NavigableString) -> int | None:
    """The printed page a piece of text is on: the nearest enclosing page attribute."""
    for parent in ([node] if isinstance(node, Tag) else []) + list(node.parents):
        for attribute in PAGE_ATTRIBUTES:
            value = str(parent.get(attribute, "")).strip()
            if value.isdigit():
                return int(value)
    return None


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
        self.pages: list[int | None] = []  # the printed page of each line, where marked
        self.buf: list[str] = []
        self.buf_page: int | None = None
        self.level = 1  # of the last heading with an explicit level

    def add(self, line: str, page: int | None) -> None:
        self.lines.append(line)
        self.pages.append(page)

    def flush(self) -> None:
        text = re.sub(r"[ \t\r\n]+", " ", "".join(self.buf)).strip()
        self.buf.clear()
        if text:
            self.add(text, self.buf_page)
        self.buf_page = None

    def text_of(self, tag: Tag) -> str:
        sub = _HtmlLines()
        sub.walk(tag)
        sub.flush()
        return " ".join(sub.lines)

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, PreformattedString):  # comments, CDATA, doctype
                    if self.buf_page is None and str(child).strip():
                        self.buf_page = _printed_page(child)
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
                    self.add("#" * level + " " + text, _first_page(child))
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
                    self.add("## 脚注", _first_page(child))
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
            self.add(self.text_of(caption), _first_page(caption))
        for tr in table.find_all("tr"):
            if not isinstance(tr, Tag) or tr.find_parent("table") is not table:
                continue  # a nested table's rows come with its own cell text
            cells = [self.text_of(c).replace("|", "¦") for c in tr.find_all(["th", "td"], recursive=False)]
            if any(cells):
                self.add("| " + " | ".join(cells) + " |", _first_page(tr))


def _first_page(tag: Tag) -> int | None:
    """The printed page where a heading, caption or table row starts."""
    first = next((s for s in tag.find_all(string=True) if s.strip()), None)
    return _printed_page(first) if first is not None else _printed_page(tag)


def _dropped(tag: Tag) -> bool:
    attrs = tag.attrs or {}
    if tag.name in _DROP_TAGS or attrs.get("role") in _DROP_ROLES:
        return True
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    if re.search(r"display\s*:\s*none", str(attrs.get("style", ""))):
        return True
    classes: str | list[str] = attrs.get("class") or []
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


def _depth_over(root: Tag, limit: int) -> int:
    """How deep the elements under `root` nest, counted without recursion up to just past `limit`."""
    deepest, stack = 0, [(root, 0)]
    while stack and deepest <= limit:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tag))
    return deepest


def _html_to_lines(text: str) -> tuple[str | None, list[tuple[int | None, str]], list[str]]:
    """HTML → (title, [(printed page or None, markdown-ish line)], warnings). Nothing is executed."""
    try:
        import lxml  # noqa: F401

        parser = "lxml"
    except ImportError:
        parser = "html.parser"
    soup = BeautifulSoup(text, parser)
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    root = soup.find("main") or soup.find(None, {"role": "main"}) or soup.body or soup
    root = root if isinstance(root, Tag) else soup
    walker = _HtmlLines()
    warnings: list[str] = []
    depth = _depth_over(root, MAX_NESTING)
    if depth > MAX_NESTING:
        for tag in root.find_all(sorted(_DROP_TAGS)):  # scripts and styles are not text here either
            tag.decompose()
        walker.lines = [line for line in (ln.strip() for ln in root.get_text("\n").split("\n")) if line]
        walker.pages = [None] * len(walker.lines)
        warnings.append(TOO_DEEP.format(depth=depth, limit=MAX_NESTING))
    else:
        walker.walk(root)
        walker.flush()
    if not title:
        h1 = next((ln for ln in walker.lines if ln.startswith("# ")), "")
        title = h1[2:]
    title = normalize_text(title, structured=True).replace("\n", " ")
    return title or None, list(zip(walker.pages, walker.lines)), warnings
