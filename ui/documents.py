"""The 文書管理 tab: upload and ingest (with progress), list, delete, re-ingest."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from assistant.config import Settings
from assistant.errors import PlanAssistantError
from ui import render
from ui.staff import TYPE_CHOICES, document_choices, guarded

LIST_HEADERS = ["ID", "タイトル", "種別", "公開範囲", "計画期間", "ページ", "チャンク"]
STATUS_JA = {"added": "追加", "replaced": "更新", "skipped": "変更なし（スキップ）", "failed": "失敗",
             "ignored": "対象外（文書ではありません）"}


def document_rows(svc) -> list[list]:
    rows = []
    for d in svc.documents():
        period = f"{d.period_start}～{d.period_end}年度" if d.period_start else "—"
        rows.append([d.doc_id, d.title, render.DOC_TYPE_JA.get(d.doc_type, d.doc_type),
                     render.AUDIENCE_JA.get(d.audience, d.audience), period, d.pages, d.chunks])
    return rows


def result_table(results: list[tuple[str, str, str]]) -> str:
    rows = "".join(f'<tr class="pa-{"error" if status == "失敗" else "ok"}"><td>{render.esc(name)}</td>'
                   f"<td>{render.esc(status)}</td><td>{render.esc(detail)}</td></tr>"
                   for name, status, detail in results)
    return f'<table class="pa-table"><tr><th>ファイル</th><th>結果</th><th>詳細</th></tr>{rows}</table>'


def build_documents(get_svc, authorize, token_state: gr.State, settings: Settings):
    """Returns (document table, document dropdown) so login can fill them."""
    gr.Markdown(f"対応形式：PDF・HTML・テキスト・Markdown・CSV・Excel（.xlsx）。1ファイル {settings.max_upload_mb} MB まで。")
    with gr.Row():
        files = gr.File(label="ファイル", file_count="multiple", type="filepath", elem_id="staff-upload", scale=3)
        with gr.Column(scale=2):
            doc_type = gr.Dropdown([("自動判定", "")] + TYPE_CHOICES, value="", label="種別")
            audience = gr.Radio([("公開", "public"), ("庁内限り", "staff")], value="public", label="公開範囲")
            title = gr.Textbox(label="タイトル（1ファイルのときのみ、空欄なら自動）")
            ingest = gr.Button("取り込む", variant="primary", elem_id="staff-ingest")
    ingest_status = gr.HTML(elem_id="staff-ingest-status")
    gr.Markdown("### 登録済みの文書")
    table = gr.Dataframe(headers=LIST_HEADERS, interactive=False, wrap=True, elem_id="staff-doc-list",
                         column_widths=["24%", "36%", "10%", "8%", "10%", "6%", "6%"])
    with gr.Row(equal_height=True):
        selected = gr.Dropdown([], label="対象の文書", elem_id="staff-doc-select", scale=4)
        reingest = gr.Button("再取り込み", elem_id="staff-doc-reingest", scale=1)
        delete = gr.Button("削除", variant="stop", elem_id="staff-doc-delete", scale=1)
        refresh = gr.Button("一覧を更新", scale=1)
    action_status = gr.HTML(elem_id="staff-doc-status")

    def listing():
        svc = get_svc()
        choices = document_choices(svc)
        return document_rows(svc), gr.update(choices=choices, value=None)

    def do_ingest(paths, kind, aud, name, progress=gr.Progress()):  # noqa: B008 (gradio injects it)
        svc = get_svc()
        paths = [Path(p) for p in (paths or [])]
        if not paths:
            return render.status_html("取り込むファイルを選んでください。", "error"), gr.skip(), gr.skip()
        results = []
        for i, path in enumerate(paths):
            progress(i / len(paths), desc=f"{path.name} を取り込み中（{i + 1}/{len(paths)}）")
            overrides = {"type": kind or None, "audience": aud,
                         "title": (name or "").strip() if len(paths) == 1 else None}
            try:
                with open(path, "rb") as f:
                    r = svc.upload(f, path.name, overrides)
            except PlanAssistantError as exc:
                results.append((path.name, "失敗", str(exc)))
                continue
            detail = r.reason if r.status == "failed" else f"ID {r.doc_id}：{r.pages}ページ、{r.chunks}チャンク"
            detail += "".join(f"／注意：{w}" for w in r.warnings)
            results.append((path.name, STATUS_JA.get(r.status, r.status), detail))
        progress(1.0, desc="完了")
        return (result_table(results),) + listing()

    def do_delete(doc_id):
        if not doc_id:
            return render.status_html("削除する文書を選んでください。", "error"), gr.skip(), gr.skip()
        get_svc().delete(doc_id)
        return (render.status_html(f"{doc_id} を削除しました。", "ok"),) + listing()

    def do_reingest(doc_id, progress=gr.Progress()):  # noqa: B008 (gradio injects it)
        svc = get_svc()
        meta = next((d for d in svc.documents() if d.doc_id == doc_id), None)
        if meta is None:
            return render.status_html("再取り込みする文書を選んでください。", "error"), gr.skip(), gr.skip()
        if not meta.source or not Path(meta.source).is_file():
            return (render.status_html(f"元のファイル（{meta.source or '不明'}）が見つかりません。"
                                       "ファイルをアップロードし直してください。", "error"), gr.skip(), gr.skip())
        progress(0.1, desc=f"{doc_id} を再取り込み中")
        period = f"{meta.period_start}年度から{meta.period_end}年度まで" if meta.period_start else None
        r = svc.ingest_one(Path(meta.source), {"id": doc_id, "title": meta.title, "type": meta.doc_type,
                                                "audience": meta.audience, "issuer": meta.issuer,
                                                "edition": meta.edition, "period": period})
        progress(1.0, desc="完了")
        message = f"{doc_id}：{STATUS_JA.get(r.status, r.status)}" + (f"（{r.reason}）" if r.reason else "")
        return (render.status_html(message, "error" if r.status == "failed" else "ok"),) + listing()

    outputs_ingest = [ingest_status, table, selected]
    outputs_action = [action_status, table, selected]
    ingest.click(guarded(authorize, do_ingest, 3, 0), [token_state, files, doc_type, audience, title], outputs_ingest)
    delete.click(guarded(authorize, do_delete, 3, 0), [token_state, selected], outputs_action)
    reingest.click(guarded(authorize, do_reingest, 3, 0), [token_state, selected], outputs_action)
    refresh.click(guarded(authorize, lambda: (gr.skip(),) + listing(), 3, 0), [token_state], outputs_action)
    return table, selected
