"""Consistency-check and where-covered reports: HTML for the staff workspace, CSV and Excel for export.

Pure functions over the reports' dict shapes (`CheckReport.to_dict()`, `WhereReport.to_dict()`).
"""

from __future__ import annotations

import csv
import io
from collections import Counter

from ui.render import DOC_TYPE_JA, VERDICT_JA, esc, highlight, page_label, value_text

CHECK_COLUMNS = ["ID", "判定", "素案の記述", "章・節", "説明", "素案の数値", "根拠の数値", "根拠文書", "根拠の章・節",
                 "根拠のページ", "根拠の文"]
WHERE_COLUMNS = ["文書ID", "文書名", "種別", "章・節", "ページ", "記載内容", "目標値"]


def _values(items) -> str:
    return "、".join(v for v in (value_text(x) for x in items or []) if v)


def _gap_html(gap) -> str:
    """A target stated in a source document that the draft does not mention."""
    if not isinstance(gap, dict):
        return f"<tr><td colspan=4>{esc(gap)}</td></tr>"
    return (f"<tr><td>{esc(gap.get('title') or gap.get('doc') or '—')}</td><td>{esc(gap.get('section') or '—')}</td>"
            f"<td>{esc(page_label(gap.get('page'), gap.get('page_label')))}</td><td>{highlight(gap.get('text') or '', gap.get('values'))}</td></tr>")


def filter_statements(report: dict | None, verdicts: list[str] | None) -> list[dict]:
    statements = (report or {}).get("statements") or []
    return [s for s in statements if verdicts is None or s.get("verdict") in verdicts]


def check_summary_html(report: dict) -> str:
    counts = Counter(s.get("verdict") for s in report.get("statements") or [])
    badges = "".join(f'<span class="pa-badge pa-b-{k}">{VERDICT_JA[k]} {counts.get(k, 0)}件</span>'
                     for k in VERDICT_JA)
    extra = {k: v for k, v in (report.get("summary") or {}).items() if not isinstance(v, (dict, list))}
    notes = "".join(f"<li>{esc(k)}：{esc(v)}</li>" for k, v in extra.items() if k not in VERDICT_JA)
    return (f'<div class="pa-summary"><b>記述 {sum(counts.values())}件</b> {badges}'
            f'{f"<ul>{notes}</ul>" if notes else ""}</div>')


def _evidence_html(ev: dict, values) -> str:
    sentence = ev.get("sentence") or ev.get("text") or ""
    where = f"{ev.get('title') or ev.get('doc')} ／ {ev.get('section') or '—'} ／ {page_label(ev.get('page'), ev.get('page_label'))}"
    context = ""
    if ev.get("text") and ev.get("text") != sentence:
        context = (f'<details class="pa-context"><summary>前後の文脈</summary>'
                   f'<div class="pa-text">{highlight(ev["text"], values)}</div></details>')
    return (f'<div class="pa-evidence"><div class="pa-meta">{esc(where)}</div>'
            f'<div class="pa-text">{highlight(sentence, values)}</div>{context}</div>')


def statement_html(s: dict) -> str:
    verdict = s.get("verdict") or "not_judged"
    evidence = s.get("evidence") or []
    first = evidence[0] if evidence else {}
    source = f"{first.get('title') or first.get('doc')} {page_label(first.get('page'), first.get('page_label'))}" if evidence else "—"
    sides = "".join(_evidence_html(e, s.get("evidence_values")) for e in evidence) or \
        '<div class="pa-muted">根拠となる記述は見つかりませんでした。</div>'
    explanation = f'<div class="pa-expl">{esc(s["explanation"])}</div>' if s.get("explanation") else ""
    return (f'<details class="pa-row pa-v-{esc(verdict)}"><summary>'
            f'<span><span class="pa-badge pa-b-{esc(verdict)}">{esc(VERDICT_JA.get(verdict, verdict))}</span></span>'
            f'<span class="pa-stmt">{esc(s.get("text"))}</span><span>{esc(s.get("section") or "—")}</span>'
            f"<span>{esc(source)}</span></summary>"
            f'<div class="pa-side"><div class="pa-col"><div class="pa-col-head">素案の記述</div>'
            f'<div class="pa-meta">{esc(s.get("section") or "—")}</div>'
            f'<div class="pa-text">{highlight(s.get("text"), s.get("draft_values"))}</div></div>'
            f'<div class="pa-col"><div class="pa-col-head">根拠資料の記述</div>{sides}</div></div>'
            f"{explanation}</details>")


