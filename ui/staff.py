"""Staff workspace: token check, search with filters, and the staff chat (all documents)."""

from __future__ import annotations

import inspect
import logging
from typing import Protocol

import gradio as gr

from assistant.config import Settings
from assistant.errors import TOKEN_LOCKED, PlanAssistantError
from assistant.feedback import FeedbackStore
from assistant.limits import MINUTE, RateLimiter
from assistant.types import DOC_TYPE_LABELS, SearchFilters
from ui import render
from ui.chat import INTERNAL_ERROR, build_chat

log = logging.getLogger(__name__)
NO_TOKEN = ("職員向け機能は無効になっています。サーバーに職員トークン（環境変数 PLAN_ASSISTANT_STAFF_TOKEN）を"
            "設定して再起動してください。")
BAD_TOKEN = "職員トークンが正しくありません。入力し直してください。"
TYPE_CHOICES = [(label, t) for t, label in DOC_TYPE_LABELS.items()]
RESULT_HEADERS = ["文書", "章・節", "ページ", "スコア", "本文"]


class Authorizer(Protocol):
    def __call__(self, token: str | None, client: str | None = None) -> str | None: ...


def make_authorizer(settings: Settings, guard: RateLimiter | None = None) -> Authorizer:
    """`authorize(token)` → None when the token is the configured staff token, else the refusal message.

    `authorize(token, client)` is the login: a wrong token counts against `client`'s guessing limit, and
    once it is reached the client's tokens are refused, the right one too, until the window passes (as
    the API does). `guard` is the API's `app.state.token_guard`, so guesses at the API and at the UI share
    one budget; without it the UI keeps its own with the same rule (staff_token_failures_per_minute).
    """
    if guard is None:
        guard = RateLimiter([(settings.staff_token_failures_per_minute, MINUTE)])

    def authorize(token: str | None, client: str | None = None) -> str | None:
        if settings.staff_token is None:
            return NO_TOKEN
        if client is not None and guard.peek(client):
            return TOKEN_LOCKED
        if settings.staff_token_matches(token):
            return None
        if client is not None and token:
            guard.hit(client, force=True)
        return BAD_TOKEN

    return authorize


def client_host(request: gr.Request | None) -> str:
    """The client's address, as the API keys its limits (`request.client.host`)."""
    client = getattr(request, "client", None) if request is not None else None
    return str(getattr(client, "host", None) or "unknown")


def guarded(authorize, fn, n_outputs: int, status_index: int):
    """Wrap a handler whose first argument is the token: refusals and errors become a status message."""

    def run(token, *args, **kwargs):
        def fail(message):
            out = [gr.skip()] * n_outputs
            out[status_index] = render.status_html(message, "error")
            return tuple(out) if n_outputs > 1 else out[0]

        refusal = authorize(token)
        if refusal:
            return fail(refusal)
        try:
            return fn(*args, **kwargs)
        except PlanAssistantError as exc:
            return fail(str(exc))
        except Exception:
            log.exception("staff action failed")
            return fail(INTERNAL_ERROR)

    # gradio reads the signature to pass gr.Progress: show it the handler's own, after the token
    params = list(inspect.signature(fn).parameters.values())
    token_param = inspect.Parameter("token", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    run.__signature__ = inspect.Signature([token_param] + params)  # type: ignore[attr-defined]
    run.__name__ = fn.__name__
    return run


def document_choices(svc) -> list[tuple[str, str]]:
    return [(f"{d.title}（{d.doc_id}・{render.AUDIENCE_JA.get(d.audience, d.audience)}）", d.doc_id)
            for d in svc.documents()]


def build_login(authorize: Authorizer, token_state: gr.State) -> tuple[gr.Column, list]:
    """Token box. Returns the workspace column (shown only after a correct token) and the login events.
    A login counts against the client's staff-token guessing limit (`make_authorizer`)."""
    with gr.Row():
        token_box = gr.Textbox(label="職員トークン", type="password", elem_id="staff-token", scale=4,
                               placeholder="職員トークンを入力")
        login = gr.Button("ログイン", variant="primary", elem_id="staff-login", scale=1)
        logout = gr.Button("ログアウト", elem_id="staff-logout", scale=1)
    status = gr.HTML(elem_id="staff-login-status")
    workspace = gr.Column(visible=False, elem_id="staff-workspace")

    def do_login(token, request: gr.Request):
        refusal = authorize(token, client_host(request))
        if refusal:
            return None, render.status_html(refusal, "error"), gr.update(visible=False), ""
        return token, render.status_html("ログインしました。", "ok"), gr.update(visible=True), ""

    events = [login.click(do_login, [token_box], [token_state, status, workspace, token_box]),
              token_box.submit(do_login, [token_box], [token_state, status, workspace, token_box])]
    logout.click(lambda: (None, render.status_html("ログアウトしました。"), gr.update(visible=False)), None,
                 [token_state, status, workspace])
    return workspace, events


def build_search(get_svc, authorize, token_state: gr.State) -> gr.Dropdown:
    """The 検索 tab. Returns the document dropdown so login can fill it."""
    with gr.Row():
        query = gr.Textbox(label="検索語・質問", elem_id="staff-search-query", scale=5)
        run = gr.Button("検索", variant="primary", elem_id="staff-search-run", scale=1)
    with gr.Row():
        types = gr.Dropdown(TYPE_CHOICES, multiselect=True, label="文書の種別", elem_id="staff-search-type")
        year = gr.Number(label="年度（西暦、計画期間に含む）", precision=0, elem_id="staff-search-year")
        docs = gr.Dropdown([], multiselect=True, label="文書", elem_id="staff-search-docs")
        k = gr.Slider(1, 50, value=10, step=1, label="件数")
    status = gr.HTML()
    results = gr.Dataframe(headers=RESULT_HEADERS, datatype=["str", "str", "str", "number", "str"],
                           elem_id="staff-search-results", wrap=True, interactive=False,
                           column_widths=["18%", "18%", "7%", "7%", "50%"])

    def search(q, doc_types, fiscal_year, doc_ids, n):
        filters = SearchFilters(doc_types=doc_types or None, doc_ids=doc_ids or None,
                                fiscal_year=int(fiscal_year) if fiscal_year else None)
        passages = get_svc().search(q or "", int(n), filters)
        rows = [[p.title, p.section, render.page_label(p.page), round(float(p.score), 4), p.text] for p in passages]
        message = f"{len(rows)}件見つかりました。" if rows else "該当する箇所は見つかりませんでした。"
        return render.status_html(message, "ok" if rows else "info"), rows

    fn = guarded(authorize, search, 2, 0)
    run.click(fn, [token_state, query, types, year, docs, k], [status, results])
    query.submit(fn, [token_state, query, types, year, docs, k], [status, results])
    return docs


def build_staff_chat(get_svc, authorize, token_state: gr.State, feedback: FeedbackStore) -> None:
    gr.Markdown("庁内限りの文書も含めて回答します。回答を外部に出す際は出典の公開範囲を確認してください。")
    build_chat("staff", get_svc, lambda: SearchFilters(), feedback, authorize=authorize, auth_state=token_state)
