"""The Gradio UI, mounted in the API's FastAPI app at /ui. It calls the started service (app.state.svc).

住民向け: chat over public documents only, with clickable citations and 👍/👎 feedback.
職員向け: behind the staff token — search, chat over all documents, document management,
consistency check, where-covered, feedback export, and how each page of a document was read (読み取り確認).
/embed (ui/embed.py): the resident chat alone, for a frame on the city's own site.
"""

from __future__ import annotations

import logging

import gradio as gr
from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from assistant.config import Settings
from assistant.errors import StoreUnavailable
from assistant.feedback import FeedbackStore
from assistant.limits import RateLimiter
from assistant.types import SearchFilters
from ui.chat import ChatLimit, build_chat, chat_limiter
from ui.documents import build_documents, document_rows
from ui.inspect import build_inspect
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


def build_ui(settings: Settings, get_svc, feedback: FeedbackStore,
             chat_limit: ChatLimit | None = None, token_guard: RateLimiter | None = None) -> gr.Blocks:
    """The page. `token_guard` is the API's staff-token guessing limit, so that guesses at the UI's login
    and at the API count against one budget per client."""
    authorize = make_authorizer(settings, token_guard)
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
                           placeholder="計画書について知りたいことを入力してください。", limit=chat_limit)
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
                    with gr.Tab("読み取り確認", elem_id="tab-staff-inspect") as inspect_tab:
                        build_inspect(get_svc, authorize, token_state, inspect_tab)
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
    """Mount the UI at /ui (and / redirects there) and the embedded resident chat at /embed (ui.embed).
    Feedback goes to the app's store (`create_app`); the resident chats' turns to `app.state.chat_limiter`."""
    from ui.embed import mount_embed  # it imports this module

    feedback: FeedbackStore = app.state.feedback
    app.state.chat_limiter = chat_limiter(settings)  # on app.state, so a test can swap in its own

    def limit(client: str) -> float:
        return app.state.chat_limiter.hit(client)

    def get_svc():
        svc = getattr(app.state, "svc", None)
        if svc is None:
            raise StoreUnavailable("サービスが起動していません。しばらくしてから再度お試しください。")
        return svc

    @app.get("/", include_in_schema=False)
    def root():
        return RedirectResponse("/ui/")

    blocks = build_ui(settings, get_svc, feedback, chat_limit=limit, token_guard=app.state.token_guard)
    gr.mount_gradio_app(app, blocks, path="/ui", theme=THEME, css=CSS, ssr_mode=False, footer_links=[],
                        max_file_size=f"{settings.max_file_mb}mb", show_error=False)
    mount_embed(app, settings, get_svc, feedback, limit)
