"""Crash safety: the ingesting CLI is killed (SIGKILL) at every write and at timed points, then restarted.

Two ingests are killed: (a) adding a folder of three documents to an empty data directory, (b) replacing
one document by a new version (same file name, changed text). The subprocess is the real command line
(`assistant.cli.main`, the `plan-assistant` entry point); for the deterministic kill points a small
wrapper (HOOK, below, test code only) counts the writes to the data directory — the registry's journal
and switch, the index's upserts and deletes, the vector cache — and SIGKILLs the process just before or
just after the Nth. The timed kills run the installed `plan-assistant` script itself with no wrapper, at
delays spread over the window in which the writes happened in a dry run.

After every kill the data directory is opened again (the service start-up runs the recovery) and:
each document is seen by searches exactly once, complete, in its old or its new version (never both,
never neither, never a part); the index holds exactly the registry's live chunks and nothing else; the
write journal is empty; the vector cache passes SQLite's integrity check and holds the vector of every
indexed chunk. The interrupted ingest is then run again and must complete.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import unicodedata
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from assistant.service import PlanAssistant
from assistant.types import SearchFilters
from ingest.pipeline import DISK_FULL_MESSAGE, DISK_FULL_SKIPPED
from tests.helpers import REPO, SAMPLE_DOCS, TEST_VECTOR_CACHE, service_settings

# three small sample documents (7, 9 and 19 chunks) and the one that gets a new version
DOCS = ("midorino_chonai_kentou_memo.txt", "midorino_sogo_keikaku_shingikai_r5_03_gijiroku.txt",
        "midorino_kokudo_kyoujinka_keikaku.txt")
REPLACED = "midorino_chonai_kentou_memo"
OLD_SENTENCE = "毎年度約３億円の財源不足が生じる。"  # in the old version only (a line of the sample memo)
TIMED_KILLS = 3  # per scenario, besides one kill at every write
PARALLEL_RUNS = 2  # killed processes run at a time (the machine has 2 cores)
SIGKILLED = -signal.SIGKILL

# Test code run in the subprocess in front of the CLI: counts the writes, logs them (JSON lines to
# $CRASH_LOG) and SIGKILLs itself before ($CRASH_PHASE=before) or after the $CRASH_KILL_AT-th one.
HOOK = r'''
import json, os, signal, sys, time
from assistant.embed import CachedEmbedder
from assistant.store import EdgeStore
from ingest.registry import Registry

KILL_AT, AFTER, LOG = int(os.environ["CRASH_KILL_AT"]), os.environ["CRASH_PHASE"] == "after", os.environ["CRASH_LOG"]
count = 0

def note(write, doc):
    global count
    count += 1
    with open(LOG, "a") as f:
        f.write(json.dumps({"n": count, "write": write, "doc": doc, "t": time.time()}) + "\n")
    if count == KILL_AT and not AFTER:
        os.kill(os.getpid(), signal.SIGKILL)
    return count

def done(n):
    if n == KILL_AT and AFTER:
        os.kill(os.getpid(), signal.SIGKILL)

def wrap(cls, name, doc_of):
    real = getattr(cls, name)
    def hooked(self, *args, **kwargs):
        n = note(f"{cls.__name__}.{name}", doc_of(args))
        out = real(self, *args, **kwargs)
        done(n)
        return out
    setattr(cls, name, hooked)

wrap(Registry, "begin_write", lambda a: a[0])
wrap(Registry, "set_live", lambda a: a[0].doc_id)
wrap(Registry, "end_write", lambda a: a[0])
wrap(Registry, "remove", lambda a: a[0])
wrap(EdgeStore, "upsert", lambda a: a[0][0].payload["doc_id"] if a[0] else "")
wrap(EdgeStore, "delete_doc", lambda a: a[0])
wrap(EdgeStore, "delete_versions_not_in", lambda a: "")

real_embed = CachedEmbedder.embed_passages
def cached_embed(self, texts):
    # the cache is written only when the model ran: "before" = vectors computed, not stored yet
    model, state = self.inner.embed_passages, {}
    def run_model(batch):
        out = model(batch)
        state["n"] = note("vector_cache", "")
        return out
    self.inner.embed_passages = run_model
    try:
        out = real_embed(self, texts)
    finally:
        del self.inner.embed_passages
    if "n" in state:
        done(state["n"])  # "after" = stored and committed
    return out
CachedEmbedder.embed_passages = cached_embed

from assistant.cli import main
sys.exit(main(sys.argv[1:]))
'''


def _environment(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PLAN_ASSISTANT_") and k not in ("QDRANT_URL", "QDRANT_API_KEY")}
    return {**env, "PLAN_ASSISTANT_VECTOR_CACHE": str(cache), "PLAN_ASSISTANT_GENERATOR": "extractive",
            "PLAN_ASSISTANT_EMBED_THREADS": "1"}


def _ingest_args(data: Path, folder: Path, manifest: Path) -> list[str]:
    return ["--data-dir", str(data), "ingest", str(folder), "--manifest", str(manifest), "--quiet"]


class World:
    """The documents, a data directory with the old versions ingested, and a vector cache holding their
    vectors but not those of the new version (so replacing writes to the cache)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.old, self.new = root / "docs_old", root / "docs_new"
        for folder in (self.old, self.new):
            folder.mkdir()
            for name in DOCS:
                shutil.copy(SAMPLE_DOCS / name, folder / name)
        entries = json.loads((SAMPLE_DOCS / "manifest.json").read_text(encoding="utf-8"))
        self.manifest = root / "manifest.json"
        self.manifest.write_text(json.dumps([e for e in entries if e["file"] in DOCS], ensure_ascii=False),
                                 encoding="utf-8")
        # a new sentence unique to this run, so the cache never holds the new version's vectors
        self.new_sentence = f"毎年度約２億円の財源不足が生じる見込みである（再試算{uuid.uuid4().hex[:8]}）。"
        memo = self.new / f"{REPLACED}.txt"
        text = memo.read_text(encoding="utf-8")
        assert OLD_SENTENCE in text
        memo.write_text(text.replace(OLD_SENTENCE, self.new_sentence), encoding="utf-8")
        self.cache = root / "cache_template.sqlite"
        if TEST_VECTOR_CACHE.exists():
            shutil.copy(TEST_VECTOR_CACHE, self.cache)
        self.base = root / "data_old"  # the old versions of all three, ingested
        with PlanAssistant(service_settings(self.base, vector_cache=self.cache)) as svc:
            results = svc.ingest([self.old], manifest=self.manifest)
            assert [r.status for r in results] == ["added"] * 3, results
            self.chunks = {d.doc_id: d.chunks for d in svc.documents()}
        if TEST_VECTOR_CACHE.exists():  # the next session finds the old versions' vectors cached
            shutil.copy(self.cache, TEST_VECTOR_CACHE)

    def scenario(self, name: str, run: int) -> tuple[Path, Path, list[str]]:
        """A fresh data directory and vector cache for one run, and the CLI's arguments."""
        case = self.root / f"{name}{run:02d}"
        case.mkdir()
        cache = case / "vectors.sqlite"
        shutil.copy(self.cache, cache)
        data = case / "data"
        if name == "add":
            return data, cache, _ingest_args(data, self.old, self.manifest)
        shutil.copytree(self.base, data)
        return data, cache, _ingest_args(data, self.new, self.manifest)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return World(tmp_path_factory.mktemp("crash"))


