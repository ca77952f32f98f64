"""The 整合性チェック and 掲載箇所 tabs of the staff workspace, and the feedback export."""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime
from pathlib import Path

import gradio as gr

from assistant.config import Settings
from assistant.errors import PlanAssistantError
from assistant.feedback import FeedbackStore
from assistant.types import AGAINST_LABELS
from ingest.load import load_file
from ui import render, reports
from ui.staff import guarded

VERDICT_CHOICES = [(ja, key) for key, ja in render.VERDICT_JA.items()]
AGAINST_CHOICES = [(label, key) for key, label in AGAINST_LABELS.items()]
log = logging.getLogger(__name__)


def export_path(stem: str, suffix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="plan-assistant-export-"))
    return folder / f"{stem}_{datetime.now():%Y%m%d_%H%M%S}{suffix}"


def _write_text(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def _call_report(what: str, fn, *args, **kwargs) -> dict:
    """Run svc.check / svc.where; an unexpected failure becomes a readable error (and is logged)."""
    try:
        return fn(*args, **kwargs).to_dict()
    except PlanAssistantError:
        raise
    except Exception as exc:
        log.exception("%s failed", what)
        raise PlanAssistantError(f"{what}を実行できませんでした（{type(exc).__name__}）。"
                                 "内容を短くして再度お試しいただくか、管理者に連絡してください。") from exc


def _progress_adapter(progress):
    """The check reports (statements done, total); gradio wants a fraction."""

    def report(done: int, total: int) -> None:
        if total > 0:
            progress(done / total, desc="照合中")

    return report


def build_check(get_svc, authorize, token_state: gr.State, settings: Settings) -> None:
    with gr.Row():
        with gr.Column(scale=3):
            draft = gr.Textbox(label="素案の本文（貼り付け）", lines=10, max_lines=30, elem_id="staff-check-draft")
        with gr.Column(scale=1):
            draft_file = gr.File(label="またはファイルから読み込む", type="filepath", elem_id="staff-check-file")
            against = gr.Dropdown(AGAINST_CHOICES, value="all", label="照合先", elem_id="staff-check-against")
            run = gr.Button("チェックを実行", variant="primary", elem_id="staff-check-run")
    status = gr.HTML(elem_id="staff-check-status")
    verdicts = gr.CheckboxGroup(VERDICT_CHOICES, value=list(render.VERDICT_JA), label="表示する判定",
                                elem_id="staff-check-filter")
    table = gr.HTML(elem_id="staff-check-result")
    report = gr.State(None)
    with gr.Row():
        csv_button = gr.Button("CSVで書き出す", size="sm")
        xlsx_button = gr.Button("Excelで書き出す", size="sm", elem_id="staff-check-xlsx")
    download = gr.File(label="書き出したファイル", visible=False, elem_id="staff-check-download")

    def read_file(path):
        if not path:
            return gr.skip(), gr.skip()
        doc = load_file(Path(path), max_bytes=settings.max_upload_mb * 1024 * 1024)
        text = doc.text.strip()
        if not text:
            return gr.skip(), render.status_html("ファイルから文字を読み取れませんでした。", "error")
        return text, render.status_html(f"{Path(path).name} を読み込みました（{len(text):,}文字）。", "ok")

    def check(text, target, shown, progress=gr.Progress()):  # noqa: B008 (gradio injects it)
        if not (text or "").strip():
            return render.status_html("素案の本文を貼り付けるか、ファイルを選んでください。", "error"), gr.skip(), None
        progress(0, desc="照合中")
        data = _call_report("整合性チェック", get_svc().check, text, target or "all",
                            progress=_progress_adapter(progress))
        html = reports.check_summary_html(data) + reports.check_table_html(
            reports.filter_statements(data, shown), data.get("gaps"))
        return render.status_html("チェックが完了しました。行をクリックすると根拠と並べて表示します。", "ok"), html, data

    def refilter(data, shown):
        if not data:
            return gr.skip()
        return reports.check_summary_html(data) + reports.check_table_html(
            reports.filter_statements(data, shown), data.get("gaps"))

    def export(data, shown, kind):
        if not data:
            return render.status_html("先にチェックを実行してください。", "error"), gr.update(visible=False)
        rows = reports.check_rows(reports.filter_statements(data, shown)) + reports.gap_rows(data.get("gaps"))
        path = export_path("整合性チェック", kind)
        if kind == ".csv":
            _write_text(path, reports.to_csv(reports.CHECK_COLUMNS, rows))
        else:
            reports.to_xlsx(reports.CHECK_COLUMNS, rows, path, "整合性チェック")
        return render.status_html(f"表示中の判定と記載漏れの候補、計{len(rows)}行を書き出しました。", "ok"), gr.update(value=str(path), visible=True)

    draft_file.upload(guarded(authorize, read_file, 2, 1), [token_state, draft_file], [draft, status])
    run.click(guarded(authorize, check, 3, 0), [token_state, draft, against, verdicts], [status, table, report])
    verdicts.change(refilter, [report, verdicts], table)
    csv_button.click(guarded(authorize, lambda d, v: export(d, v, ".csv"), 2, 0), [token_state, report, verdicts],
                     [status, download])
    xlsx_button.click(guarded(authorize, lambda d, v: export(d, v, ".xlsx"), 2, 0), [token_state, report, verdicts],
                      [status, download])


def build_where(get_svc, authorize, token_state: gr.State) -> None:
    with gr.Row():
        measure = gr.Textbox(label="施策・取組の名前", placeholder="例：デマンド型乗合タクシー、認知症サポーター",
                             elem_id="staff-where-measure", scale=5)
        run = gr.Button("掲載箇所を調べる", variant="primary", elem_id="staff-where-run", scale=1)
    status = gr.HTML()
    result = gr.HTML(elem_id="staff-where-result")
    report = gr.State(None)
    csv_button = gr.Button("CSVで書き出す", size="sm")
    download = gr.File(label="書き出したファイル", visible=False)

    def where(text):
        if not (text or "").strip():
            return render.status_html("施策・取組の名前を入力してください。", "error"), gr.skip(), None
        data = _call_report("掲載箇所の検索", get_svc().where, text.strip())
        return "", reports.where_html(data), data

    def export(data):
        if not data:
            return render.status_html("先に掲載箇所を調べてください。", "error"), gr.update(visible=False)
        path = _write_text(export_path("掲載箇所", ".csv"), reports.to_csv(reports.WHERE_COLUMNS, reports.where_rows(data)))
        return render.status_html("CSVを書き出しました。", "ok"), gr.update(value=path, visible=True)

    run.click(guarded(authorize, where, 3, 0), [token_state, measure], [status, result, report])
    measure.submit(guarded(authorize, where, 3, 0), [token_state, measure], [status, result, report])
    csv_button.click(guarded(authorize, export, 2, 0), [token_state, report], [status, download])


def build_feedback_export(authorize, token_state: gr.State, feedback: FeedbackStore) -> None:
    gr.Markdown("住民向け・職員向けチャットの 👍/👎 評価（質問・回答・出典付き）を書き出します。"
                "API からは `GET /feedback/export?format=csv`（職員トークンが必要）でも取得できます。")
    status = gr.HTML()
    with gr.Row():
        csv_button = gr.Button("CSVで書き出す", elem_id="staff-feedback-csv")
        jsonl_button = gr.Button("JSONLで書き出す")
    download = gr.File(label="書き出したファイル", visible=False, elem_id="staff-feedback-download")

    def export(kind):
        text = feedback.export_csv() if kind == ".csv" else feedback.export_jsonl()
        path = _write_text(export_path("フィードバック", kind), text)
        n = len(feedback.records())
        return render.status_html(f"{n}件の評価を書き出しました。", "ok"), gr.update(value=path, visible=True)

    csv_button.click(guarded(authorize, lambda: export(".csv"), 2, 0), [token_state], [status, download])
    jsonl_button.click(guarded(authorize, lambda: export(".jsonl"), 2, 0), [token_state], [status, download])
