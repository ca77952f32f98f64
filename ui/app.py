"""The Gradio UI, mounted in the API's FastAPI app at /ui. It calls the started service (app.state.svc).

住民向け: chat over public documents only, with clickable citations and 👍/👎 feedback.
職員向け: behind the staff token — search, chat over all documents, document management,
consistency check, where-covered, feedback export.
"""

from __future__ import annotations

import logging

import gradio as gr
from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from assistant.config import Settings
from assistant.errors import StoreUnavailable
from assistant.feedback import FeedbackStore
from assistant.types import SearchFilters
from ui.chat import build_chat
from ui.documents import build_documents, document_rows
from ui.review import build_check, build_feedback_export, build_where
from ui.staff import build_login, build_search, build_staff_chat, document_choices, make_authorizer
from ui.style import CSS

log = logging.getLogger(__name__)
RESIDENT_EXAMPLES = [
    "計画期間はいつまでですか？",
    "公共交通の利用者数の目標は？",
    "認知症サポーターの養成はどの課が担当しますか？",
    "デマンド型乗合タクシー「のりあいみどり」はいつから運行しますか？",
    "温室効果ガスの削減目標は？",
]
THEME = gr.themes.Soft(primary_hue="green", neutral_hue="slate",
                       font=["Hiragino Sans", "Noto Sans JP", "IPAPGothic", "Meiryo", "sans-serif"],
                       font_mono=["monospace"])


def resident_filters() -> SearchFilters:
    """Residents only ever see public documents, whatever they type."""
    return SearchFilters(audiences=["public"])


def build_ui(settings: Settings, get_svc, feedback: FeedbackStore) -> gr.Blocks:
    authorize = make_authorizer(settings)
    with gr.Blocks(title="計画書アシスタント", analytics_enabled=False) as blocks:
        gr.HTML('<div class="pa-header"><h1>計画書アシスタント</h1>'
                "<p>市の総合計画・個別計画などの内容を、出典つきでお答えします。</p></div>")
        token_state = gr.State(None)
        with gr.Tabs():
            with gr.Tab("住民向け", id="resident", elem_id="tab-resident"):
                gr.Markdown("市が公開している計画書の内容について質問できます。回答の下の出典をクリックすると、"
                            "根拠となる本文とページを確認できます。※個人情報は入力しないでください。"
                            "評価とともに記録する質問・回答・理由は、電話番号・メールアドレス・住所・氏名などを"
                            f"伏せ字にして保存し、{settings.log_retention_days}日後に削除します。")
                build_chat("resident", get_svc, resident_filters, feedback, examples=RESIDENT_EXAMPLES,
                           placeholder="計画書について知りたいことを入力してください。")
            with gr.Tab("職員向け", id="staff", elem_id="tab-staff"):
                workspace, login_events = build_login(authorize, token_state)
                with workspace, gr.Tabs():
                    with gr.Tab("検索", elem_id="tab-staff-search"):
                        search_docs = build_search(get_svc, authorize, token_state)
                    with gr.Tab("質問", elem_id="tab-staff-ask"):
                        build_staff_chat(get_svc, authorize, token_state, feedback)
                    with gr.Tab("文書管理", elem_id="tab-staff-docs"):
                        doc_table, doc_select = build_documents(get_svc, authorize, token_state, settings)
                    with gr.Tab("整合性チェック", elem_id="tab-staff-check"):
                        build_check(get_svc, authorize, token_state, settings)
                    with gr.Tab("掲載箇所", elem_id="tab-staff-where"):
                        build_where(get_svc, authorize, token_state)
                    with gr.Tab("フィードバック", elem_id="tab-staff-feedback"):
                        build_feedback_export(authorize, token_state, feedback)

        def fill(token):
            """After a login: the document table and the document pickers."""
            if authorize(token):
                return gr.skip(), gr.skip(), gr.skip()
            try:
                svc = get_svc()
                choices = document_choices(svc)
                return document_rows(svc), gr.update(choices=choices), gr.update(choices=choices)
            except Exception:
                log.exception("cannot list documents")
                return gr.skip(), gr.skip(), gr.skip()

        for event in login_events:
            event.then(fill, [token_state], [doc_table, doc_select, search_docs])
    return blocks


def mount_ui(app: FastAPI, settings: Settings) -> None:
    """Mount the UI at /ui (and / redirects there). Feedback goes to the app's store (`create_app`)."""
    feedback: FeedbackStore = app.state.feedback

    def get_svc():
        svc = getattr(app.state, "svc", None)
        if svc is None:
            raise StoreUnavailable("サービスが起動していません。しばらくしてから再度お試しください。")
        return svc

    @app.get("/", include_in_schema=False)
    def root():
        return RedirectResponse("/ui/")

    blocks = build_ui(settings, get_svc, feedback)
    gr.mount_gradio_app(app, blocks, path="/ui", theme=THEME, css=CSS, ssr_mode=False, footer_links=[],
                        max_file_size=f"{settings.max_file_mb}mb", show_error=False)
