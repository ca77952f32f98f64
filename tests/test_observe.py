"""Operability (issue 11, item 7): JSON access logs, Prometheus metrics, readiness, and the UI login's
staff-token guessing limit. Against a real started service over the bundled sample documents."""

from __future__ import annotations

import http.server
import json
import logging
import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from assistant.api import create_app
from assistant.config import Settings
from assistant.errors import TOKEN_LOCKED
from assistant.limits import MINUTE, AnswerGate, RateLimiter
from assistant.llm import OpenAICompatGenerator
from assistant.observe import access_log
from assistant.service import PlanAssistant
from eval.llm_server import free_port
from tests.helpers import sample_service, service_settings

TOKEN = "test-token"
STAFF = {"Authorization": f"Bearer {TOKEN}"}
QUESTION = "後期基本計画の計画期間はいつからいつまでですか"
# personal data a resident might type: must never reach the log as typed
PERSONAL = "私は山田太郎です。電話は090-1234-5678です。"
LOG_FIELDS = {"time", "method", "route", "status", "latency_ms", "client"}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = sample_service(tmp_path_factory.mktemp("observe-data"), staff_token=TOKEN)
    yield svc
    svc.close()


def make_client(service: PlanAssistant, **overrides) -> TestClient:
    return TestClient(create_app(service.settings.model_copy(update=overrides), service=service))


@pytest.fixture(scope="module")
def client(service):
    with make_client(service) as c:
        yield c


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def access_lines() -> Iterator[Lines]:
    """What the access logger writes, whatever handlers the logging configuration gave it."""
    lines = Lines()
    access_log.addHandler(lines)
    try:
        yield lines
    finally:
        access_log.removeHandler(lines)


