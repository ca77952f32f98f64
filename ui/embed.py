"""The resident-only chat that /embed.js frames on the city's pages, mounted at EMBED_PATH by ui.app.mount_ui.

Only the resident chat (public documents, the resident chat limit): no staff tab. The page it is framed
on comes as `?page_url=…&page_title=…` (assistant.web.page_context validates it); it is shown with each answer
and never changes what is searched. Framing by sites not on the allowlist is blocked by the CSP
frame-ancestors of assistant.web; a page address from such a site is refused here and said so.
"""

from __future__ import annotations

import gradio as gr
from fastapi import FastAPI
from starlette.datastructures import Headers

from assistant.config import Settings
from assistant.feedback import FeedbackStore
from assistant.web import EMBED_PATH, PageContext, origin_of, page_context, request_hosts
from ui import render
from ui.app import RESIDENT_EXAMPLES, THEME, resident_filters
from ui.chat import ChatLimit, build_chat
from ui.style import CSS

EMBED_EXAMPLES = RESIDENT_EXAMPLES[:3]  # the frame is small: a few examples
EMBED_CSS = CSS + """
.app { padding: 6px 10px !important; }  /* Gradio's page padding; the frame is small */
.pa-embed-head { margin: 0; font-size: 0.92em; color: var(--body-text-color-subdued); }
.pa-embed-head b { color: var(--body-text-color); font-size: 1.1em; }
.pa-context { margin-top: 0.4em; font-size: 0.85em; color: var(--body-text-color-subdued); }
"""
EMBED_MAX_UPLOAD = "1mb"  # the embed has no file input, but Gradio's upload route is there all the same
REFUSED = "このページ（{origin}）からの埋め込みは許可されていません。ページの情報なしでお答えします。"


def read_page(settings: Settings, request: gr.Request | None) -> tuple[PageContext | None, str]:
    """The embedding page from the frame's address (`?page_url=…&page_title=…`), and the notice to show
    ("" when there is nothing to say)."""
    params = dict(getattr(request, "query_params", None) or {}) if request is not None else {}
    headers = Headers(headers=dict(getattr(request, "headers", None) or {}))
    url = params.get("page_url")
    page = page_context(url, params.get("page_title"), settings.embed_origins, own_hosts=request_hosts(headers))
    if url and page is None:
        return None, render.status_html(REFUSED.format(origin=origin_of(str(url)) or "不明"), "error")
    return page, ""


def build_embed(settings: Settings, get_svc, feedback: FeedbackStore, limit: ChatLimit | None) -> gr.Blocks:
    with gr.Blocks(title="計画書アシスタント", analytics_enabled=False) as blocks:
        gr.HTML('<p class="pa-embed-head"><b>計画書アシスタント</b>　市の計画書の内容を出典つきでお答えします。'
                f"個人情報は入力しないでください（評価とともに記録する内容は伏せ字にして保存し、"
                f"{settings.log_retention_days}日後に削除します）。</p>")
        notice = gr.HTML(elem_id="embed-notice", visible=False)
        page = gr.State(None)
        build_chat("embed", get_svc, resident_filters, feedback, examples=EMBED_EXAMPLES, limit=limit, page=page,
                   height=380, placeholder="計画書について知りたいことを入力してください。")

        def load(request: gr.Request):
            page, note = read_page(settings, request)
            return page, gr.update(value=note, visible=bool(note))

        blocks.load(load, None, [page, notice])
    return blocks


def mount_embed(app: FastAPI, settings: Settings, get_svc, feedback: FeedbackStore, limit: ChatLimit | None) -> None:
    """Mount the embedded chat at EMBED_PATH (its headers: assistant.web.SecurityHeaders)."""
    gr.mount_gradio_app(app, build_embed(settings, get_svc, feedback, limit), path=EMBED_PATH, theme=THEME,
                        css=EMBED_CSS, ssr_mode=False, footer_links=[], show_error=False,
                        max_file_size=EMBED_MAX_UPLOAD)
