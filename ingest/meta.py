"""Document metadata: from CLI flags or a sidecar manifest, inferred from the text where missing."""

from __future__ import annotations

import json
import re
from pathlib import Path

from assistant.errors import BadRequest
from assistant.text.facts import extract_facts
from assistant.text.issuers import infer_issuer
from assistant.text.tokens import Tokenizer
from assistant.types import AUDIENCES, DOC_TYPES, DocumentMeta, LoadedDocument

_PLAN = re.compile(r"総合計画|基本構想|基本計画|実施計画")
_CONSULT = re.compile(r"パブリック・?コメント|意見の概要|意見募集|議事録|議事要旨|審議会.*(?:会議|部会)|説明会|意識調査|アンケート|comments|minutes")
_SECTOR = re.compile(r"計画|戦略|ビジョン|方針|プラン|指針")


def load_manifest(path: Path) -> dict[str, dict]:
    """A manifest is JSON: a list of entries (or {"documents": [...]}) keyed by "file" or "id"."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadRequest(f"cannot read manifest {path}: {exc}") from exc
    entries = data.get("documents", data) if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise BadRequest(f"manifest {path} must hold a list of documents")
    out: dict[str, dict] = {}
    for e in entries:
        key = e.get("file") or e.get("id")
        if not key:
            raise BadRequest(f"manifest {path}: every entry needs 'file' or 'id'")
        out[Path(key).name] = e
        out[Path(key).stem] = e
    return out


def infer_type(title: str, text: str, filename: str) -> str:
    head = f"{title}\n{filename}\n{text[:1500]}"
    if _CONSULT.search(f"{title}\n{filename}"):
        return "consultation"
    if _PLAN.search(title) or (not title and _PLAN.search(head[:300])):
        return "plan"
    if _SECTOR.search(title or head[:300]):
        return "sector_plan"
    if _CONSULT.search(head):
        return "consultation"
    return "other"


def infer_period(text: str) -> tuple[int | None, int | None]:
    """The first plan period stated near the start of the text, as Western fiscal years."""
    for fact in extract_facts(text[:6000]):
        if fact.kind == "period" and isinstance(fact.value, tuple):
            start, end = fact.value
            if start and end and 0 <= end - start <= 30:
                return int(start), int(end)
    return None, None


def infer_title(doc: LoadedDocument, path: Path) -> str:
    if doc.title and doc.title.strip():
        return doc.title.strip()
    for page in doc.pages[:2]:
        for line in page.text.split("\n"):
            s = line.strip().lstrip("#").strip()
            if 4 <= len(s) <= 60 and re.search(r"計画|戦略|ビジョン|方針|報告|議事録|広報|だより|お知らせ", s):
                return s
    return path.stem


# a periodical (a newsletter, a council bulletin) is cited by its issue: 「令和六年六月 第五九七号」 on its cover
_PERIODICAL = re.compile(r"広報|だより|便り|通信|ニュース|かわら版|瓦版|月刊|季刊")
_K = "0-9０-９〇一二三四五六七八九十百"
_ISSUE = re.compile(rf"(?:(?:令和|平成|昭和)[元{_K}]+年\s*[{_K}]+月(?:号)?\s*)?第\s*[{_K}]+\s*号"
                    rf"|(?:(?:令和|平成|昭和)[元{_K}]+年\s*|20[0-9]{{2}}年\s*)?[{_K}]+月号")


def issue_label(doc: LoadedDocument, title: str) -> str:
    """The issue a periodical's first page names (「令和六年六月第五九七号」, 「6月号」), "" for other documents or
    when the title already holds it."""
    if not _PERIODICAL.search(title) or not doc.pages:
        return ""
    m = _ISSUE.search(doc.pages[0].text)
    return "" if m is None or m.group() in title else re.sub(r"\s+", "", m.group())


def build_meta(doc: LoadedDocument, path: Path, doc_id: str, overrides: dict,
               tokenizer: Tokenizer | None = None) -> DocumentMeta:
    title = overrides.get("title") or infer_title(doc, path)
    if not overrides.get("title") and (issue := issue_label(doc, title)):
        title = f"{title} {issue}"
    text = doc.text
    doc_type = overrides.get("type") or infer_type(title, text, path.name)
    if doc_type not in DOC_TYPES:
        raise BadRequest(f"unknown document type {doc_type!r}: use one of {', '.join(DOC_TYPES)}")
    audience = overrides.get("audience") or "public"
    if audience not in AUDIENCES:
        raise BadRequest(f"unknown audience {audience!r}: use public or staff")
    start, end = None, None
    if overrides.get("period"):
        start, end = infer_period(str(overrides["period"]))
    if start is None:
        start, end = infer_period(text)
    issuer = overrides.get("issuer") or infer_issuer(tokenizer or Tokenizer(), title, text)
    return DocumentMeta(doc_id=doc_id, title=title, doc_type=doc_type, issuer=issuer,
                        period_start=start, period_end=end, audience=audience,
                        edition=str(overrides.get("edition") or ""), source=str(path))