def check_table_html(statements: list[dict], gaps: list | None = None) -> str:
    head = ('<div class="pa-row-head"><span>判定</span><span>素案の記述（クリックで根拠と並べて表示）</span>'
            "<span>章・節</span><span>根拠</span></div>")
    rows = "".join(statement_html(s) for s in statements) or '<div class="pa-muted">該当する記述はありません。</div>'
    gap_html = ""
    if gaps:
        items = "".join(_gap_html(g) for g in gaps)
        gap_html = (f'<div class="pa-gaps"><b>根拠資料にあって素案に記載が見当たらない目標・指標（{len(gaps)}件）</b>'
                    '<table class="pa-table"><tr><th>資料</th><th>章・節</th><th>ページ</th><th>記載</th></tr>'
                    f"{items}</table></div>")
    return f'<div class="pa-check" id="check-table">{head}{rows}</div>{gap_html}'


def check_rows(statements: list[dict]) -> list[list]:
    rows = []
    for s in statements:
        evidence = s.get("evidence") or [{}]
        verdict = s.get("verdict")
        label = VERDICT_JA.get(verdict, verdict) if verdict is not None else None
        for ev in evidence:
            rows.append([s.get("id"), label, s.get("text"),
                         s.get("section"), s.get("explanation"), _values(s.get("draft_values")),
                         _values(s.get("evidence_values")), ev.get("title") or ev.get("doc"), ev.get("section"),
                         ev.get("page"), ev.get("sentence") or ev.get("text")])
    return rows


def gap_rows(gaps: list | None) -> list[list]:
    return [[f"g{n}", "素案に記載なし", "", "", "根拠資料にあって素案に記載が見当たらない目標・指標", "",
             _values(g.get("values")), g.get("title") or g.get("doc"), g.get("section"), g.get("page"), g.get("text")]
            for n, g in enumerate(gaps or [], 1) if isinstance(g, dict)]


def where_html(report: dict) -> str:
    docs = report.get("documents") or []
    if not docs:
        return f'<div class="pa-muted">「{esc(report.get("measure"))}」の記載は見つかりませんでした。</div>'
    out = [f'<div class="pa-where" id="where-result"><b>「{esc(report.get("measure"))}」の掲載箇所：{len(docs)}文書</b>']
    for d in docs:
        rows = "".join(
            f"<tr><td>{esc(s.get('section') or '—')}</td><td>{esc(_pages(s.get('pages'), s.get('page_labels')))}</td>"
            f"<td>{'<br>'.join(esc(x) for x in s.get('sentences') or [])}</td>"
            f"<td>{esc(_values(s.get('targets')))}</td></tr>" for s in d.get("sections") or [])
        out.append(f'<div class="pa-doc"><h4>{esc(d.get("title") or d.get("doc"))} <small>{esc(DOC_TYPE_JA.get(d.get("type"), d.get("type") or ""))}'
                   f'・{esc(d.get("doc"))}</small></h4><table class="pa-table"><tr><th>章・節</th><th>ページ</th>'
                   f"<th>記載内容</th><th>目標値</th></tr>{rows}</table></div>")
    return "".join(out) + "</div>"


def where_rows(report: dict) -> list[list]:
    return [[d.get("doc"), d.get("title"), DOC_TYPE_JA.get(d.get("type"), d.get("type")), s.get("section"), _pages(s.get("pages"), s.get("page_labels")),
             "\n".join(s.get("sentences") or []), _values(s.get("targets"))]
            for d in report.get("documents") or [] for s in d.get("sections") or []]


def _pages(pages, labels: dict | None = None) -> str:
    """Pages of a where-covered section: printed page numbers where the report knows them."""
    labels = labels or {}
    if isinstance(pages, (list, tuple)):
        return ", ".join(page_label(p, labels.get(str(p))) for p in pages if p) or "—"
    return page_label(pages)


def to_csv(columns: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return "\ufeff" + out.getvalue()  # BOM: Excel reads UTF-8 Japanese correctly


def to_xlsx(columns: list[str], rows: list[list], path, sheet: str = "結果") -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(columns)
    for row in rows:
        ws.append(["" if v is None else v for v in row])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for col, width in zip("ABCDEFGHIJK", (8, 10, 60, 24, 40, 16, 16, 30, 24, 8, 60)):
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    wb.save(path)
