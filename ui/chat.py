"""A chat panel over svc.ask_stream, used by the resident tab and the staff 質問 tab.

The visible chat holds escaped HTML (see ui.render); the raw turns passed to the service as
history live in a separate state, so follow-up questions work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import gradio as gr

from assistant.errors import INTERNAL_ERROR, PlanAssistantError
from assistant.feedback import FeedbackStore
from assistant.types import SearchFilters
from ui import render

log = logging.getLogger(__name__)


def build_chat(prefix: str, get_svc: Callable, filters: Callable[[], SearchFilters], feedback: FeedbackStore,
               examples: Sequence[str] = (), authorize: Callable[[str | None], str | None] | None = None,
               auth_state: gr.State | None = None, placeholder: str = "") -> None:
    """Lay out a chat panel inside the current Blocks context and wire its events.

    `authorize(token)` returns an error message (refused) or None; it guards every request.
    """
    chatbot = gr.Chatbot(elem_id=f"{prefix}-chat", label="会話", height=520, sanitize_html=True,
                         allow_tags=False, latex_delimiters=[], buttons=[], placeholder=placeholder,
                         feedback_options=("Like", "Dislike"), layout="bubble",
                         group_consecutive_messages=False)
    history = gr.State([])  # [{"role", "content"}] raw text for the service
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

    def respond(message, chat, turns, recs, token=None):
        chat, turns, recs = list(chat or []), list(turns or []), dict(recs or {})
        message = message or ""
        refusal = authorize(token) if authorize else None
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
        chat[-1] = {"role": "assistant", "content": render.answer_message(final)}
        turns += [{"role": "user", "content": message}, {"role": "assistant", "content": final.get("answer", "")}]
        recs[str(len(chat) - 1)] = {"question": message, "answer": final.get("answer", ""),
                                    "citations": final.get("citations", [])}
        yield "", chat, turns, recs

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

    inputs = [question, chatbot, history, records] + ([auth_state] if auth_state is not None else [])
    outputs = [question, chatbot, history, records]
    send.click(respond, inputs, outputs)
    question.submit(respond, inputs, outputs)
    clear.click(lambda: ([], [], {}, gr.update(visible=False)), None, [chatbot, history, records, feedback_row])
    chatbot.clear(lambda: ([], {}, gr.update(visible=False)), None, [history, records, feedback_row])
    chatbot.like(rate, [records], [feedback_id, feedback_row, feedback_note])
    reason_send.click(send_reason, [feedback_id, reason], [feedback_id, feedback_row, feedback_note, reason])
    for button, text in zip(example_buttons if examples else [], examples):
        button.click(lambda t=text: t, None, question).then(respond, inputs, outputs)
