"""Privacy of what residents type (issue 11, item 4): masking on realistic Japanese input, plan figures
left alone, feedback stored masked, and records purged by age (on write and by staff)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.feedback import FeedbackStore
from assistant.privacy import mask
from tests.helpers import service_settings
from tests.test_limits import StubService

TOKEN = "test-token"


@pytest.mark.parametrize("typed, stored", [
    ("090-1234-5678に電話ください", "〔電話番号〕に電話ください"),
    ("連絡先は０３－１２３４－５６７８です", "連絡先は〔電話番号〕です"),
    ("自宅 03(1234)5678、携帯 09012345678", "自宅 〔電話番号〕、携帯 〔電話番号〕"),
    ("+81-90-1234-5678 まで", "〔電話番号〕 まで"),
    ("返信は taro@example.jp へ", "返信は 〔メール〕 へ"),
    ("東京都千代田区1丁目2番3号に住んでいます", "〔住所〕に住んでいます"),
    ("住所は東京都千代田区１丁目２番３号です", "住所は〔住所〕です"),
    ("〒100-0001 西山町123番地", "〔住所〕 〔住所〕"),
    ("マイナンバーは123456789012です", "マイナンバーは〔個人番号〕です"),
    ("番号 1234 5678 9012", "番号 〔個人番号〕"),
    ("私は山田太郎です。バスについて教えてください", "私は〔氏名〕です。バスについて教えてください"),
    ("氏名：佐藤花子", "氏名：〔氏名〕"),
    ("名前は 山田 太郎", "名前は 〔氏名〕"),
])
def test_personal_data_is_masked(typed, stored):
    assert mask(typed) == stored


@pytest.mark.parametrize("text", [
    "後期基本計画の計画期間は令和6年度から令和10年度までですか",
    "計画期間は令和６年度から令和１０年度まで",
    "公共交通の利用者数を1,200千人にする目標は？",
    "高齢化率29.0%は何年度の値ですか",
    "施策1-2-3の進捗と基本目標2-1",
    "2026-04-01から運行開始、0.5%増、人口は120000人",
    "駅前一丁目地区の再開発はいつですか",
    "私は西山地区に住んでいます",
    "第3章第2節の目標値は100,000人（令和12年度）",
])
def test_plan_figures_are_not_masked(text):
    assert mask(text) == text


def test_feedback_is_stored_masked(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.jsonl")
    fid = store.add("bad", "私は山田太郎です。090-1234-5678に連絡をください", "市の窓口 03-1111-2222 へ[1]",
                    [{"n": 1, "doc": "d", "title": "t", "section": "s", "page": 1, "text": "…"}])
    store.set_reason(fid, "返事は taro@example.jp にお願いします")
    raw = (tmp_path / "feedback.jsonl").read_text(encoding="utf-8")
    for secret in ("山田太郎", "090-1234-5678", "03-1111-2222", "taro@example.jp"):
        assert secret not in raw
    (record,) = store.records()
    assert record["question"] == "私は〔氏名〕です。〔電話番号〕に連絡をください"
    assert record["reason"] == "返事は 〔メール〕 にお願いします"


def write_old_record(store: FeedbackStore, days_ago: float, question: str) -> str:
    """A record as it would have been written `days_ago` days ago, with a later reason event."""
    fid = store.add("good", question, "回答", [])
    events = [json.loads(line) for line in store.path.read_text(encoding="utf-8").splitlines()]
    when = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(timespec="seconds")
    for e in events:
        if e["id"] == fid:
            e["time"] = when
    events.append({"id": fid, "time": when, "reason": "理由"})
    store.path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), encoding="utf-8")
    return fid


def test_purge_by_age(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.jsonl")
    old = write_old_record(store, 100, "古い質問")
    new = write_old_record(store, 1, "新しい質問")
    assert store.purge(30) == 1
    assert [r["id"] for r in store.records()] == [new]
    assert old not in store.path.read_text(encoding="utf-8")  # the reason event went with it
    assert store.purge(30) == 0
    assert store.purge(0) == 1 and store.records() == []


def test_a_write_purges_expired_records(tmp_path):
    write_old_record(FeedbackStore(tmp_path / "feedback.jsonl"), 100, "古い質問")
    store = FeedbackStore(tmp_path / "feedback.jsonl", retention_days=90)
    store.add("bad", "今日の質問", "回答", [])
    assert [r["question"] for r in store.records()] == ["今日の質問"]


def test_staff_purge_route(tmp_path):
    settings = service_settings(tmp_path, staff_token=TOKEN, log_retention_days=30)
    app = create_app(settings, service=StubService())  # type: ignore[arg-type]
    with TestClient(app) as client:
        store: FeedbackStore = app.state.feedback
        write_old_record(store, 40, "古い質問")
        write_old_record(store, 5, "新しい質問")
        assert client.delete("/feedback").status_code == 401
        r = client.delete("/feedback", headers={"X-Staff-Token": TOKEN})
        assert r.status_code == 200 and r.json() == {"purged": 1, "older_than_days": 30}
        r = client.delete("/feedback?older_than_days=0", headers={"X-Staff-Token": TOKEN})
        assert r.json()["purged"] == 1
        assert client.get("/feedback/export", headers={"X-Staff-Token": TOKEN}).text == ""
        negative = client.delete("/feedback?older_than_days=-1", headers={"X-Staff-Token": TOKEN})
        assert negative.status_code == 422
