"""The service the CLI, the API and the UI share: open once, then ingest, search, ask, check."""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, BinaryIO

from assistant.answer import AnswerEngine, answer_events, is_english
from assistant.check import CheckReport, check_draft
from assistant.check.draft import ProgressFn as CheckProgressFn
from assistant.config import Settings
from assistant.covered import CoveredModel
from assistant.datadir import take_lock
from assistant.embed import CachedEmbedder, make_embedder
from assistant.errors import BadRequest, NotFound, PlanAssistantError, UnsupportedFormat
from assistant.limits import AnswerGate
from assistant.llm import make_generator
from assistant.quote import QuoteModel
from assistant.rerank import Reranker, RerankModel
from assistant.retrieve import Mode, Retriever
from assistant.sparse import SudachiBM25
from assistant.store import ClientStore, EdgeStore, Store
from assistant.text.english import FEEDBACK_MODE, FEEDBACK_PASSAGES, JAPANESE, japanese_terms
from assistant.text.tokens import Tokenizer
from assistant.types import Answer, DocumentMeta, Generator, Passage, SearchFilters
from assistant.where import CoverageReport, where_covered
from ingest.inspect import FileReport, compare_with_index, inspect_file
from ingest.load import SUPPORTED_SUFFIXES
from ingest.pipeline import Indexer, IngestResult, ProgressFn, file_hash
from ingest.registry import Registry
from ingest.uploads import safe_name, save_upload

# shown with an answer given extractively because the generator's queue was too long
BUSY_NOTICE = "混み合っているため、資料の該当箇所をそのまま示しています"


IN_USE = ("the data directory {data_dir} is in use by another plan-assistant process (pid {pid}); "
          "stop it, or send requests to its API, or use another --data-dir")