def metrics(client: TestClient) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics as {(name, sorted labels): value}, parsed by prometheus_client."""
    r = client.get("/metrics", headers=STAFF)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def sample(values: dict, name: str, **labels) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


def assert_error_shape(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    return body["error"]["message"]


# ---------------------------------------------------------------------- access log
def test_one_json_line_per_request_with_route_templates_and_no_question(client, access_lines):
    answer = client.post("/ask", json={"question": QUESTION})
    assert answer.status_code == 200, answer.text
    assert client.delete("/documents/no-such-document").status_code == 401  # no token
    assert client.get("/no/such/path").status_code == 404

    records = access_lines.records()
    assert len(access_lines.lines) == 3 and all("\n" not in line for line in access_lines.lines)
    ask, delete, missing = records
    assert LOG_FIELDS <= set(ask) and LOG_FIELDS <= set(delete)
    assert (ask["method"], ask["route"], ask["status"]) == ("POST", "/ask", 200)
    assert ask["client"] == "testclient" and ask["latency_ms"] > 0
    assert ask["generator"] == answer.json()["generator"] == "extractive"
    assert ask["abstained"] is answer.json()["abstained"] is False
    # the route template, not the path with its id; an unknown path does not become a label
    assert (delete["route"], delete["status"]) == ("/documents/{doc_id}", 401)
    assert "no-such-document" not in access_lines.lines[1] and "generator" not in delete
    assert missing["route"] == "<unmatched>" and missing["status"] == 404
    # no question text unless log_questions is on
    assert "question" not in ask
    assert "計画期間" not in access_lines.lines[0]


def test_the_question_is_logged_masked_when_enabled(service, access_lines):
    with make_client(service, log_questions=True) as c:
        assert c.post("/ask", json={"question": QUESTION + PERSONAL}).status_code == 200
    (line,) = access_lines.records()
    assert QUESTION in line["question"]
    assert "〔電話番号〕" in line["question"] and "〔氏名〕" in line["question"]
    assert "090-1234-5678" not in access_lines.lines[0] and "山田太郎" not in access_lines.lines[0]


def test_a_stream_is_logged_once_when_it_ends_with_its_answer(client, access_lines):
    with client.stream("POST", "/ask/stream", json={"question": "今日の東京の天気と株価を教えてください"}) as r:
        assert r.status_code == 200
        assert access_lines.lines == []  # nothing logged while the stream is open
        events = [json.loads(x[6:]) for x in r.iter_lines() if x.startswith("data: ")]
    final = events[-1]
    assert final["type"] == "answer"
    (line,) = access_lines.records()
    assert (line["route"], line["status"]) == ("/ask/stream", 200)
    assert line["generator"] == final["generator"] and line["abstained"] is final["abstained"]


# ---------------------------------------------------------------------- metrics
def test_metrics_need_the_staff_token_unless_public(service, client):
    assert "職員トークン" in assert_error_shape(client.get("/metrics"), 401, "unauthorized")
    assert client.get("/metrics", headers={"X-Staff-Token": TOKEN}).status_code == 200
    with make_client(service, metrics_public=True) as public:
        assert public.get("/metrics").status_code == 200
    with make_client(service, staff_token=None) as no_token:  # no token can open it: say how to
        assert "METRICS_PUBLIC" in assert_error_shape(no_token.get("/metrics", headers=STAFF), 401, "unauthorized")


def test_wrong_tokens_on_metrics_lock_the_client_out(service):
    with make_client(service) as c:
        clock = [0.0]
        c.app.state.token_guard = RateLimiter([(3, MINUTE)], clock=lambda: clock[0])
        for guess in ("a", "b", "c"):
            assert c.get("/metrics", headers={"Authorization": f"Bearer {guess}"}).status_code == 401
        assert assert_error_shape(c.get("/metrics", headers=STAFF), 429, "rate_limited") == TOKEN_LOCKED
        clock[0] += 2 * MINUTE
        assert c.get("/metrics", headers=STAFF).status_code == 200


def test_counters_move_after_requests(service, client):
    before = metrics(client)
    for _ in range(2):
        assert client.post("/ask", json={"question": QUESTION}).status_code == 200
    assert client.post("/search", json={"query": "計画期間", "k": 3}).status_code == 200
    after = metrics(client)

    def moved(name, **labels):
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("plan_assistant_http_requests_total", method="POST", route="/ask", status="200") == 2
    assert moved("plan_assistant_http_requests_total", method="POST", route="/search", status="200") == 1
    assert moved("plan_assistant_http_request_duration_seconds_count", method="POST", route="/ask",
                 status="200") == 2
    assert moved("plan_assistant_answers_total", generator="extractive", abstained="false") == 2
    assert moved("plan_assistant_answer_duration_seconds_count", generator="extractive") == 2
    # the index, read when scraped
    assert sample(after, "plan_assistant_documents") == len(service.documents()) >= 10
    assert sample(after, "plan_assistant_chunks") == service.store.count() > 0


def test_each_app_has_its_own_registry(service):
    with make_client(service) as one, make_client(service) as other:
        assert other.get("/health").status_code == 200
        assert sample(metrics(other), "plan_assistant_http_requests_total",
                      method="GET", route="/health", status="200") == 1
        assert sample(metrics(one), "plan_assistant_http_requests_total",
                      method="GET", route="/health", status="200") == 0


def test_rate_limit_rejections_are_counted(service):
    with make_client(service, rate_limit_per_minute=1) as c:
        assert c.post("/search", json={"query": "計画期間"}).status_code == 200
        assert c.post("/search", json={"query": "計画期間"}).status_code == 429
        assert sample(metrics(c), "plan_assistant_rate_limited_total", route="/search") == 1


def test_answer_gate_gauges(service, client):
    saved, service.gate = service.gate, AnswerGate(1, 2, 10.0)
    try:
        assert service.gate.enter()  # an answer holds the only slot …
        waiter = threading.Thread(target=lambda: service.gate.enter() and service.gate.leave())
        waiter.start()  # … and a second question waits for it
        deadline = time.monotonic() + 10
        while service.gate.waiting < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        values = metrics(client)
        assert sample(values, "plan_assistant_answers_active") == 1
        assert sample(values, "plan_assistant_answer_queue_length") == 1
        assert sample(values, "plan_assistant_answer_queue_capacity") == 2
        service.gate.leave()
        waiter.join(10)
        assert sample(metrics(client), "plan_assistant_answer_queue_length") == 0
    finally:
        service.gate = saved


# ---------------------------------------------------------------------- readiness
def wait_ready(client: TestClient, seconds: float = 60):
    """The first probes may say the generator is loading (it loads in the background); then 200."""
    deadline = time.monotonic() + seconds
    while True:
        r = client.get("/health/ready")
        if r.status_code == 200 or time.monotonic() > deadline:
            return r
        assert "読み込み中" in assert_error_shape(r, 503, "model_unavailable")
        time.sleep(0.2)


def test_ready_on_a_started_service(service, client):
    r = wait_ready(client)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready"
    assert body["index"] == {"ready": True, "documents": len(service.documents()), "chunks": service.store.count()}
    assert body["generator"] == {"ready": True, "name": "extractive"}
    assert client.get("/health").status_code == 200  # liveness unchanged


def test_not_ready_without_a_started_service(tmp_path):
    app = create_app(service_settings(tmp_path))
    message = assert_error_shape(TestClient(app).get("/health/ready"), 503, "store_unavailable")  # no lifespan
    assert "起動していません" in message
    unstarted = PlanAssistant(service_settings(tmp_path / "other"))
    message = assert_error_shape(TestClient(create_app(unstarted.settings, service=unstarted)).get("/health/ready"),
                                 503, "store_unavailable")
    assert "起動していません" in message


class Models(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible server's model list, and nothing else."""

    def do_GET(self):  # noqa: N802
        body = json.dumps({"object": "list", "data": [{"id": "local", "object": "model"}]}).encode()
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_ready_only_while_the_model_server_answers(tmp_path):
    port = free_port()
    generator = OpenAICompatGenerator(f"http://127.0.0.1:{port}/v1", "local", timeout=2.0)
    with PlanAssistant(service_settings(tmp_path), generator=generator) as svc, \
            TestClient(create_app(svc.settings, service=svc)) as c:
        deadline = time.monotonic() + 60
        while "読み込み中" in (message := assert_error_shape(c.get("/health/ready"), 503, "model_unavailable")):
            assert time.monotonic() < deadline
        assert f"127.0.0.1:{port}" in message  # nothing listens there yet
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Models)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            r = c.get("/health/ready")
            assert r.status_code == 200, r.text
            assert r.json()["generator"] == {"ready": True, "name": "openai-compat:local"}
            assert r.json()["index"] == {"ready": True, "documents": 0, "chunks": 0}
        finally:
            server.shutdown()
            server.server_close()
        assert_error_shape(c.get("/health/ready"), 503, "model_unavailable")


