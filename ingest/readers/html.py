"""HTML pages (saved from a city website or exported from a plan's web edition) → one page of
markdown-ish lines the chunker can split: headings as `#`×level, one line per paragraph or list
item, table rows as `| a | b |`. Site chrome (menus, breadcrumbs, footers, hidden elements) and
scripts are dropped; nothing is executed.
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


def read(path: Path) -> LoadedDocument:
    title, body = _html_to_text(decode(path.read_bytes(), path.name))
    doc = LoadedDocument(source=str(path), kind="html", title=title)
    doc.pages = [Page(1, normalize_text(body, structured=True))]
    return require_text(doc, path)


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
    root = soup.find("main") or soup.find(None, {"role": "main"}) or soup.body or soup
    walker = _HtmlLines()
    walker.walk(root if isinstance(root, Tag) else soup)
    walker.flush()
    if not title:
        h1 = next((ln for ln in walker.lines if ln.startswith("# ")), "")
        title = h1[2:]
    title = normalize_text(title, structured=True).replace("\n", " ")
    return title or None, "\n".join(walker.lines)