def _run_hooked(args: list[str], cache: Path, log: Path, kill_at: int, phase: str) -> int:
    env = {**_environment(cache), "CRASH_KILL_AT": str(kill_at), "CRASH_PHASE": phase, "CRASH_LOG": str(log)}
    return subprocess.run([sys.executable, "-c", HOOK, *args], env=env, cwd=REPO, capture_output=True,
                          timeout=120).returncode


def _writes(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _journal_rows(data: Path) -> int:
    """Journal rows a killed process left (read before the start-up recovery clears them)."""
    db = sqlite3.connect(data / "registry.sqlite")
    try:
        return db.execute("SELECT COUNT(*) FROM pending").fetchone()[0]
    except sqlite3.OperationalError:  # killed before the registry was first opened
        return 0
    finally:
        db.close()


def _state(svc: PlanAssistant, world: World, recovered: bool = True) -> dict[str, str]:
    """doc_id → "old" | "new" as searches see it, after checking every invariant of a consistent data dir
    (`recovered`: also that the index holds nothing but live chunks and the journal is empty)."""
    docs = {d.doc_id: d for d in svc.documents()}
    live = svc.registry.live()
    if recovered:
        assert svc.registry.pending() == [], "the write journal is not empty after start-up"
        # the index holds the live chunks of every registered document and nothing else
        assert svc.store is not None
        assert dict(svc.store.versions()) == {(d, live[d]): docs[d].chunks for d in docs}
    state = {}
    for doc_id in (Path(n).stem for n in DOCS):
        seen = svc.search("計画 事業 令和", k=100, filters=SearchFilters(doc_ids=[doc_id]))
        if doc_id not in docs:
            assert seen == [], f"{doc_id} is not registered but searches find it"
            continue
        keys = [(p.chunk_no, p.text) for p in seen]
        assert len(keys) == len(set(keys)) == docs[doc_id].chunks, f"{doc_id}: chunks seen twice or missing"
        assert sorted(p.chunk_no for p in seen) == list(range(docs[doc_id].chunks))
        texts = "\n".join(p.text for p in seen)
        old, new = _seen(OLD_SENTENCE, texts), _seen(world.new_sentence, texts)
        if doc_id == REPLACED:
            assert old != new, f"{doc_id}: old version {'and' if old else 'nor'} new version seen"
        else:
            assert docs[doc_id].chunks == world.chunks[doc_id]
        state[doc_id] = "new" if new else "old"
        _check_cache(svc, seen)
    # an unfiltered search sees each passage once, and no passage of a version that is not live
    hits = svc.search("財源不足 見込み", k=50)
    assert len({(p.doc_id, p.chunk_no) for p in hits}) == len(hits)
    assert not any(_seen(OLD_SENTENCE, p.text) for p in hits) or state.get(REPLACED) == "old"
    assert not any(_seen(world.new_sentence, p.text) for p in hits) or state.get(REPLACED) == "new"
    return state


def _seen(sentence: str, text: str) -> bool:
    return unicodedata.normalize("NFKC", sentence) in text  # chunks are NFKC-normalised (ingest/normalize.py)


def _check_cache(svc: PlanAssistant, passages) -> None:
    """The vector cache is a sound SQLite file holding a full-length vector of every indexed chunk."""
    db = sqlite3.connect(svc.embedder.cache_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for p in passages:
            key = hashlib.sha256(f"{p.title}\n{p.section}\n{p.text}".encode()).hexdigest()  # pipeline.index_text
            row = db.execute("SELECT v FROM vec WHERE model=? AND h=?", (svc.embedder.name, key)).fetchone()
            assert row is not None and len(row[0]) == 4 * svc.embedder.dim, f"no cached vector for chunk {p.chunk_no}"
    finally:
        db.close()


def _recover_check_finish(world: World, name: str, data: Path, cache: Path,
                          expected: dict[str, str] | None) -> dict[str, str]:
    """Open the killed data directory (recovery), check it, run the interrupted ingest again, check again."""
    settings = service_settings(data, vector_cache=cache)
    folder = world.old if name == "add" else world.new
    with PlanAssistant(settings) as svc:
        state = _state(svc, world)
        if expected is not None:
            assert state == expected
        results = svc.ingest([folder], manifest=world.manifest)
        assert not [r for r in results if r.status == "failed"], results
        final = _state(svc, world)
    want = {Path(n).stem: "old" for n in DOCS}
    if name == "replace":
        want[REPLACED] = "new"
    assert final == want
    return state


def _expected(writes: list[dict], kill_at: int, phase: str, name: str) -> dict[str, str]:
    """What a kill before/after write `kill_at` must leave: a document is switched iff its registry switch
    (`Registry.set_live`) completed before the kill."""
    switched = {w["doc"] for w in writes if w["write"] == "Registry.set_live"
                and (w["n"] < kill_at or (phase == "after" and w["n"] == kill_at))}
    if name == "add":
        return {d: "old" for d in switched}
    return {**{Path(n).stem: "old" for n in DOCS}, **{d: "new" for d in switched}}


def _wait_for_lock(data: Path, proc: subprocess.Popen, timeout: float = 60) -> float:
    """When the process took the data directory's lock (start-up, just before the first write)."""
    lock, deadline = data / "plan-assistant.lock", time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if lock.read_text().strip() == str(proc.pid):
                return time.time()
        except OSError:
            pass
        time.sleep(0.005)
    raise AssertionError("the ingest never took the data directory's lock")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["add", "replace"])
def test_kill_at_every_write_and_at_timed_points(world, name, capsys):
    started = time.monotonic()
    # a dry run: the writes in order, and when they happened after the data directory's lock was taken
    data, cache, args = world.scenario(name, 0)
    log = data.parent / "writes.jsonl"
    env = {**_environment(cache), "CRASH_KILL_AT": "0", "CRASH_PHASE": "before", "CRASH_LOG": str(log)}
    proc = subprocess.Popen([sys.executable, "-c", HOOK, *args], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    locked = _wait_for_lock(data, proc)
    assert proc.wait(timeout=120) == 0
    writes = _writes(log)
    kinds = {w["write"] for w in writes}
    assert {"Registry.begin_write", "EdgeStore.upsert", "Registry.set_live", "EdgeStore.delete_doc",
            "Registry.end_write"} <= kinds, kinds
    if name == "replace":
        assert "vector_cache" in kinds  # the new version's vectors are computed and cached during the run
    _recover_check_finish(world, name, data, cache, None)

    # a kill before every write, and after the last one (two processes at a time, checked in order)
    points = [(n, "before") for n in range(1, len(writes) + 1)] + [(len(writes), "after")]
    runs = [(*world.scenario(name, run), kill_at, phase) for run, (kill_at, phase) in enumerate(points, 1)]
    with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        codes = list(pool.map(lambda r: _run_hooked(r[2], r[1], r[0].parent / "writes.jsonl", r[3], r[4]), runs))
    outcomes = []
    for (data, cache, _, kill_at, phase), code in zip(runs, codes):
        assert code == SIGKILLED
        assert len(_writes(data.parent / "writes.jsonl")) == kill_at  # died at the intended write
        outcomes.append(_recover_check_finish(world, name, data, cache, _expected(writes, kill_at, phase, name)))

    # timed kills of the installed entry point, spread over the window in which the dry run wrote
    first, last = writes[0]["t"] - locked, writes[-1]["t"] - locked
    script = Path(sys.executable).with_name("plan-assistant")
    timed = []
    for i in range(TIMED_KILLS):
        data, cache, args = world.scenario(name, 100 + i)
        proc = subprocess.Popen([str(script), *args], env=_environment(cache), cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_lock(data, proc)
        time.sleep(first + (last - first) * i / max(TIMED_KILLS - 1, 1))
        proc.send_signal(signal.SIGKILL)
        code = proc.wait(timeout=60)
        rows = _journal_rows(data) if (data / "registry.sqlite").exists() else 0
        state = _recover_check_finish(world, name, data, cache, None)
        timed.append({"killed": code == SIGKILLED, "journal_rows_left": rows, "state": state})
    with capsys.disabled():
        print(f"\n[crash] {name}: {len(writes)} writes, {len(points)} kill points at writes, "
              f"{sum(t['killed'] for t in timed)}/{len(timed)} timed kills landed "
              f"({sum(t['journal_rows_left'] > 0 for t in timed)} mid-document), all consistent, "
              f"{time.monotonic() - started:.0f} s")
    assert len(set(map(json.dumps, outcomes))) > 1  # the kill points did land on both sides of a switch


# ---------------------------------------------------------------------- a full disk

ADDED = "midorino_chiiki_koukyou_koutsuu_keikaku.md"  # a fourth document, new to the data directory


def _no_space(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class _FullConnection:
    """The vector cache's SQLite connection on a full disk: reads work, writes fail."""

    def __init__(self, real: sqlite3.Connection) -> None:
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def executemany(self, *_args):
        _no_space()


def _fill_disk(svc: PlanAssistant, where: str, monkeypatch) -> None:
    if where == "index":
        monkeypatch.setattr(svc.store, "upsert", _no_space)
    elif where == "index_delete":  # after the switch: the old chunks cannot be removed
        monkeypatch.setattr(svc.store, "delete_doc", _no_space)
    elif where == "registry":
        monkeypatch.setattr(svc.registry, "set_live", _no_space)
    elif where == "registry_sqlite_full":  # SQLite's own SQLITE_FULL: the registry may not grow a page
        pages = svc.registry.db.execute("PRAGMA page_count").fetchone()[0]
        svc.registry.db.execute(f"PRAGMA max_page_count={pages}")
    elif where == "vector_cache":
        monkeypatch.setattr(svc.embedder, "_db", _FullConnection(svc.embedder._db))


@pytest.mark.parametrize("where", ["index", "index_delete", "registry", "registry_sqlite_full", "vector_cache"])
def test_a_full_disk_loses_nothing_and_a_retry_completes(world, where, tmp_path, monkeypatch):
    data, cache = tmp_path / "data", tmp_path / "vectors.sqlite"
    shutil.copytree(world.base, data)
    shutil.copy(world.cache, cache)
    folder = tmp_path / "in"
    shutil.copytree(world.new, folder)  # the memo's new version, the two others unchanged
    shutil.copy(SAMPLE_DOCS / ADDED, folder / ADDED)
    manifest = SAMPLE_DOCS / "manifest.json"
    settings = service_settings(data, vector_cache=cache)
    with PlanAssistant(settings) as svc:
        before = _state(svc, world)
        with monkeypatch.context() as m:
            _fill_disk(svc, where, m)
            results = svc.ingest([folder], manifest=manifest)
            full = [r for r in results if DISK_FULL_MESSAGE in (r.reason + " ".join(r.warnings))]
            assert full, f"the full disk went unnoticed: {results}"
            assert all(r.reason in ("", "unchanged", DISK_FULL_MESSAGE, DISK_FULL_SKIPPED) for r in results), results
            # nothing indexed before is lost: every document is still searched, whole, once
            during = _state(svc, world, recovered=False)
            assert set(during) == set(before)
    with PlanAssistant(settings) as svc:  # space again; the start-up removes what the failure left
        assert set(_state(svc, world)) == set(before)
        retry = {Path(r.path).name: r.status for r in svc.ingest([folder], manifest=manifest)}
        assert "failed" not in retry.values(), retry
        assert _state(svc, world) == {**before, REPLACED: "new"}
        assert ADDED.removesuffix(".md") in {d.doc_id for d in svc.documents()}


def test_cli_reports_a_full_disk_in_one_line_and_exits_1(world, tmp_path, monkeypatch, capsys):
    from assistant.cli import main
    from assistant.store import EdgeStore

    for name in [k for k in os.environ if k.startswith("PLAN_ASSISTANT_") or k.startswith("QDRANT_")]:
        monkeypatch.delenv(name)
    data, cache = tmp_path / "data", tmp_path / "vectors.sqlite"
    shutil.copytree(world.base, data)
    shutil.copy(world.cache, cache)
    monkeypatch.setenv("PLAN_ASSISTANT_VECTOR_CACHE", str(cache))
    args = _ingest_args(data, world.new, world.manifest)
    with monkeypatch.context() as m:
        m.setattr(EdgeStore, "upsert", _no_space)
        assert main(args) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.strip().startswith("FAILED"))
    assert f"{REPLACED}.txt" in line and "ディスクの空き容量" in line and "disk full" in line, out
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("added 0, replaced 1, skipped 2")
