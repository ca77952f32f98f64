"""The document registry: which documents are indexed, their metadata and their live version.

SQLite in the data directory. Flipping a document's live version is one transaction, so a
search sees either the old chunks or the new ones, never both and never none.

Crash safety: every change of a document's chunks is journalled. `begin_write` records (doc_id,
version) in `pending` before the first chunk is written; `end_write` clears it once the old
version's chunks are gone. A process killed in between leaves the row, and the next start-up
(`PlanAssistant.start` → `Indexer.recover`) deletes exactly that document's chunks that are not
its live version: cheap, since without a crash the journal is empty.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import StoreUnavailable
from assistant.types import DocumentMeta


@dataclass(frozen=True)
class PendingWrite:
    """A document whose chunks were being changed when the journal row was written."""

    doc_id: str
    version: str  # "" for a deletion
    pid: int
    host: str

    @property
    def owner_alive(self) -> bool:
        """The writing process still runs (on this host): its write is in flight, not crashed."""
        if self.host != socket.gethostname() or self.pid == os.getpid():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


class Registry:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._live: dict[str, str] | None = None
        self._issuers: dict[str, str] | None = None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS documents (doc_id TEXT PRIMARY KEY, version TEXT NOT NULL,"
            " meta TEXT NOT NULL, updated REAL NOT NULL)")
        # chunk frequencies of BM25 token ids per document: IDF for evidence-strength checks
        self._db.execute("CREATE TABLE IF NOT EXISTS df (doc_id TEXT, token INTEGER, n INTEGER,"
                         " PRIMARY KEY(doc_id, token))")
        # IDF sums a token over documents: without this index every lookup scans the table (3–5 ms a
        # word on the 38-document corpus, several words a question)
        self._db.execute("CREATE INDEX IF NOT EXISTS df_token ON df(token)")
        # the write journal (see the module docstring)
        self._db.execute("CREATE TABLE IF NOT EXISTS pending (doc_id TEXT PRIMARY KEY, version TEXT NOT NULL,"
                         " pid INTEGER NOT NULL, host TEXT NOT NULL, started REAL NOT NULL)")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreUnavailable("the document registry is not open: start the service first")
        return self._db

    def live(self) -> dict[str, str]:
        """doc_id → live version (cached; refreshed on every change)."""
        with self._lock:
            if self._live is None:
                self._live = dict(self.db.execute("SELECT doc_id, version FROM documents"))
            return dict(self._live)

    def issuers(self) -> dict[str, str]:
        """doc_id → issuer (佐久市, 村, 国, or ""), cached like `live`."""
        with self._lock:
            if self._issuers is None:
                self._issuers = dict(self.db.execute(
                    "SELECT doc_id, COALESCE(json_extract(meta, '$.issuer'), '') FROM documents"))
            return self._issuers

    def get(self, doc_id: str) -> tuple[str, DocumentMeta] | None:
        row = self.db.execute("SELECT version, meta FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        return (row[0], DocumentMeta(**json.loads(row[1]))) if row else None

    def all(self) -> list[DocumentMeta]:
        rows = self.db.execute("SELECT meta FROM documents ORDER BY doc_id").fetchall()
        return [DocumentMeta(**json.loads(r[0])) for r in rows]

    def total_chunks(self) -> int:
        """Chunks of all live versions: what the index holds when it agrees with the registry."""
        return int(self.db.execute(
            "SELECT COALESCE(SUM(json_extract(meta, '$.chunks')), 0) FROM documents").fetchone()[0])

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction, rolled back on any error (a full disk included), so none is left open."""
        with self._lock:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            finally:
                self._live = self._issuers = None

    def set_live(self, meta: DocumentMeta, version: str, df: dict[int, int] | None = None) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO documents VALUES (?,?,?,?) ON CONFLICT(doc_id) DO UPDATE SET"
                " version=excluded.version, meta=excluded.meta, updated=excluded.updated",
                (meta.doc_id, version, json.dumps(dataclasses.asdict(meta), ensure_ascii=False), time.time()))
            if df is not None:
                db.execute("DELETE FROM df WHERE doc_id=?", (meta.doc_id,))
                db.executemany("INSERT INTO df VALUES (?,?,?)", [(meta.doc_id, t, n) for t, n in df.items()])

    # ------------------------------------------------------------------ the write journal
    def begin_write(self, doc_id: str, version: str) -> None:
        """Journal a change of `doc_id`'s chunks (to `version`; "" = deletion) before it touches the index."""
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO pending VALUES (?,?,?,?,?)",
                       (doc_id, version, os.getpid(), socket.gethostname(), time.time()))

    def end_write(self, doc_id: str) -> None:
        """The index holds only the live version of `doc_id` again."""
        with self._transaction() as db:
            db.execute("DELETE FROM pending WHERE doc_id=?", (doc_id,))

    def pending(self) -> list[PendingWrite]:
        rows = self.db.execute("SELECT doc_id, version, pid, host FROM pending ORDER BY started").fetchall()
        return [PendingWrite(*r) for r in rows]

    def idf(self, tokens: list[int]) -> dict[int, float]:
        """BM25-style IDF of token ids over all indexed chunks (unknown tokens get the maximum)."""
        import math

        total = self.db.execute("SELECT COALESCE(SUM(json_extract(meta, '$.chunks')), 0) FROM documents")
        n = max(int(total.fetchone()[0]), 1)
        out: dict[int, float] = {}
        for t in set(tokens):
            row = self.db.execute("SELECT COALESCE(SUM(n), 0) FROM df WHERE token=?", (t,)).fetchone()
            df = int(row[0])
            out[t] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return out

    def remove(self, doc_id: str) -> bool:
        """Unregister `doc_id` and journal the deletion of its chunks (one transaction)."""
        with self._transaction() as db:
            cur = db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
            db.execute("DELETE FROM df WHERE doc_id=?", (doc_id,))
            db.execute("INSERT OR REPLACE INTO pending VALUES (?,?,?,?,?)",
                       (doc_id, "", os.getpid(), socket.gethostname(), time.time()))
            return cur.rowcount > 0