class PlanAssistant:
    """The only door: the CLI, the API and the UI all ingest, search, ask, check and look up through it."""

    def __init__(self, settings: Settings, generator: Generator | None = None) -> None:
        """`generator` replaces the configured one (a server-side model, or a scripted one in tests)."""
        self.settings = settings
        self.max_query_chars = settings.max_query_chars
        self._given_generator = generator
        self.embedder = CachedEmbedder(make_embedder(settings.embed_model, settings.embed_threads),
                                       settings.vector_cache or settings.cache_dir / "vectors.sqlite")
        self.tokenizer = Tokenizer()
        self.sparse = SudachiBM25(self.tokenizer)
        self.registry = Registry(settings.data_dir / "registry.sqlite")
        self.term_stats = self.registry  # document frequencies of the indexed tokens (IDF)
        self._lock_file: IO[str] | None = None
        self.store: Store | None = None
        self.retriever: Retriever | None = None
        self.indexer: Indexer | None = None
        self._engine: AnswerEngine | None = None
        self._engine_lock = threading.Lock()
        self._extractive_engine: AnswerEngine | None = None
        self.generator: Generator | None = None
        self.gate = AnswerGate(settings.max_concurrent_answers, settings.max_waiting_answers,
                               settings.max_answer_wait_s)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> PlanAssistant:
        s = self.settings
        s.data_dir.mkdir(parents=True, exist_ok=True)
        if not s.qdrant_url:
            self._lock_file = take_lock(s.data_dir, IN_USE)
        self.embedder.warm_up()
        self.sparse.warm_up()
        dim = self.embedder.dim
        if s.qdrant_url:
            key = s.qdrant_api_key.get_secret_value() if s.qdrant_api_key else None
            self.store = ClientStore(dim, s.collection, url=s.qdrant_url, api_key=key,
                                     shards=s.qdrant_shards, replicas=s.qdrant_replicas)
        else:
            self.store = EdgeStore(s.index_dir / _slug(self.embedder.name), dim)
        store = self.store
        store.open()
        self.registry.open()
        self.retriever = Retriever(store, self.embedder, self.sparse, self.registry.live,
                                   weights=(s.dense_weight, s.sparse_weight), prefetch=s.prefetch,
                                   rows_per_table=s.rows_per_table, reranker=self._reranker())
        self.indexer = Indexer(store, self.embedder, self.sparse, self.registry, s.chunk_chars,
                               max_file_bytes=s.max_file_mb * 1024 * 1024)
        # a process killed mid-ingest leaves chunks of a version that never went (or is no longer) live:
        # the write journal names them (cheap: empty unless something crashed); see Indexer.recover
        self.indexer.recover(exclusive=not s.qdrant_url)
        return self

    def _reranker(self) -> Reranker | None:
        path = self.settings.rerank_model
        if path is None or str(path) in ("", "."):
            return None  # configured off: fused order
        try:
            model = RerankModel.load(path)
        except (OSError, ValueError, KeyError) as exc:
            raise PlanAssistantError(f"reranker model {path} cannot be read ({exc}); refit it with "
                                     "`plan-assistant eval fit-rerank`, or set PLAN_ASSISTANT_RERANK_MODEL= to turn "
                                     "reranking off") from None
        return Reranker(self.tokenizer, self.term_stats, model, issuers=self.registry.issuers)

    @property
    def engine(self) -> AnswerEngine:
        """The answer engine; its generator (possibly a 1 GB local model) loads on first use only."""
        with self._engine_lock:
            if self._engine is None:
                self.generator = self._given_generator or make_generator(self.settings)
                self._engine = AnswerEngine(self.search, self.tokenizer, self.term_stats, self.embedder,
                                            self.generator, covered=CoveredModel.load(self.settings.covered_model),
                                            max_question_chars=self.settings.max_query_chars,
                                            issuers=self.registry.issuers, quote=self._quote_model(),
                                            english_terms=self.english_terms,
                                            structured=self.settings.structured_output)
            return self._engine

    def _quote_model(self) -> QuoteModel | None:
        try:
            return QuoteModel.load(self.settings.quote_model)
        except (OSError, ValueError, KeyError) as exc:
            raise PlanAssistantError(f"quote model {self.settings.quote_model} cannot be read ({exc}); refit it "
                                     "with `plan-assistant eval fit-quote`, or set PLAN_ASSISTANT_QUOTE_MODEL= to "
                                     "quote in the hand-scored order") from None

    @property
    def extractive_engine(self) -> AnswerEngine:
        """The engine without a generator: what a question that waited too long for one is answered with
        (the same evidence, abstention and premise check, only the generation step left out)."""
        engine = self.engine
        with self._engine_lock:
            if self._extractive_engine is None:
                self._extractive_engine = copy.copy(engine)  # shares retrieval and the covered model
                self._extractive_engine.generator = None
            return self._extractive_engine

    @property
    def answers_busy(self) -> bool:
        """A question now would be refused (`Busy`): the API says so before it starts a stream."""
        return self.engine.generator is not None and self.gate.full

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
        self.registry.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def __enter__(self) -> PlanAssistant:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ documents
    def ingest(self, paths: Iterable[Path], overrides: dict | None = None, manifest: Path | None = None,
               progress: ProgressFn | None = None) -> list[IngestResult]:
        assert self.indexer is not None
        return self.indexer.ingest_paths(paths, overrides, manifest, progress)

    def ingest_one(self, path: Path, overrides: dict | None = None) -> IngestResult:
        assert self.indexer is not None
        return self.indexer.ingest(Path(path), {k: v for k, v in (overrides or {}).items() if v})

    def upload(self, stream: BinaryIO, filename: str | None, overrides: dict | None = None) -> IngestResult:
        """An uploaded file: checked, saved under data_dir/uploads, ingested; removed again if it fails.
        The suffix checked is the one of the name it is saved under (`safe_name`), not the raw one. A file
        already there under that name (the source of an indexed document) is put back if the new one fails."""
        name = safe_name(filename)
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise UnsupportedFormat(f"{name}: 対応していない形式です（{suffix or '拡張子なし'}）。"
                                    f"PDF などに変換してから再投入してください（対応形式: "
                                    f"{', '.join(sorted(SUPPORTED_SUFFIXES))}）")
        uploads = self.settings.data_dir / "uploads"
        previous = uploads / f".{name}.previous"
        if (uploads / name).is_file():
            os.replace(uploads / name, previous)
        try:
            path = save_upload(stream, filename, uploads, self.settings.max_upload_mb)
            result = self.ingest_one(path, overrides)
        except BaseException:
            if previous.exists():
                os.replace(previous, uploads / name)
            raise
        if result.status != "failed":
            previous.unlink(missing_ok=True)
        elif previous.exists():
            os.replace(previous, path)  # the file the indexed document was read from, as it was
        elif not any(d.source == str(path) for d in self.documents()):
            path.unlink(missing_ok=True)  # nothing indexed relies on the saved file
        return result

    def is_staff(self, token: str | None) -> bool:
        return self.settings.staff_token_matches(token)

    def documents(self) -> list[DocumentMeta]:
        return self.registry.all()

    def delete(self, doc_id: str) -> None:
        assert self.indexer is not None
        if not self.indexer.delete(doc_id):
            raise NotFound(f"no document with id {doc_id!r}")

    def inspect(self, doc_id: str) -> FileReport:
        """How an indexed document's file reads, page by page (`ingest.inspect`), beside what the
        registry holds for it. The file is read again as ingestion reads it; nothing is written."""
        found = self.registry.get(doc_id)
        if found is None:
            raise NotFound(f"文書が見つかりません: {doc_id}")
        meta = found[1]
        path = Path(meta.source) if meta.source else None
        if path is None or not path.is_file():
            raise NotFound(f"{doc_id} の元のファイル（{meta.source or '不明'}）が見つかりません。"
                           "ファイルを取り込み直してください")
        report = inspect_file(path, doc_id=doc_id, chunk_chars=self.settings.chunk_chars,
                              max_bytes=self.settings.max_file_mb * 1024 * 1024)
        return compare_with_index(report, meta, file_hash(path))

    @property
    def generator_name(self) -> str:
        if self._engine is None:
            return f"{self.settings.generator} (not loaded yet)"
        return self.generator.name if self.generator is not None else "extractive"

    # ------------------------------------------------------------------ answers, checks
    def ask(self, question: str, history: list[dict] | None = None,
            filters: SearchFilters | None = None) -> Answer:
        """A grounded answer. With a language model, through the gate: a full queue raises `Busy`, and a
        question that waited `max_answer_wait_s` is answered extractively with a notice, not timed out."""
        engine = self.engine
        if engine.generator is None:
            return engine.ask(question, history, filters)  # extractive answers take no queue
        if not self.gate.enter():
            answer = self.extractive_engine.ask(question, history, filters)
            if not answer.abstained and not answer.notice:
                answer.notice = BUSY_NOTICE
            return answer
        try:
            return engine.ask(question, history, filters)
        finally:
            self.gate.leave()

    def ask_stream(self, question: str, history: list[dict] | None = None,
                   filters: SearchFilters | None = None) -> Iterator[dict]:
        """Events for a chat: {"type": "delta", "text"} …, then {"type": "answer", ...}. With a language
        model each sentence comes as soon as it is written and verified (`AnswerEngine.stream`), through
        the gate like `ask`; a question the gate turns away is answered extractively, with the notice."""
        engine = self.engine
        if engine.generator is None:
            yield from engine.stream(question, history, filters)
            return
        if not self.gate.enter():
            yield from answer_events(self.ask(question, history, filters))
            return
        try:
            yield from engine.stream(question, history, filters)
        finally:
            self.gate.leave()

    def check(self, draft: str, against: str = "all", progress: CheckProgressFn | None = None,
              exclude_docs: list[str] | None = None, gaps: bool = True) -> CheckReport:
        return check_draft(self, draft, against, progress=progress, exclude_docs=exclude_docs, gaps=gaps)

    def where(self, measure: str, k: int = 40) -> CoverageReport:
        return where_covered(self, measure, k=k)

    # ------------------------------------------------------------------ search
    def search(self, query: str, k: int = 10, filters: SearchFilters | None = None,
               mode: Mode = "hybrid") -> list[Passage]:
        assert self.retriever is not None
        query = (query or "").strip()
        if not query:
            raise BadRequest("検索語が空です。調べたい語句や質問を入力してください。")
        if len(query) > self.max_query_chars:
            raise BadRequest(f"検索語が長すぎます（{len(query)}文字）。{self.max_query_chars}文字以内にしてください。")
        if not 1 <= k <= 100:
            raise BadRequest("k must be between 1 and 100")
        if is_english(query) and not JAPANESE.search(query):
            # an English query finds Japanese passages through dictionary terms (an answer's gather passes
            # its own translation in front of the question: that query already holds Japanese)
            query = f"{self.english_terms(query, filters)} {query}".strip()
        return self.retriever.search(query, k, filters, mode)

    def english_terms(self, question: str, filters: SearchFilters | None = None) -> str:
        """Japanese search terms for an English question, each word's sense chosen by what the passages
        found with all the senses together say (`assistant.text.english`)."""
        assert self.retriever is not None
        retriever = self.retriever

        def feedback(query: str) -> list[str]:
            return [p.text for p in retriever.search(query, FEEDBACK_PASSAGES, filters, FEEDBACK_MODE)]

        return japanese_terms(question, self.tokenizer, self.term_stats, feedback)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)

