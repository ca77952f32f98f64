"""What a PDF would do when opened in a viewer: scripts, launch actions, embedded files.

Nothing here runs them, and the PDF reader only extracts text, so they never run on the server;
the originals are not served back to anyone. They are named in a warning so that staff know what
they uploaded (a municipal PDF has no reason to carry a script that runs on opening).

Looked at: the document's open action and additional actions, its JavaScript and embedded-file
name trees, and each page's additional actions and annotation actions (links, widgets).
"""

from __future__ import annotations

import logging

from pypdf import PdfReader
from pypdf.generic import DictionaryObject

log = logging.getLogger(__name__)

# Action types that do something besides moving within the document (ISO 32000-1, 12.6.4).
_ACTIVE = {"/JavaScript": "JavaScript", "/Launch": "外部プログラムの起動", "/SubmitForm": "フォーム送信",
           "/ImportData": "データの読み込み", "/URI": None, "/GoTo": None, "/GoToR": None}
# Pages looked at for page-level actions: every page of a plan (the longest in the corpus has 300).
MAX_PAGES = 2_000
ACTIVE_CONTENT = "PDF に {what} が含まれていますが、実行していません（テキストだけを読み取りました）"


def _dict(value: object) -> DictionaryObject | None:
    try:
        value = value.get_object() if value is not None else None  # type: ignore[attr-defined]
    except Exception:  # a dangling reference
        return None
    return value if isinstance(value, DictionaryObject) else None


def _actions(action: object, found: set[str], hops: int = 0) -> None:
    """The kinds of `action` and of the actions chained after it (/Next), up to 20 hops."""
    act = _dict(action)
    if act is None or hops > 20:
        return
    if "/JS" in act:
        found.add("JavaScript")
    kind = _ACTIVE.get(str(act.get("/S", "")))
    if kind:
        found.add(kind)
    following = act.get("/Next")
    following = following.get_object() if following is not None else None
    for nxt in following if isinstance(following, list) else [following]:
        _actions(nxt, found, hops + 1)


def _additional(holder: DictionaryObject | None, found: set[str]) -> None:
    aa = _dict(holder.get("/AA")) if holder is not None else None
    for trigger in (aa or {}).values():
        _actions(trigger, found)


def active_content(reader: PdfReader) -> list[str]:
    """Names (Japanese) of what the PDF would do on its own in a viewer; [] when nothing, or when
    the file cannot be parsed (the reader reports that)."""
    found: set[str] = set()
    try:
        root = _dict(reader.trailer.get("/Root"))
        if root is None:
            return []
        opening = root.get("/OpenAction")
        if _dict(opening) is not None:  # an array is a destination (a page to open at), not an action
            _actions(opening, found)
        _additional(root, found)
        names = _dict(root.get("/Names"))
        if names is not None and "/JavaScript" in names:
            found.add("JavaScript")
        if names is not None and "/EmbeddedFiles" in names:
            found.add("埋め込みファイル")
        for number, page in enumerate(reader.pages):
            if number >= MAX_PAGES:
                break
            _additional(page, found)
            annotations = page.get("/Annots")
            annotations = annotations.get_object() if annotations is not None else []
            for annotation in annotations if isinstance(annotations, list) else []:
                annotation = _dict(annotation)
                if annotation is not None:
                    _actions(annotation.get("/A"), found)
                    _additional(annotation, found)
    except Exception as err:  # a broken file: pdf.read says what is wrong with it
        log.debug("active content of %s not inspected: %s", reader.stream, err)
    return sorted(found)


def active_content_warning(reader: PdfReader) -> str | None:
    found = active_content(reader)
    return ACTIVE_CONTENT.format(what="・".join(found)) if found else None
