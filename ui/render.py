"""Pure HTML rendering for the UI. Every piece of document or user text goes through `esc`.

Chat messages are passed to gr.Chatbot, which renders markdown. Each message is built as HTML
blocks without blank lines, so markdown never parses inside them, and all text is escaped:
`<script>` or `<img onerror>` in a question, an answer or a passage is shown as text.

A citation of text read by OCR (`"ocr"`: its confidence) says so, in its label and beside the
passage: the reader should know the quoted text may hold misreadings. A PDF page whose printed
number differs (`"page_label"`) is shown as both: p.12（PDF 14ページ）.
"""

from __future__ import annotations

import html
import re

from assistant.types import AUDIENCE_LABELS, DOC_TYPE_LABELS, VERDICT_LABELS, page_ref

DOC_TYPE_JA = DOC_TYPE_LABELS
AUDIENCE_JA = AUDIENCE_LABELS
VERDICT_JA = VERDICT_LABELS
VERDICT_JA_TO_KEY = {v: k for k, v in VERDICT_JA.items()}
_CITE_MARK = re.compile(r"\[(\d{1,2})\]")


def esc(text) -> str:
    """Escape for HTML and keep line breaks without ever producing a blank line."""
    lines = str("" if text is None else text).splitlines()
    return "<br>".join(html.escape(line, quote=True) for line in lines)


def page_label(page, printed=None) -> str:
    """"p.14", or "p.12（PDF 14ページ）" when the printed page number differs from the PDF page
    (`page_label` of a citation): the reader finds p.12 in the printed plan and page 14 in the file."""
    return page_ref(page, printed) or "ページ情報なし"


def ocr_mark(confidence) -> str:
    """The words that mark OCR text (the CLI prints them too); "" for text from a text layer."""
    return "" if confidence is None else f"OCR で読み取った本文です（信頼度 {float(confidence):.2f}）"


def citation_label(c: dict) -> str:
    parts = [str(c.get("title") or c.get("doc") or "")]
    if c.get("section"):
        parts.append(str(c["section"]))
    parts.append(page_label(c.get("page"), c.get("page_label")))
    if c.get("ocr") is not None:
        parts.append(ocr_mark(c["ocr"]))
    return " / ".join(parts)


def question_message(question: str, limit: int = 300) -> str:
    shown = question if len(question) <= limit else question[:limit] + f"…（全{len(question):,}文字）"
    return f'<div class="pa-q">{esc(shown)}</div>'


def _answer_text(text: str) -> str:
    # citation markers [1] become small superscripts; everything else is escaped text
    return _CITE_MARK.sub(r'<sup class="pa-ref">[\1]</sup>', esc(text))


def passage_details(c: dict, label: str) -> str:
    mark = ocr_mark(c.get("ocr"))
    ocr = f' ／ <span class="pa-ocr">{esc(mark)}</span>' if mark else ""
    return (f'<details class="pa-cite"><summary>{esc(label)}</summary>'
            f'<div class="pa-passage"><div class="pa-meta">{esc(c.get("title") or c.get("doc"))}'
            f'{" ／ " + esc(c["section"]) if c.get("section") else ""}'
            f' ／ <span class="pa-page">{esc(page_label(c.get("page"), c.get("page_label")))}</span>'
            f'{ocr}</div>'
            f'<div class="pa-text">{esc(c.get("text"))}</div></div></details>')


def answer_message(answer: dict) -> str:
    """An answer with its citations (each expandable to the passage text and page)."""
    blocks = [f'<div class="pa-answer">{_answer_text(answer.get("answer", ""))}</div>']
    if answer.get("notice"):
        blocks.append(f'<div class="pa-notice">{esc(answer["notice"])}</div>')
    citations = answer.get("citations") or []
    if citations:
        items = "".join(passage_details(c, f"[{c.get('n')}] {citation_label(c)}") for c in citations)
        blocks.append(f'<div class="pa-cites"><div class="pa-cites-head">出典（クリックで該当箇所を表示）</div>{items}</div>')
    related = answer.get("related") or []
    if answer.get("abstained") and related:
        items = "".join(passage_details(p, f"関連 {i}. {citation_label(p)}") for i, p in enumerate(related, 1))
        blocks.append(f'<div class="pa-cites"><div class="pa-cites-head">関連しそうな箇所</div>{items}</div>')
    return "\n\n".join(blocks)


def partial_message(text: str) -> str:
    return f'<div class="pa-answer">{_answer_text(text)}<span class="pa-cursor">▌</span></div>'


def error_message(message: str) -> str:
    return f'<div class="pa-error">⚠ {esc(message)}</div>'


def status_html(message: str, kind: str = "info") -> str:
    return f'<div class="pa-status pa-{kind}">{esc(message)}</div>'


def highlight(text: str | None, values) -> str:
    """Escape `text` and wrap each occurrence of the given values in <mark>."""
    wanted = sorted({v for v in (value_text(x) for x in values or []) if v}, key=len, reverse=True)
    if not wanted:
        return esc(text)
    pattern = re.compile("|".join(re.escape(v) for v in wanted))
    out, last = [], 0
    src = str(text or "")
    for m in pattern.finditer(src):
        out.append(esc(src[last:m.start()]))
        out.append(f"<mark>{esc(m.group(0))}</mark>")
        last = m.end()
    out.append(esc(src[last:]))
    return "".join(out)


def value_text(v) -> str:
    """Values in a check report may be strings or small dicts ({"text"/"raw"/"value": ...})."""
    if isinstance(v, dict):
        for key in ("text", "raw", "surface", "value"):
            if v.get(key) not in (None, ""):
                return str(v[key])
        return ""
    return "" if v is None else str(v)