# ---------------------------------------------------------------------- the UI's staff login
def test_ui_login_locks_a_guessing_client_out():
    from ui.staff import BAD_TOKEN, make_authorizer

    clock = [0.0]
    guard = RateLimiter([(3, MINUTE)], clock=lambda: clock[0])
    authorize = make_authorizer(Settings(staff_token=TOKEN), guard)
    assert [authorize(guess, "10.0.0.1") for guess in ("a", "b", "c")] == [BAD_TOKEN] * 3
    assert authorize(TOKEN, "10.0.0.1") == TOKEN_LOCKED  # even the right token
    assert authorize(TOKEN, "10.0.0.2") is None  # per client
    assert authorize(TOKEN) is None  # a logged-in session's own checks are not logins
    assert authorize("", "10.0.0.3") == BAD_TOKEN and guard.peek("10.0.0.3") == 0  # an empty box is no guess
    clock[0] += 2 * MINUTE
    assert authorize(TOKEN, "10.0.0.1") is None


def test_ui_login_shares_the_api_guard(service):
    """Given the API's guard, guesses at the UI lock the client out of the API too."""
    from ui.staff import make_authorizer

    with make_client(service, staff_token_failures_per_minute=2) as c:
        authorize = make_authorizer(service.settings, c.app.state.token_guard)
        authorize("wrong", "testclient"), authorize("wrong again", "testclient")
        assert assert_error_shape(c.get("/metrics", headers=STAFF), 429, "rate_limited") == TOKEN_LOCKED


def test_ui_login_through_the_app_is_limited_per_client(service, access_lines):
    """The login button's event, called through the mounted UI: after the limit, the right token is refused."""
    from assistant.cli.serve import build_app

    settings = service.settings.model_copy(update={"staff_token_failures_per_minute": 2})

    def login(c: TestClient, token: str) -> str:
        event = c.post("/ui/gradio_api/call/do_login", json={"data": [token]})
        assert event.status_code == 200, event.text
        result = c.get(f"/ui/gradio_api/call/do_login/{event.json()['event_id']}")
        data = next(line for line in result.text.splitlines() if line.startswith("data: "))
        return json.loads(data[6:])[1]  # the status message

    with TestClient(build_app(settings, service=service)) as c:
        assert "ログインしました" in login(c, TOKEN)
        assert "正しくありません" in login(c, "wrong")
        assert "正しくありません" in login(c, "wrong again")
        assert TOKEN_LOCKED in login(c, TOKEN)
    # the UI's requests are logged by route template, with the prefix it is mounted at
    assert {line["route"] for line in access_lines.records()} >= {"/ui/gradio_api/call/{api_name}",
                                                                   "/ui/gradio_api/call/{api_name}/{event_id}"}
