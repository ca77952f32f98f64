"""`plan-assistant backup DIR` / `restore DIR`: a consistent, checked snapshot of the embedded data directory."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3

import pytest

from assistant.cli import EXIT_ERROR, main
from assistant.service import PlanAssistant
from tests.helpers import SAMPLE_DOCS, service_settings

DOCS = ("midorino_chonai_kentou_memo.txt", "midorino_kokudo_kyoujinka_keikaku.txt",
        "midorino_chiiki_koukyou_koutsuu_keikaku.md")
QUERIES = ("財政調整基金の残高", "デマンド型乗合タクシー", "避難所の耐震化")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for name in [k for k in os.environ if k.startswith(("PLAN_ASSISTANT_", "QDRANT_"))]:
        monkeypatch.delenv(name)  # the developer's settings must not steer the CLI


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A data directory with three documents, an upload and a feedback line; and what searches find in it."""
    root = tmp_path_factory.mktemp("backup")
    folder = root / "docs"
    folder.mkdir()
    for name in DOCS:
        shutil.copy(SAMPLE_DOCS / name, folder / name)
    data = root / "data"
    with PlanAssistant(service_settings(data)) as svc:
        svc.ingest([folder], manifest=SAMPLE_DOCS / "manifest.json")
        with open(SAMPLE_DOCS / "midorino_kokudo_kyoujinka_keikaku.txt", "rb") as f:
            assert svc.upload(f, "kokudo_upload.txt").status == "added"
        (data / "feedback.jsonl").write_text('{"rating": "up"}\n', encoding="utf-8")
        found = _searches(svc)
        chunks = sum(d.chunks for d in svc.documents())
    return data, found, chunks


def _searches(svc: PlanAssistant) -> dict[str, list[tuple]]:
    return {q: [(p.doc_id, p.chunk_no, round(p.score, 6)) for p in svc.search(q, k=5)] for q in QUERIES}


def _cli(*args) -> int:
    return main([str(a) for a in args])


def test_backup_writes_a_manifest_with_counts_and_checksums(source, tmp_path, capsys):
    data, _, chunks = source
    target = tmp_path / "bk"
    assert _cli("--data-dir", data, "backup", target, "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["documents"] == summary["documents"] == 4
    assert manifest["chunks"] == manifest["index_points"] == chunks
    assert manifest["version"] and manifest["format_version"] == 1
    files = manifest["files"]
    assert "registry.sqlite" in files and "feedback.jsonl" in files
    assert any(f.startswith("index/") for f in files) and any(f.startswith("uploads/") for f in files)
    assert not any(f.startswith("cache/") or f.endswith((".lock", "-wal", "-shm")) for f in files)
    assert all(len(v["sha256"]) == 64 and v["bytes"] == (target / f).stat().st_size for f, v in files.items())
    db = sqlite3.connect(target / "registry.sqlite")  # a complete SQLite copy, not a file caught mid-write
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 4
    db.close()


def test_backup_refuses_while_a_service_holds_the_data_directory(source, tmp_path, capsys):
    data, _, _ = source
    with PlanAssistant(service_settings(data)):
        assert _cli("--data-dir", data, "backup", tmp_path / "bk") == EXIT_ERROR
    err = capsys.readouterr().err
    assert "使用中" in err and str(os.getpid()) in err
    assert not (tmp_path / "bk" / "manifest.json").exists()


def test_restore_gives_a_service_that_answers_the_same_searches(source, tmp_path, capsys):
    data, found, chunks = source
    target, restored = tmp_path / "bk", tmp_path / "restored"
    assert _cli("--data-dir", data, "backup", target) == 0
    assert _cli("--data-dir", restored, "restore", target) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"restored 4 documents, {chunks} chunks")
    with PlanAssistant(service_settings(restored)) as svc:
        assert _searches(svc) == found
        assert svc.store is not None and svc.store.count() == chunks
    assert (restored / "feedback.jsonl").read_text(encoding="utf-8") == '{"rating": "up"}\n'


def test_restore_refuses_a_non_empty_data_directory_unless_forced(source, tmp_path, capsys):
    data, found, _ = source
    target, other = tmp_path / "bk", tmp_path / "other"
    assert _cli("--data-dir", data, "backup", target) == 0
    with PlanAssistant(service_settings(other)) as svc:  # another index, with one document
        svc.ingest([SAMPLE_DOCS / "midorino_sogo_keikaku_shingikai_r5_03_gijiroku.txt"])
    assert _cli("--data-dir", other, "restore", target) == EXIT_ERROR
    assert "--force" in capsys.readouterr().err
    with PlanAssistant(service_settings(other)) as svc:
        assert [d.doc_id for d in svc.documents()] == ["midorino_sogo_keikaku_shingikai_r5_03_gijiroku"]
    assert _cli("--data-dir", other, "restore", target, "--force") == 0
    with PlanAssistant(service_settings(other)) as svc:
        assert len(svc.documents()) == 4 and _searches(svc) == found
    assert not [p for p in other.iterdir() if p.name.startswith(".restore-")]


def test_restore_refuses_a_damaged_or_unfinished_backup_and_touches_nothing(source, tmp_path, capsys):
    data, _, _ = source
    target, restored = tmp_path / "bk", tmp_path / "restored"
    assert _cli("--data-dir", data, "backup", target) == 0
    segment = next(p for p in sorted((target / "index").rglob("*")) if p.is_file() and p.stat().st_size > 100)
    blob = bytearray(segment.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    segment.write_bytes(bytes(blob))
    assert _cli("--data-dir", restored, "restore", target) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "checksum" in err and segment.relative_to(target).as_posix() in err
    assert not restored.exists() or not any(restored.iterdir())
    (target / "manifest.json").unlink()
    assert _cli("--data-dir", restored, "restore", target) == EXIT_ERROR
    assert "manifest.json" in capsys.readouterr().err


def test_backup_and_restore_need_the_embedded_index(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QDRANT_URL", "http://127.0.0.1:6333")
    assert _cli("--data-dir", tmp_path, "backup", tmp_path / "bk") == EXIT_ERROR
    assert "QDRANT_URL" in capsys.readouterr().err
