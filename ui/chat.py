"""A chat panel over svc.ask_stream, used by the resident tab, the staff 質問 tab and the embedded chat.

The visible chat holds escaped HTML (see ui.render); the raw turns passed to the service as
history live in a separate state, so follow-up questions work.

A resident chat's turns count against `chat_limiter` per client: a refused turn says 「ただいま
混み合っています…」 in the chat. The UI's events as a whole are limited by assistant.api.UIRateLimit,
whose 429 Gradio can only show as a generic error, so the chat's budget is half of theirs and runs out first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence

import gradio as gr

from assistant.config import Settings
from assistant.errors import INTERNAL_ERROR, PlanAssistantError, RateLimited
from assistant.feedback import FeedbackStore
from assistant.limits import DAY, MINUTE, RateLimiter
from assistant.types import SearchFilters
from assistant.web import PageContext
from ui import render

log = logging.getLogger(__name__)
ChatLimit = Callable[[str], float]  # client key -> 0.0 (turn admitted and counted) or seconds to wait


def chat_limiter(settings: Settings) -> RateLimiter:
    """The resident chats' turns per client: half the per-client limits (0 stays off). A turn is one UI
    event and rating it one more, so a resident who rates every answer meets this limit, and its message,
    before the UI's event limit."""

    def half(limit: int) -> int:
        return max(1, limit // 2) if limit else 0

    return RateLimiter([(half(settings.rate_limit_per_minute), MINUTE), (half(settings.rate_limit_per_day), DAY)])


def turn_refusal(limit: ChatLimit | None, request: gr.Request | None) -> str | None:
    """The message for a chat turn over the client's limit, else None (and the turn is counted)."""
    if limit is None:
        return None
    client = getattr(request, "client", None) if request is not None else None
    wait = limit(getattr(client, "host", None) or "unknown")
    return str(RateLimited(retry_after=wait)) if wait else None


def context_note(page: PageContext | None) -> str:
    """The line under an answer that says which of the city's pages the question came from."""
    return f'<div class="pa-context">{render.esc(page.note())}</div>' if page else ""


def chat_turn(get_svc: Callable, filters: Callable[[], SearchFilters], message, chat, turns, recs,
              refusal: str | None = None, page: PageContext | None = None) -> Iterator[tuple]:
    """One question and its streamed answer, as (question box, chat, turns, records) updates.

    `page` is only shown with the answer: the service gets the same question, history and filters
    whichever page the question came from."""
    chat, turns, recs = list(chat or []), list(turns or []), dict(recs or {})
    message = message or ""
    if refusal:
        chat.append({"role": "assistant", "content": render.error_message(refusal)})
        yield message, chat, turns, recs
        return
    if message.strip():
        chat.append({"role": "user", "content": render.question_message(message)})
    chat.append({"role": "assistant", "content": render.partial_message("")})
    yield "", chat, turns, recs
    text, final = "", None
    try:
        for event in get_svc().ask_stream(message, turns, filters()):
            if event.get("type") == "delta":
                text += event.get("text", "")
                chat[-1] = {"role": "assistant", "content": render.partial_message(text)}
                yield "", chat, turns, recs
            elif event.get("type") == "answer":
                final = event
    except PlanAssistantError as exc:
        chat[-1] = {"role": "assistant", "content": render.error_message(str(exc))}
        yield message, chat, turns, recs
        return
    except Exception:
        log.exception("chat failed")
        chat[-1] = {"role": "assistant", "content": render.error_message(INTERNAL_ERROR)}
        yield message, chat, turns, recs
        return
    final = final or {"answer": text, "citations": [], "abstained": False}
    note = context_note(page)
    chat[-1] = {"role": "assistant", "content": render.answer_message(final) + ("\n\n" + note if note else "")}
    turns += [{"role": "user", "content": message},
              {"role": "assistant", "content": final.get("answer", ""),
               "documents": [c.get("doc") for c in final.get("citations", []) if c.get("doc")]}]
    recs[str(len(chat) - 1)] = {"question": message, "answer": final.get("answer", ""),
                                "citations": final.get("citations", [])}
    yield "", chat, turns, recs


def build_chat(prefix: str, get_svc: Callable, filters: Callable[[], SearchFilters], feedback: FeedbackStore,
               examples: Sequence[str] = (), authorize: Callable[[str | None], str | None] | None = None,
               auth_state: gr.State | None = None, placeholder: str = "", limit: ChatLimit | None = None,
               page: gr.State | None = None, height: int = 520) -> None:
    """Lay out a chat panel inside the current Blocks context and wire its events.

    `authorize(token)` returns an error message (refused) or None; it guards every request.
    `limit` counts each turn per client (resident chats). `page` holds the PageContext of the embedding page.
    """
    chatbot = gr.Chatbot(elem_id=f"{prefix}-chat", label="会話", height=height, sanitize_html=True,
                         allow_tags=False, latex_delimiters=[], buttons=[], placeholder=placeholder,
                         feedback_options=("Like", "Dislike"), layout="bubble",
                         group_consecutive_messages=False)
    history = gr.State([])  # [{"role", "content"(, "documents")}] raw text and cited documents for the service
    records = gr.State({})  # chat index of an answer -> {"question", "answer", "citations"}
    with gr.Row(equal_height=True):
        question = gr.Textbox(elem_id=f"{prefix}-question", show_label=False, lines=2, max_lines=6, scale=8,
                              placeholder="質問を入力してください（例：この計画はいつまでの計画ですか？）")
        with gr.Column(scale=1, min_width=120):
            send = gr.Button("送信", variant="primary", elem_id=f"{prefix}-send")
            clear = gr.Button("会話をクリア", size="sm", elem_id=f"{prefix}-clear")
    if examples:
        gr.Markdown("**質問の例**（クリックするとそのまま質問します）")
        with gr.Row(elem_classes=["pa-examples"]):
            example_buttons = [gr.Button(q, size="sm", elem_classes=["pa-example"]) for q in examples]
    with gr.Group(visible=False, elem_id=f"{prefix}-feedback") as feedback_row:
        feedback_note = gr.Markdown()
        with gr.Row():
            reason = gr.Textbox(label="理由（任意）", placeholder="例：出典のページが違う、説明が分かりにくい", scale=6,
                                elem_id=f"{prefix}-feedback-reason")
            reason_send = gr.Button("理由を送る", scale=1, elem_id=f"{prefix}-feedback-send")
    feedback_id = gr.State(None)
    page = page if page is not None else gr.State(None)  # a PageContext, or None outside the embed

    if auth_state is not None:
        def respond(message, chat, turns, recs, page_context, token):
            refusal = authorize(token) if authorize else None
            yield from chat_turn(get_svc, filters, message, chat, turns, recs, refusal, page_context)
    else:
        def respond(message, chat, turns, recs, page_context, request: gr.Request):  # type: ignore[misc]
            refusal = authorize(None) if authorize else turn_refusal(limit, request)
            yield from chat_turn(get_svc, filters, message, chat, turns, recs, refusal, page_context)

    def rate(recs, data: gr.LikeData):
        rec = (recs or {}).get(str(data.index if isinstance(data.index, int) else data.index[0]))
        if rec is None or data.liked not in (True, False):
            return None, gr.update(visible=False), ""
        fid = feedback.add("good" if data.liked else "bad", rec["question"], rec["answer"], rec["citations"],
                           channel=prefix)
        note = "👍 評価を記録しました。ありがとうございます。" if data.liked else "👎 評価を記録しました。よろしければ理由をお聞かせください。"
        return fid, gr.update(visible=True), note

    def send_reason(fid, text):
        if fid and (text or "").strip():
            feedback.set_reason(fid, text)
            return None, gr.update(visible=False), "", ""
        return fid, gr.update(visible=True), "理由を入力してから送ってください。", text

    state = [chatbot, history, records, page] + ([auth_state] if auth_state is not None else [])
    inputs = [question, *state]
    outputs = [question, chatbot, history, records]
    send.click(respond, inputs, outputs)
    question.submit(respond, inputs, outputs)
    clear.click(lambda: ([], [], {}, gr.update(visible=False)), None, [chatbot, history, records, feedback_row])
    chatbot.clear(lambda: ([], {}, gr.update(visible=False)), None, [history, records, feedback_row])
    chatbot.like(rate, [records], [feedback_id, feedback_row, feedback_note])
    reason_send.click(send_reason, [feedback_id, reason], [feedback_id, feedback_row, feedback_note, reason])
    for button in example_buttons if examples else []:
        button.click(respond, [button, *state], outputs)  # the button's value is its question: one event
