"""Admission (issue 11, item 1): the per-client limiter, 429 / 503 with Retry-After in the one error
shape, staff-token guessing locked out, and the gate in front of the generator (full queue → 503,
long wait → an extractive answer with a notice) with a slow scripted generator in a second thread.
"""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.errors import BUSY_MESSAGE, Busy
from assistant.limits import DAY, MINUTE, AnswerGate, RateLimiter
from assistant.service import BUSY_NOTICE
from assistant.types import Answer
from tests.fakes import ScriptedGenerator, is_answer_request
from tests.helpers import sample_service, service_settings

TOKEN = "test-token"
QUESTION = "後期基本計画の計画期間はいつからいつまでですか"


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


# ---------------------------------------------------------------------- the limiter
def test_limiter_admits_the_limit_then_says_when():
    clock = Clock(6000.0)  # the start of a minute window
    lim = RateLimiter([(3, MINUTE)], clock=clock)
    assert [lim.hit("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = lim.hit("a")
    assert 0 < wait <= 2 * MINUTE  # the previous window is taken as evenly spread: up to two periods
    assert lim.hit("b") == 0.0  # per client
    assert lim.peek("a") == pytest.approx(wait)  # refused hits are not counted
    clock.t += wait + 0.01
    assert lim.hit("a") == 0.0
    assert lim.hit("a") > 0


def test_limiter_window_slides():
    """Right after a window with 3 hits the estimate still holds them: no burst of twice the limit."""
    clock = Clock(6000.0)
    lim = RateLimiter([(3, MINUTE)], clock=clock)
    clock.t += 59
    for _ in range(3):
        assert lim.hit("a") == 0.0
    clock.t += 2  # next window, 1/60 in: the previous 3 still weigh ≈ 2.9
    assert lim.hit("a") > 0
    clock.t += 25  # 26/60 in: 3 × 34/60 = 1.7, room for one more
    assert lim.hit("a") == 0.0
    assert lim.hit("a") > 0
    clock.t += 2 * MINUTE  # two windows later nothing is left
    assert [lim.hit("a") for _ in range(3)] == [0.0, 0.0, 0.0]


def test_limiter_every_rule_must_pass_and_zero_is_off():
    clock = Clock(0.0)
    lim = RateLimiter([(100, MINUTE), (5, DAY)], clock=clock)
    assert all(lim.hit("a") == 0.0 for _ in range(5))
    assert lim.hit("a") > MINUTE  # the day rule: hours, not seconds
    off = RateLimiter([(0, MINUTE), (0, DAY)], clock=clock)
    assert not off.enabled and all(off.hit("a") == 0.0 for _ in range(1000))


def test_forced_hits_count_even_when_refused():
    clock = Clock(0.0)
    lim = RateLimiter([(2, MINUTE)], clock=clock)
    lim.hit("a", force=True)
    lim.hit("a", force=True)
    assert lim.peek("a") > 0
    lim.hit("a", force=True)  # a third failure while locked out lengthens the lock-out
    clock.t += MINUTE + 1
    assert lim.peek("a") > 0  # 3 × (1 − 1/60) + 1 > 2


def test_limiter_forgets_the_least_recent_client():
    lim = RateLimiter([(1, MINUTE)], clock=Clock(0.0), max_keys=2)
    lim.hit("a"), lim.hit("b"), lim.hit("c")
    assert lim.peek("a") == 0.0 and lim.peek("c") > 0


# ---------------------------------------------------------------------- the API
class StubService:
    """What the routes call, without an index: admission is decided before the service is reached."""

    answers_busy = False

    def search(self, query, k, filters):
        return []

    def ask(self, question, history, filters):
        return Answer(question, "回答[1]", abstained=False)

    def documents(self):
        return []


@pytest.fixture
def api(tmp_path):
    settings = service_settings(tmp_path, staff_token=TOKEN, rate_limit_per_minute=3, rate_limit_per_day=100,
                                staff_token_failures_per_minute=3)
    app = create_app(settings, service=StubService())  # type: ignore[arg-type]
    with TestClient(app) as client:
        yield app, client


def assert_try_later(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    return body["error"]


def test_resident_routes_are_rate_limited_per_client(api):
    _, client = api
    for _ in range(3):
        assert client.post("/search", json={"query": "計画"}).status_code == 200
    error = assert_try_later(client.post("/ask", json={"question": "計画期間は？"}), 429, "rate_limited")
    assert error["message"] == BUSY_MESSAGE
    assert_try_later(client.post("/ask/stream", json={"question": "計画期間は？"}), 429, "rate_limited")
    # staff are not counted, and other routes are not limited
    assert client.post("/search", json={"query": "計画"}, headers={"X-Staff-Token": TOKEN}).status_code == 200
    assert client.get("/documents").status_code == 200


def test_ui_events_are_rate_limited(api):
    _, client = api
    for _ in range(3):  # no UI mounted here: the event reaches no route, but it is counted
        assert client.post("/ui/gradio_api/queue/join", json={}).status_code == 404
    assert_try_later(client.post("/ui/gradio_api/queue/join", json={}), 429, "rate_limited")
    assert client.get("/ui/gradio_api/queue/data").status_code == 404  # only event posts count


def test_staff_token_guessing_is_locked_out(api):
    app, client = api
    clock = Clock(0.0)
    app.state.token_guard = RateLimiter([(3, MINUTE)], clock=clock)
    for guess in ("a", "b", "c"):
        assert client.get("/feedback/export", headers={"X-Staff-Token": guess}).status_code == 401
    right = client.get("/feedback/export", headers={"X-Staff-Token": TOKEN})
    error = assert_try_later(right, 429, "rate_limited")
    assert "職員トークン" in error["message"]
    # a resident route with a token is refused too; without one it works
    assert client.post("/search", json={"query": "計画"}, headers={"X-Staff-Token": TOKEN}).status_code == 429
    assert client.post("/search", json={"query": "計画"}).status_code == 200
    clock.t += 2 * MINUTE
    assert client.get("/feedback/export", headers={"X-Staff-Token": TOKEN}).status_code == 200


def test_busy_answers_are_503_before_the_stream_starts(api):
    _, client = api
    StubService.answers_busy = True
    try:
        assert_try_later(client.post("/ask/stream", json={"question": "計画期間は？"}), 503, "busy")
    finally:
        StubService.answers_busy = False


# ---------------------------------------------------------------------- the gate
def test_gate_queue_and_timeout():
    gate = AnswerGate(slots=1, max_waiting=1, max_wait_s=0.05)
    assert gate.enter()
    assert not gate.enter()  # waited 0.05 s for the slot
    gate.waiting = 1  # someone else is waiting
    assert gate.full
    with pytest.raises(Busy) as refused:
        gate.enter()
    assert refused.value.retry_after == 1
    gate.waiting = 0
    gate.leave()
    assert gate.enter()


@pytest.fixture(scope="module")
def slow(tmp_path_factory):
    """A service whose generator blocks until the test releases it: one answer holds the only slot."""
    fake = ScriptedGenerator("slow")
    started, release = threading.Event(), threading.Event()

    def reply(prompt):
        started.set()
        release.wait(10)
        return "計画期間は令和6年度から令和10年度までです[1]。"

    fake.when(is_answer_request, reply)
    svc = sample_service(tmp_path_factory.mktemp("gate-data"), llm=fake)
    yield svc, fake, started, release
    svc.close()


def hold_the_slot(slow, max_waiting: int, max_wait_s: float) -> tuple[threading.Thread, dict]:
    svc, fake, started, release = slow
    svc.gate = AnswerGate(1, max_waiting, max_wait_s)
    started.clear(), release.clear()
    out: dict = {}
    first = threading.Thread(target=lambda: out.setdefault("answer", svc.ask(QUESTION)))
    first.start()
    assert started.wait(30), "the first answer never reached the generator"
    return first, out


def test_a_long_wait_is_answered_extractively_with_a_notice(slow):
    svc, fake, _, release = slow
    first, out = hold_the_slot(slow, max_waiting=2, max_wait_s=0.2)
    try:
        calls = len(fake.prompts)
        answer = svc.ask(QUESTION)
        assert answer.notice == BUSY_NOTICE and answer.generator == "extractive"
        assert not answer.abstained and answer.citations and "令和" in answer.text
        assert len(fake.prompts) == calls  # the generator was not asked
    finally:
        release.set()
        first.join(30)
    assert out["answer"].notice != BUSY_NOTICE  # the first one had the slot
    assert svc.gate.active == 0 and svc.gate.waiting == 0


def test_a_full_queue_is_refused_with_503(slow):
    svc, _, _, release = slow
    first, _ = hold_the_slot(slow, max_waiting=0, max_wait_s=5)
    try:
        with pytest.raises(Busy):
            svc.ask(QUESTION)
        assert svc.answers_busy
        with TestClient(create_app(svc.settings, service=svc)) as client:
            for route in ("/ask", "/ask/stream"):
                error = assert_try_later(client.post(route, json={"question": QUESTION}), 503, "busy")
                assert error["message"] == BUSY_MESSAGE
    finally:
        release.set()
        first.join(30)
    assert not svc.answers_busy
