"""Backup and restore of an embedded data directory (`plan-assistant backup DIR` / `restore DIR`).

A backup is a consistent snapshot: it is taken under the data directory's lock (the one a running
service holds, so no ingest runs meanwhile), the registry is copied with SQLite's backup API, the
index directory and the other files (uploads, feedback) are copied as they are. `manifest.json`,
written last, names the version, the document and chunk counts and a SHA-256 per file; a directory
without it is an unfinished backup. The vector cache is left out (it is rebuilt from the text).

A restore checks every file against the manifest before it touches the data directory, refuses a
non-empty one unless forced, copies into a staging directory inside it, checks again, then swaps the
entries in and checks that the restored registry and index hold the manifest's counts.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from assistant.datadir import LOCK, take_lock
from assistant.errors import BadRequest, StoreUnavailable

FORMAT = "plan-assistant-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
REGISTRY = "registry.sqlite"
INDEX = "index"
# never copied: the lock, SQLite's side files of the registry (its backup copy is complete), the vector
# cache (rebuilt from the text; keyed by model and text hash) and a restore's own staging directories
BACKUP_IN_USE = ("データディレクトリ {data_dir} は別の plan-assistant プロセス（pid {pid}）が使用中です"
                 "（in use）。そのプロセスを止めてからやり直してください")
SKIPPED = {LOCK, f"{REGISTRY}-wal", f"{REGISTRY}-shm", f"{REGISTRY}-journal", "cache"}
STAGING_PREFIX = ".restore-"
HASH_BLOCK = 1 << 20  # bytes read at a time when hashing


@dataclass
class Snapshot:
    documents: int
    chunks: int
    index_points: int
    files: int
    bytes: int


@contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's lock (as a running service does) for the duration."""
    data_dir.mkdir(parents=True, exist_ok=True)
    f = take_lock(data_dir, BACKUP_IN_USE)
    try:
        yield
    finally:
        f.close()


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(HASH_BLOCK), b""):
            h.update(block)
    return h.hexdigest()


def _entries(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.iterdir() if p.name not in SKIPPED and not p.name.startswith(STAGING_PREFIX))


def _files(root: Path) -> dict[str, dict]:
    """relative path → {sha256, bytes} of every file under root except the manifest."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.relative_to(root).as_posix() != MANIFEST:
            out[p.relative_to(root).as_posix()] = {"sha256": sha256(p), "bytes": p.stat().st_size}
    return out


def registry_counts(path: Path) -> tuple[int, int]:
    """(documents, chunks) the registry at `path` holds."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT COUNT(*), COALESCE(SUM(json_extract(meta, '$.chunks')), 0) FROM documents")
        docs, chunks = row.fetchone()
        return int(docs), int(chunks)
    finally:
        db.close()


def index_points(index_dir: Path) -> int:
    """Points in the embedded index(es) under `index_dir` (one shard per embedding model)."""
    import qdrant_edge as qe

    total = 0
    for shard_dir in sorted(p for p in index_dir.iterdir() if p.is_dir()) if index_dir.is_dir() else []:
        shard = qe.EdgeShard.load(str(shard_dir))
        try:
            total += shard.count(qe.CountRequest(exact=True))
        finally:
            shard.close()
    return total


def backup(data_dir: Path, target: Path) -> Snapshot:
    """Snapshot `data_dir` into the new or empty directory `target`."""
    if not (data_dir / REGISTRY).exists():
        raise BadRequest(f"{data_dir} にはバックアップする索引がありません（{REGISTRY} not found）")
    if target.exists() and any(target.iterdir()):
        raise BadRequest(f"バックアップ先 {target} は空ではありません。新しいディレクトリを指定してください")
    with data_dir_lock(data_dir):
        target.mkdir(parents=True, exist_ok=True)
        points = index_points(data_dir / INDEX)  # before copying: opening a shard rewrites its config
        for entry in _entries(data_dir):
            if entry.name == REGISTRY:
                src, dst = sqlite3.connect(entry), sqlite3.connect(target / REGISTRY)
                try:
                    src.backup(dst)
                    dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file (the service sets WAL)
                finally:
                    dst.close()
                    src.close()
            elif entry.is_dir():
                shutil.copytree(entry, target / entry.name)
            else:
                shutil.copy2(entry, target / entry.name)
    documents, chunks = registry_counts(target / REGISTRY)
    files = _files(target)
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "version": _version(),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "source": str(data_dir.resolve()),
                "documents": documents, "chunks": chunks, "index_points": points, "files": files}
    tmp = target / f"{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(target / MANIFEST)  # last: a backup without a manifest is unfinished
    return Snapshot(documents, chunks, points, len(files), sum(f["bytes"] for f in files.values()))


def read_manifest(source: Path) -> dict:
    path = source / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadRequest(f"{source} はバックアップではないか、未完了のバックアップです（{MANIFEST} がありません）") from None
    except ValueError as exc:
        raise BadRequest(f"{path} を読めません: {exc}") from exc
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BadRequest(f"{source} は対応していない形式のバックアップです"
                         f"（{manifest.get('format')} {manifest.get('format_version')}）")
    return manifest


def verify(root: Path, manifest: dict) -> None:
    """Every file the manifest names is present with its size and checksum."""
    bad = []
    for rel, want in manifest["files"].items():
        p = root / rel
        if not p.is_file():
            bad.append(f"{rel}（ありません）")
        elif p.stat().st_size != want["bytes"] or sha256(p) != want["sha256"]:
            bad.append(f"{rel}（チェックサム不一致）")
    if bad:
        raise BadRequest(f"バックアップ {root} が壊れています（checksum mismatch）: {', '.join(bad[:5])}"
                         + (f" ほか{len(bad) - 5}件" if len(bad) > 5 else ""))


def restore(source: Path, data_dir: Path, force: bool = False) -> Snapshot:
    """Replace `data_dir`'s contents (all but the vector cache) with the verified backup in `source`."""
    manifest = read_manifest(source)
    verify(source, manifest)
    present = _entries(data_dir) if data_dir.exists() else []
    if present and not force:
        raise BadRequest(f"データディレクトリ {data_dir} は空ではありません（{len(present)} 項目）。"
                         "今の内容を置き換えるなら --force を付けてください")
    with data_dir_lock(data_dir):
        staging, old = data_dir / f"{STAGING_PREFIX}new-{os.getpid()}", data_dir / f"{STAGING_PREFIX}old-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(source, staging, ignore=shutil.ignore_patterns(MANIFEST))
        verify(staging, manifest)  # the copy, too
        old.mkdir()
        for entry in _entries(data_dir) + [data_dir / n for n in SKIPPED - {LOCK, "cache"}]:
            if entry.exists() and entry not in (staging, old):
                entry.rename(old / entry.name)
        for entry in sorted(staging.iterdir()):
            entry.rename(data_dir / entry.name)
        shutil.rmtree(staging)
        shutil.rmtree(old)
        documents, chunks = registry_counts(data_dir / REGISTRY)
        points = index_points(data_dir / INDEX)
    if (documents, chunks, points) != (manifest["documents"], manifest["chunks"], manifest["index_points"]):
        raise StoreUnavailable(f"復元したデータの件数が目録と一致しません: 文書 {documents}/{manifest['documents']}、"
                               f"チャンク {chunks}/{manifest['chunks']}、索引 {points}/{manifest['index_points']}")
    files = manifest["files"]
    return Snapshot(documents, chunks, points, len(files), sum(f["bytes"] for f in files.values()))


def _version() -> str:
    try:
        return metadata.version("plan-assistant")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a checkout without install
        return "unknown"
