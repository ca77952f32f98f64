"""The HTTP API, in process, against a real started service over the bundled sample documents.

Locks the one JSON error shape, and access control: without the staff token, nothing from a
staff-only document (the internal memo) is ever returned by /search, /ask, /ask/stream or /documents.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.cli.serve import build_app
from assistant.config import Settings
from assistant.feedback import FeedbackStore
from assistant.service import PlanAssistant
from tests.helpers import sample_service, service_settings

TOKEN = "test-token"
STAFF = {"X-Staff-Token": TOKEN}
MEMO = "midorino_chonai_kentou_memo"  # audience: staff
MEMO_QUESTION = "旧桜田小学校の跡地はどうする方針ですか"
MEMO_ONLY = ("旧桜田", "売却")  # words that appear in no public document
PLAN = "midorino_sogo_keikaku_kouki_soan"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = sample_service(tmp_path_factory.mktemp("api-data"), staff_token=TOKEN)
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def settings(service) -> Settings:
    return service.settings


@pytest.fixture(scope="module")
def client(settings, service):
    with TestClient(build_app(settings, service=service)) as c:  # the app `serve` runs: API and UI
        yield c


def sse_events(response) -> list[dict]:
    return [json.loads(line[len("data: "):]) for line in response.text.splitlines() if line.startswith("data: ")]


def assert_error_shape(response, status: int | tuple[int, ...], code: str | None = None) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def mentions_memo(text: str) -> bool:
    return any(word in text for word in MEMO_ONLY)


# ---------------------------------------------------------------------- basics
def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["documents"] >= 10
    assert body["generator"].startswith("extractive")


def test_ask_answers_with_cited_page(client):
    r = client.post("/ask", json={"question": "後期基本計画の計画期間はいつからいつまでですか"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body["abstained"]
    assert "令和10年度" in body["answer"] or "令和１０年度" in body["answer"]
    assert any(c["doc"] == PLAN and c["page"] == 2 for c in body["citations"]), body["citations"]
    assert {"n", "doc", "title", "section", "page", "text"} <= set(body["citations"][0])


def test_ask_follow_up_uses_history(client):
    history = [{"role": "user", "content": "デマンド型乗合タクシー「のりあいみどり」はどの地区で運行しますか"},
               {"role": "assistant", "content": "西山地区で運行します。",
                "documents": ["midorino_chiiki_koukyou_koutsuu_keikaku"]}]  # as the chat sends an answer back
    r = client.post("/ask", json={"question": "それはいつから？", "history": history})
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body["abstained"]
    assert any(c["doc"] == "midorino_chiiki_koukyou_koutsuu_keikaku" for c in body["citations"])


def test_unanswerable_question_abstains(client):
    r = client.post("/ask", json={"question": "みどり野市の面積は何平方キロメートルですか"})
    assert r.status_code == 200
    body = r.json()
    assert body["abstained"]
    assert body["citations"] == []


def test_ask_stream_sends_deltas_then_the_answer(client):
    r = client.post("/ask/stream", json={"question": "公共交通の利用者数の目標は？"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r)
    deltas = [e for e in events if e["type"] == "delta"]
    assert deltas and events[-1]["type"] == "answer"
    assert "".join(e["text"] for e in deltas) == events[-1]["answer"]
    assert events[-1]["citations"]


def test_ask_stream_reports_errors_as_an_event(client):
    events = sse_events(client.post("/ask/stream", json={"question": "  "}))
    assert events[-1]["type"] == "error"
    assert events[-1]["error"]["code"] == "bad_request"


def test_search_returns_passages_with_pages(client):
    r = client.post("/search", json={"query": "デマンド型乗合タクシー のりあいみどり 運行開始", "k": 5})
    assert r.status_code == 200, r.text
    passages = r.json()["passages"]
    assert 0 < len(passages) <= 5
    assert passages[0]["doc"] == "midorino_chiiki_koukyou_koutsuu_keikaku"
    assert {"doc", "title", "section", "page", "text", "score", "type"} <= set(passages[0])


def test_search_filters_by_document_type(client):
    r = client.post("/search", json={"query": "意見 市の考え方", "k": 10, "filters": {"type": ["consultation"]}})
    assert r.status_code == 200, r.text
    passages = r.json()["passages"]
    assert passages and all(p["type"] == "consultation" for p in passages)


# ---------------------------------------------------------------------- access control
def test_documents_list_hides_staff_documents_from_residents(client):
    resident = {d["doc_id"] for d in client.get("/documents").json()["documents"]}
    staff = {d["doc_id"] for d in client.get("/documents", headers=STAFF).json()["documents"]}
    wrong = {d["doc_id"] for d in client.get("/documents", headers={"X-Staff-Token": "nope"}).json()["documents"]}
    assert MEMO not in resident and MEMO not in wrong
    assert MEMO in staff and PLAN in resident
    assert len(staff) == len(resident) + 1


@pytest.mark.parametrize("headers", [{}, {"X-Staff-Token": "wrong-token"}, {"Authorization": "Bearer wrong"}])
def test_search_never_returns_staff_documents_without_the_token(client, headers):
    body = {"query": "旧桜田小学校 跡地 売却", "k": 20}
    passages = client.post("/search", json=body, headers=headers).json()["passages"]
    assert passages and all(p["doc"] != MEMO and not mentions_memo(p["text"]) for p in passages)
    only_memo = client.post("/search", json={**body, "filters": {"document": [MEMO]}}, headers=headers)
    assert only_memo.status_code == 200 and only_memo.json()["passages"] == []


def test_staff_search_finds_the_staff_document(client):
    for headers in (STAFF, {"Authorization": f"Bearer {TOKEN}"}):
        passages = client.post("/search", json={"query": "旧桜田小学校 跡地 売却", "k": 5}, headers=headers).json()
        assert passages["passages"][0]["doc"] == MEMO


def test_ask_never_cites_staff_documents_without_the_token(client):
    body = client.post("/ask", json={"question": MEMO_QUESTION}).json()
    cited = body["citations"] + body["related"]
    assert cited and all(c["doc"] != MEMO and not mentions_memo(c["text"]) for c in cited)
    assert not mentions_memo(body["answer"].replace(MEMO_QUESTION, ""))

    events = sse_events(client.post("/ask/stream", json={"question": MEMO_QUESTION}))
    final = events[-1]
    assert final["type"] == "answer" and final["citations"] + final["related"]
    assert all(c["doc"] != MEMO for c in final["citations"] + final["related"])
    assert not mentions_memo("".join(e.get("text", "") for e in events if e["type"] == "delta"))


def test_staff_ask_cites_the_staff_document(client):
    body = client.post("/ask", json={"question": MEMO_QUESTION}, headers=STAFF).json()
    assert not body["abstained"]
    assert any(c["doc"] == MEMO for c in body["citations"])
    assert "売却" in body["answer"]


# ---------------------------------------------------------------------- documents
def test_upload_list_and_delete(client):
    text = "みどり野市アプリ検討会の開催について\n第１回検討会は令和７年５月に開催し、市民委員８名が参加した。\n".encode()
    r = client.post("/documents", headers=STAFF, files={"file": ("app_kentoukai.txt", text, "text/plain")},
                    data={"audience": "public", "type": "consultation"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "added" and r.json()["doc_id"] == "app_kentoukai"
    assert "app_kentoukai" in {d["doc_id"] for d in client.get("/documents").json()["documents"]}

    assert_error_shape(client.delete("/documents/app_kentoukai"), 401, "unauthorized")
    assert client.delete("/documents/app_kentoukai", headers=STAFF).status_code == 200
    assert "app_kentoukai" not in {d["doc_id"] for d in client.get("/documents").json()["documents"]}
    assert_error_shape(client.delete("/documents/app_kentoukai", headers=STAFF), 404, "not_found")


def test_upload_requires_the_staff_token(client):
    r = client.post("/documents", files={"file": ("x.txt", "本文".encode(), "text/plain")})
    assert_error_shape(r, 401, "unauthorized")


def test_unsupported_upload_is_refused_with_the_reason(client):
    r = client.post("/documents", headers=STAFF,
                    files={"file": ("minutes.docx", b"PK\x03\x04 not really a docx", "application/octet-stream")})
    error = assert_error_shape(r, (415, 422))
    assert ".docx" in error["message"] and "対応" in error["message"]
    assert "minutes" not in {d["doc_id"] for d in client.get("/documents", headers=STAFF).json()["documents"]}


def test_too_large_upload_is_refused(tmp_path):
    small = service_settings(tmp_path, staff_token=TOKEN, max_upload_mb=1)
    with PlanAssistant(small) as svc, TestClient(create_app(small, service=svc)) as c:
        big = ("あ" * 600_000).encode()  # 1.8 MB
        r = c.post("/documents", headers=STAFF, files={"file": ("big.txt", big, "text/plain")})
        assert "big" not in {d.doc_id for d in svc.documents()}
    error = assert_error_shape(r, 413, "too_large")
    assert "1 MB" in error["message"]


# ---------------------------------------------------------------------- error shape
@pytest.mark.parametrize("request_, status, code", [
    (("post", "/ask", {"json": {"question": ""}}), 400, "bad_request"),
    (("post", "/ask", {"json": {"question": "計画" * 10_000}}), 400, "bad_request"),
    (("post", "/search", {"json": {"query": ""}}), 400, "bad_request"),
    (("post", "/check", {"json": {"draft": "本文"}}), 401, "unauthorized"),
    (("post", "/where", {"json": {"measure": "防災"}}), 401, "unauthorized"),
    (("get", "/feedback/export", {}), 401, "unauthorized"),
    (("delete", "/documents/no_such_doc", {"headers": STAFF}), 404, "not_found"),
    (("get", "/no/such/route", {}), 404, None),
    (("post", "/ask", {"content": b"{not json", "headers": {"content-type": "application/json"}}), 422, None),
    (("post", "/search", {"json": {"query": "計画", "k": "many"}}), 422, None),
])
def test_one_error_shape(client, request_, status, code):
    method, url, kwargs = request_
    assert_error_shape(getattr(client, method)(url, **kwargs), status, code)


def test_long_question_message_is_readable(client):
    error = assert_error_shape(client.post("/ask", json={"question": "あ" * 20_000}), 400, "bad_request")
    assert "長すぎ" in error["message"]


# ---------------------------------------------------------------------- feedback, UI mount
def test_feedback_export_is_staff_only(client, settings):
    FeedbackStore(settings.data_dir / "feedback.jsonl").add(
        "bad", "計画期間は？", "令和６年度から令和10年度まで[1]", [{"n": 1, "doc": PLAN, "title": "後期基本計画",
                                                            "section": "計画の期間", "page": 2, "text": "…"}])
    assert_error_shape(client.get("/feedback/export", headers={"X-Staff-Token": "wrong"}), 401, "unauthorized")
    r = client.get("/feedback/export", headers=STAFF)
    assert r.status_code == 200
    records = [json.loads(line) for line in r.text.splitlines()]
    assert any(rec["question"] == "計画期間は？" and rec["rating"] == "bad" and rec["citations"][0]["page"] == 2
               for rec in records)
    csv_text = client.get("/feedback/export?format=csv", headers=STAFF).text
    assert csv_text.lstrip("\ufeff").startswith("id,time,rating,reason") and "計画期間は？" in csv_text
    assert_error_shape(client.get("/feedback/export?format=pdf", headers=STAFF), (400, 422), "bad_request")


def test_ui_is_mounted(client):
    assert client.get("/ui/").status_code == 200
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 307) and r.headers["location"].rstrip("/") == "/ui"


# ---------------------------------------------------------------------- inspect
def test_inspect_a_document_is_staff_only_and_reports_its_pages(client, service):
    doc = next(d for d in service.documents() if d.source.endswith(".pdf"))
    assert_error_shape(client.get(f"/documents/{doc.doc_id}/inspect"), 401, "unauthorized")
    r = client.get(f"/documents/{doc.doc_id}/inspect", headers=STAFF)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["pages"]) == doc.pages
    assert sum(len(p["chunks"]) for p in body["pages"]) >= doc.chunks
    assert_error_shape(client.get("/documents/no-such-doc/inspect", headers=STAFF), 404)
