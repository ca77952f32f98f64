"""The chat on the city's own pages (issue 11, item 3): security headers, CSP frame-ancestors, CORS on the
resident routes, /embed.js, the page context, and the chat's own rate-limit message.

Quick: the app with a stub service (no index); the UI is built but no browser runs
(tests/test_embed_browser.py runs one).
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from assistant.api import create_app
from assistant.config import Settings
from assistant.errors import BUSY_MESSAGE
from assistant.limits import MINUTE, RateLimiter
from assistant.types import Answer, SearchFilters
from assistant.web import MAX_PAGE_TITLE_CHARS, MAX_PAGE_URL_CHARS, PageContext, page_context
from tests.helpers import service_settings

CITY = "https://www.city.example"
OTHER = "https://evil.example"


class StubService:
    """What the resident routes call, without an index; `calls` records what the chat asked."""

    answers_busy = False

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def search(self, query, k, filters):
        return []

    def ask(self, question, history, filters):
        return Answer(question, "回答[1]", abstained=False)

    def ask_stream(self, question, history, filters):
        self.calls.append((question, list(history), filters))
        yield {"type": "delta", "text": f"{question}の答え"}
        yield {"type": "answer", "answer": f"{question}の答え[1]", "abstained": False,
               "citations": [{"n": 1, "doc": "plan", "title": "総合計画", "section": "計画の期間", "page": 2,
                              "text": "計画期間は令和10年度まで"}]}

    def documents(self):
        return []


@pytest.fixture
def client(tmp_path):
    settings = service_settings(tmp_path, embed_origins=f"{CITY}, http://127.0.0.1:8001/")
    with TestClient(create_app(settings, service=StubService())) as c:  # type: ignore[arg-type]
        yield c


def _csp(response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in policy.split("; ")}


# ---------------------------------------------------------------------- settings
@pytest.mark.parametrize("value, expected", [
    ("https://www.City.example, http://127.0.0.1:8001/", ["https://www.city.example", "http://127.0.0.1:8001"]),
    ('["https://a.example:443", "http://b.example:8080"]', ["https://a.example", "http://b.example:8080"]),
    ("", []),
])
def test_embed_origins_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("PLAN_ASSISTANT_EMBED_ORIGINS", value)
    assert Settings().embed_origins == expected


@pytest.mark.parametrize("value", ["*", "https://*.city.example", "https://city.example/page", "city.example",
                                   "ftp://city.example", "https://user@city.example"])
def test_an_origin_that_is_not_one_site_is_refused_at_start_up(value):
    with pytest.raises(ValidationError, match="not an origin"):
        Settings(embed_origins=[value])


def test_embedding_is_off_by_default():
    assert Settings().embed_origins == []


# ---------------------------------------------------------------------- headers
def test_security_headers_on_every_response(client):
    for response in (client.get("/documents"), client.get("/nowhere"), client.post("/ask", json={}),
                     client.get("/embed.js"), client.get("/ui/")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "default-src 'self'" in response.headers["content-security-policy"]


def test_only_the_embed_page_may_be_framed_by_the_city_sites(client):
    embed = _csp(client.get("/embed/"))
    assert embed["frame-ancestors"] == f"'self' {CITY} http://127.0.0.1:8001"
    for path in ("/ui/", "/documents", "/embed.js", "/embedded"):
        response = client.get(path)
        assert _csp(response)["frame-ancestors"] == "'self'", path
        assert response.headers["x-frame-options"] == "SAMEORIGIN"


def test_no_site_may_frame_the_embed_page_when_embedding_is_off(tmp_path):
    with TestClient(create_app(service_settings(tmp_path), service=StubService())) as c:  # type: ignore[arg-type]
        assert _csp(c.get("/embed/"))["frame-ancestors"] == "'self'"


def test_docs_page_may_load_swagger_from_its_cdn(client):
    assert "https://cdn.jsdelivr.net" in _csp(client.get("/docs"))["script-src"]
    assert "cdn.jsdelivr.net" not in _csp(client.get("/ui/"))["script-src"]


def test_the_answer_stream_passes_the_middleware_untouched(client):
    with client.stream("POST", "/ask/stream", json={"question": "計画期間"}, headers={"Origin": CITY}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["access-control-allow-origin"] == CITY
        events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    assert [e["type"] for e in events] == ["delta", "answer"]


# ---------------------------------------------------------------------- CORS
def _preflight(client, origin: str, headers: str = "content-type", path: str = "/ask"):
    return client.options(path, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": headers})


@pytest.mark.parametrize("path", ["/ask", "/ask/stream", "/search"])
def test_preflight_from_an_allowed_site(client, path):
    response = _preflight(client, CITY, path=path)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == CITY
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in response.headers


def test_preflight_and_calls_from_another_site_are_refused(client):
    for response in (_preflight(client, OTHER), client.post("/search", json={"query": "計画"}, headers={"Origin": OTHER}),
                     client.post("/ask", json={"question": "計画"}, headers={"Origin": "null"})):
        assert response.status_code == 403
        assert "access-control-allow-origin" not in response.headers
        assert response.json() == {"error": {"code": "forbidden_origin", "message": "このサイトからの利用は許可されていません。"}}


def test_allowed_site_may_not_send_the_staff_token(client):
    response = _preflight(client, CITY, headers="content-type, x-staff-token")
    assert response.status_code == 400  # a browser sends nothing after a failed preflight
    assert "x-staff-token" not in response.headers["access-control-allow-headers"].lower()


def test_the_ui_api_takes_browser_calls_from_the_servers_own_pages_only(client):
    event = "/embed/gradio_api/queue/join"  # no UI mounted here: a call that passes reaches no route (404)
    for origin in (OTHER, CITY):
        refused = client.post(event, json={}, headers={"Origin": origin})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden_origin"
        assert "access-control-allow-origin" not in refused.headers
    assert client.post(event, json={}, headers={"Origin": "http://testserver"}).status_code == 404
    assert client.post(event, json={}).status_code == 404  # not a browser
    # behind a proxy that rewrites Host, the host the browser used comes as X-Forwarded-Host
    proxied = {"Origin": "https://assistant.city.example", "X-Forwarded-Host": "assistant.city.example"}
    assert client.post(event, json={}, headers=proxied).status_code == 404
    assert client.get("/ui/gradio_api/info", headers={"Origin": OTHER}).status_code == 403


def test_calls_from_an_allowed_site_get_cors_and_others_pass_as_before(client):
    allowed = client.post("/search", json={"query": "計画"}, headers={"Origin": CITY})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == CITY
    assert "retry-after" in allowed.headers["access-control-expose-headers"].lower()
    own = client.post("/search", json={"query": "計画"}, headers={"Origin": "http://testserver"})  # the server's own page
    assert own.status_code == 200 and "access-control-allow-origin" not in own.headers
    assert client.post("/search", json={"query": "計画"}).status_code == 200  # not a browser
    # routes other than the resident ones are untouched by the origin check
    assert client.get("/documents", headers={"Origin": OTHER}).status_code == 200


# ---------------------------------------------------------------------- embed.js
def test_embed_script_carries_the_allowlist_and_frames_the_embed_page(client):
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "max-age" in response.headers["cache-control"]
    script = response.text
    assert f'var ALLOWED = ["{CITY}", "http://127.0.0.1:8001"];' in script
    assert '"/embed/?"' in script and "page_url" in script and "page_title" in script
    assert "innerHTML" not in script  # the label and the page title are text, never markup


# ---------------------------------------------------------------------- page context
ORIGINS = [CITY]


def test_page_context_keeps_scheme_host_and_path_only():
    page = page_context(f"{CITY}/kurashi/bus.html?id=123&mail=a@b.jp#top", "  バスの\nご案内\x00 ", ORIGINS)
    assert page == PageContext(url=f"{CITY}/kurashi/bus.html", title="バスの ご案内")
    assert page.note() == "（「バスの ご案内」のページからのご質問）"
    assert page_context(f"{CITY}", None, ORIGINS).note() == f"（{CITY}/ のページからのご質問）"


@pytest.mark.parametrize("url", [
    None, "", f"{OTHER}/page.html", "javascript:alert(1)", "data:text/html,hi", "ftp://www.city.example/x",
    "https://user:pw@www.city.example/x", "/relative/path", "https://www.city.example.evil.example/x",
    f"{CITY}/" + "a" * MAX_PAGE_URL_CHARS,
])
def test_page_context_refuses_what_is_not_a_page_of_an_allowed_site(url):
    assert page_context(url, "題名", ORIGINS) is None


def test_page_context_of_the_servers_own_pages_and_a_long_title():
    page = page_context("http://127.0.0.1:8000/ui/", "あ" * 500, [], own_hosts=["127.0.0.1:8000"])
    assert page is not None and len(page.title) == MAX_PAGE_TITLE_CHARS and page.title.endswith("…")
    assert page_context("http://127.0.0.1:8000/ui/", "", [], own_hosts=["127.0.0.1:9999", None]) is None


def test_the_embed_page_reads_and_refuses_the_page_it_is_framed_on():
    from ui.embed import read_page

    settings = Settings(embed_origins=[CITY])

    def request(**params):
        return SimpleNamespace(query_params=params, headers={"host": "assistant.city.example"})

    page, notice = read_page(settings, request(page_url=f"{CITY}/bus.html", page_title="バス"))
    assert page == PageContext(f"{CITY}/bus.html", "バス") and notice == ""
    page, notice = read_page(settings, request(page_url=f"{OTHER}/x.html"))
    assert page is None and OTHER in notice and "許可されていません" in notice
    assert read_page(settings, request()) == (None, "")


# ---------------------------------------------------------------------- the chat
def _run(turn) -> list[tuple]:
    return list(turn)


def test_page_context_is_shown_with_the_answer_and_never_changes_the_search():
    from ui.chat import chat_turn

    svc = StubService()
    filters = SearchFilters(audiences=["public"])
    plain = _run(chat_turn(lambda: svc, lambda: filters, "計画期間は？", [], [], {}))
    page = PageContext(f"{CITY}/bus.html", '<script>alert(1)</script>バス')
    framed = _run(chat_turn(lambda: svc, lambda: filters, "計画期間は？", [], [], {}, page=page))
    assert svc.calls[0] == svc.calls[1]  # same question, history and filters
    plain_answer, framed_answer = plain[-1][1][-1]["content"], framed[-1][1][-1]["content"]
    assert "pa-context" not in plain_answer
    assert framed_answer.startswith(plain_answer)
    assert "（「&lt;script&gt;alert(1)&lt;/script&gt;バス」のページからのご質問）" in framed_answer
    assert "<script>" not in framed_answer
    assert framed[-1][3] == plain[-1][3]  # the record kept for feedback is the same


def test_a_chat_turn_over_the_limit_says_busy_in_the_chat():
    from ui.chat import chat_turn, turn_refusal

    limiter = RateLimiter([(1, MINUTE)])
    request = SimpleNamespace(client=SimpleNamespace(host="192.0.2.1"))
    assert turn_refusal(limiter.hit, request) is None
    refusal = turn_refusal(limiter.hit, request)
    assert refusal == BUSY_MESSAGE
    svc = StubService()
    updates = _run(chat_turn(lambda: svc, SearchFilters, "計画期間は？", [], [], {}, refusal=refusal))
    box, chat, _, _ = updates[-1]
    assert box == "計画期間は？"  # kept, to send again later
    assert BUSY_MESSAGE in chat[-1]["content"] and "pa-error" in chat[-1]["content"]
    assert not svc.calls  # the service was not asked
    other = SimpleNamespace(client=SimpleNamespace(host="192.0.2.2"))
    assert turn_refusal(limiter.hit, other) is None  # per client
    assert turn_refusal(None, request) is None  # staff chat: no limit


@pytest.mark.parametrize("per_minute, per_day, rules", [(60, 2000, [(30, MINUTE), (1000, 86400.0)]),
                                                         (1, 0, [(1, MINUTE)]), (0, 0, [])])
def test_the_chat_budget_is_half_the_ui_events(per_minute, per_day, rules):
    from ui.chat import chat_limiter

    limiter = chat_limiter(Settings(rate_limit_per_minute=per_minute, rate_limit_per_day=per_day))
    assert limiter.rules == rules


def test_the_chat_sends_an_answer_back_with_the_documents_it_cited():
    from ui.chat import chat_turn

    svc = StubService()
    first = _run(chat_turn(lambda: svc, SearchFilters, "計画期間は？", [], [], {}))
    turns = first[-1][2]
    assert turns[-1] == {"role": "assistant", "content": "計画期間は？の答え[1]", "documents": ["plan"]}
    _run(chat_turn(lambda: svc, SearchFilters, "それはいつまで？", first[-1][1], turns, first[-1][3]))
    assert svc.calls[1][1] == turns  # the follow-up goes out with them
