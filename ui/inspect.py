"""The 読み取り確認 tab of the staff workspace: how each page of an indexed document was read.

Pick a document: its file is read again as ingestion reads it (`PlanAssistant.inspect`), and a
table shows per page how the text was obtained (text layer, pypdfium2, OCR with its confidence and
direction), the tables and rows found, the chunks and the warnings. Click a row (or pick a page)
to see the text of that page as it is indexed: its chunks with their section path.
"""

from __future__ import annotations

import gradio as gr

from ui import render
from ui.staff import document_choices, guarded

PAGE_HEADERS = ["ページ", "印刷ページ", "状態", "読み取り方", "OCR信頼度", "向き", "表（行）", "チャンク", "文字数", "日本語", "注意",
                "その他"]
PAGE_COLUMN_WIDTHS: list[str | int] = ["6%", "6%", "9%", "14%", "7%", "7%", "6%", "6%", "6%", "6%", "21%", "6%"]
NO_DOCUMENT = "確認する文書を選んでください。"


def page_rows(report: dict) -> list[list]:
    """One table row per page of a `FileReport.to_dict()`."""
    rows = []
    for p in report["pages"]:
        confidence = f"{p['ocr_confidence']:.2f}" if p["ocr_confidence"] is not None else "—"
        tables = f"{p['records'] + p['table_lines']}行" if p["records"] or p["table_lines"] else "—"
        extra = "、".join(f"{k}: {v}" for k, v in p["extra"].items() if v not in (None, "", [], {}))
        rows.append([p["number"], p["label"] or "—", p["status_label"], p["method_label"], confidence, p["reading"] or "—", tables,
                     len(p["chunks"]), p["chars"], f"{p['japanese']:.0%}" if p["chars"] else "—",
                     "／".join(p["warnings"]), extra])
    return rows


def page_choices(report: dict) -> list[tuple[str, int]]:
    return [(f"p.{p['number']}（{p['method_label']}・チャンク{len(p['chunks'])}）" + (" ⚠" if p["warnings"] else ""),
             p["number"]) for p in report["pages"]]


def summary_html(report: dict) -> str:
    """The document: what it is, what the index holds, and the reader's warnings."""
    facts = [f"形式 {report['kind']}", f"{len(report['pages'])}ページ", f"{report['chunks']}チャンク"]
    if report["records"]:
        facts.append(f"表の行 {report['records']}件")
    facts.append(f"読み取り {report['seconds']:.1f}秒")
    indexed = report.get("indexed")
    if indexed:
        state = "取り込み時のまま" if indexed["file_unchanged"] else "取り込み後に変更あり"
        facts.append(f"索引：{indexed['pages']}ページ・{indexed['chunks']}チャンク（ファイルは{state}）")
    items = ([f'<li class="pa-error">索引に入りません：{render.esc(report["refused"])}</li>'] if report["refused"] else [])
    items += [f"<li>{render.esc(w)}</li>" for w in report["warnings"]]
    warnings = f"<ul>{''.join(items)}</ul>" if items else '<p class="pa-muted">文書全体への注意はありません。</p>'
    return (f'<div class="pa-summary"><h4>{render.esc(report["title"] or report["doc_id"])}</h4>'
            f'<div class="pa-meta">{render.esc("・".join(facts))}</div>{warnings}</div>')


def page_text_html(report: dict, number: int | None) -> str:
    """The chunks that carry one page, each with its section path and pages, escaped."""
    page = next((p for p in report["pages"] if p["number"] == number), None) if number is not None else None
    if page is None:
        return '<p class="pa-muted">ページを選ぶと、索引に入っている本文を表示します。</p>'
    printed = f"（印刷 {page['label']}）" if page["label"] else ""
    head = f"p.{page['number']}{printed}：{page['status_label']}・{page['method_label']}"
    if page["note"]:
        head += f"（{page['note']}）"
    parts = [f'<div class="pa-meta pa-page">{render.esc(head)}</div>']
    parts += [f'<div class="pa-status pa-error">{render.esc(w)}</div>' for w in page["warnings"]]
    if not page["chunks"]:
        parts.append('<p class="pa-muted">このページから索引に入った本文はありません。</p>')
        if page["text"]:
            parts.append(f'<div class="pa-passage">{render.esc(page["text"])}</div>')
    for c in page["chunks"]:
        meta = f"チャンク {c['chunk_no']}・{c['section'] or '見出しなし'}・p.{', '.join(map(str, c['pages']))}"
        mark = render.ocr_mark(c["ocr"])
        parts.append(f'<div class="pa-passage pa-chunk"><div class="pa-meta">{render.esc(meta)}'
                     f'{"・" + render.esc(mark) if mark else ""}</div>{render.esc(c["text"])}</div>')
    return f'<div id="staff-inspect-page-{page["number"]}">{"".join(parts)}</div>'


def build_inspect(get_svc, authorize, token_state: gr.State, tab: gr.Tab) -> None:
    """The tab's contents; the document list is refreshed whenever `tab` is opened."""
    gr.Markdown("登録済みの文書を、取り込みと同じ方法で読み直して、ページごとの読み取り方・索引に入った本文・注意を表示します。"
                "「検索しても出てこないページ」の原因を確かめるのに使います（索引は変更しません）。")
    with gr.Row(equal_height=True):
        doc = gr.Dropdown([], label="文書", elem_id="staff-inspect-doc", scale=4)
        run = gr.Button("読み取りを確認", variant="primary", elem_id="staff-inspect-run", scale=1)
    status = gr.HTML(elem_id="staff-inspect-status")
    summary = gr.HTML(elem_id="staff-inspect-summary")
    table = gr.Dataframe(headers=PAGE_HEADERS, interactive=False, wrap=True, elem_id="staff-inspect-pages",
                         column_widths=PAGE_COLUMN_WIDTHS)
    page = gr.Dropdown([], label="ページ（表の行をクリックしても選べます）", elem_id="staff-inspect-page")
    text = gr.HTML(elem_id="staff-inspect-text")
    report = gr.State(None)

    def listing():
        return "", gr.update(choices=document_choices(get_svc()))

    def inspect(doc_id, progress=gr.Progress()):  # noqa: B008 (gradio injects it)
        if not doc_id:
            return render.status_html(NO_DOCUMENT, "error"), gr.skip(), gr.skip(), gr.skip(), gr.skip(), None
        progress(0.1, desc=f"{doc_id} を読み取り中（OCR のページがあると時間がかかります）")
        data = get_svc().inspect(doc_id).to_dict()
        flagged = sum(1 for p in data["pages"] if p["warnings"])
        message = f"{len(data['pages'])}ページを読み取りました" + (f"（注意のあるページ {flagged}）。" if flagged else "。")
        return (render.status_html(message, "ok"), summary_html(data), page_rows(data),
                gr.update(choices=page_choices(data), value=None), page_text_html(data, None), data)

    def pick_row(data, evt: gr.SelectData):
        if not data or evt.index is None:
            return gr.skip(), gr.skip()
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        number = data["pages"][int(row)]["number"]
        return gr.update(value=number), page_text_html(data, number)

    tab.select(guarded(authorize, listing, 2, 0), [token_state], [status, doc])
    outputs = [status, summary, table, page, text, report]
    for event in (run.click, doc.select):  # picking a document reads it at once; the button reads it again
        event(guarded(authorize, inspect, len(outputs), 0), [token_state, doc], outputs, show_progress_on=[status])
    table.select(pick_row, [report], [page, text])
    page.input(lambda data, number: page_text_html(data, number) if data else gr.skip(), [report, page], text)
