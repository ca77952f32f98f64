"""One store interface over Qdrant, two implementations.

- `EdgeStore`: the Qdrant engine in-process (qdrant-edge-py), the embedded default.
- `ClientStore`: qdrant-client against a Qdrant server or cluster (`QDRANT_URL`); its local
  mode (`path=` / ":memory:") stands in for the server in tests.

Points carry a dense vector ("dense"), a BM25 sparse vector ("bm25", IDF modifier) and a
payload (doc_id, version, text, section, pages, document metadata). Searches are restricted
to the *live* version of each document, so a re-ingested document is never seen missing
or doubled while its new chunks are written.

A server that goes away is `StoreUnavailable` (503 at the API), on every call, not only at
start-up: the client reconnects by itself on the next call once the server is back.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from assistant.errors import StoreUnavailable
from assistant.types import SearchFilters

if TYPE_CHECKING:
    import qdrant_edge as qe
    from qdrant_client import QdrantClient

DENSE, SPARSE = "dense", "bm25"
# seconds a Qdrant server may take for one call before the service reports it unavailable (503)
SERVER_TIMEOUT_S = 30
SCROLL_PAGE = 1000  # points per page when listing the index (scroll); one page of ids and two keys is small


@dataclass
class IndexPoint:
    id: str
    dense: list[float]
    sparse: tuple[list[int], list[float]]
    payload: dict


@dataclass
class Hit:
    payload: dict
    score: float


def point_id(doc_id: str, version: str, chunk_no: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{doc_id}/{version}/{chunk_no}"))


class Store(Protocol):
    def open(self) -> None: ...
    def close(self) -> None: ...
    def upsert(self, points: list[IndexPoint]) -> None: ...
    def delete_doc(self, doc_id: str, keep_version: str | None = None) -> None: ...
    def delete_version(self, doc_id: str, version: str) -> None: ...
    def delete_versions_not_in(self, live: dict[str, str]) -> int: ...
    def versions(self) -> Counter[tuple[str, str]]: ...
    def count(self) -> int: ...
    def query(self, dense: list[float] | None, sparse: tuple[list[int], list[float]] | None,
              limit: int, filters: SearchFilters, live: dict[str, str],
              weights: tuple[float, float] = (1.0, 1.0), prefetch: int = 50) -> list[Hit]: ...


# ---------------------------------------------------------------- embedded (qdrant-edge)

class EdgeStore:
    def __init__(self, path: Path, dim: int) -> None:
        self.path, self.dim = Path(path), dim
        self._shard: qe.EdgeShard | None = None

    def open(self) -> None:
        import qdrant_edge as qe

        cfg = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=self.dim, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )
        try:
            if (self.path / "edge_config.json").exists() or any(self.path.glob("*")):
                self._shard = qe.EdgeShard.load(str(self.path), cfg)
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._shard = qe.EdgeShard.create(str(self.path), cfg)
        except Exception as exc:
            msg = str(exc)
            if "WouldBlock" in msg or "lock" in msg.lower():
                raise StoreUnavailable(
                    f"the index at {self.path} is open in another plan-assistant process; "
                    "stop that process (or use its API) and retry") from exc
            raise StoreUnavailable(f"cannot open the index at {self.path}: {msg}") from exc

    def optimize(self) -> None:
        """Merge segments and build the vector indexes (after a large ingest)."""
        self.shard.optimize()

    def close(self) -> None:
        if self._shard is not None:
            self._shard.flush()
            self._shard.close()
            self._shard = None

    @property
    def shard(self) -> qe.EdgeShard:
        if self._shard is None:
            raise StoreUnavailable("the index is not open")
        return self._shard

    def upsert(self, points: list[IndexPoint]) -> None:
        import qdrant_edge as qe

        if not points:
            return
        pts = [qe.Point(p.id, {DENSE: p.dense, SPARSE: qe.SparseVector(*p.sparse)}, p.payload) for p in points]
        self.shard.update(qe.UpdateOperation.upsert_points(pts))
        self.shard.flush()

    def _doc_filter(self, doc_id: str, keep_version: str | None):
        import qdrant_edge as qe

        must: list[qe.ConditionType] = [qe.FieldCondition("doc_id", match=qe.MatchValue(doc_id))]
        must_not: list[qe.ConditionType] | None = \
            [qe.FieldCondition("version", match=qe.MatchValue(keep_version))] if keep_version else None
        return qe.Filter(must=must, must_not=must_not)

    def delete_doc(self, doc_id: str, keep_version: str | None = None) -> None:
        import qdrant_edge as qe

        self.shard.update(qe.UpdateOperation.delete_points_by_filter(self._doc_filter(doc_id, keep_version)))
        self.shard.flush()

    def delete_version(self, doc_id: str, version: str) -> None:
        import qdrant_edge as qe

        self.shard.update(qe.UpdateOperation.delete_points_by_filter(qe.Filter(must=[
            qe.FieldCondition("doc_id", match=qe.MatchValue(doc_id)),
            qe.FieldCondition("version", match=qe.MatchValue(version))])))
        self.shard.flush()

    def delete_versions_not_in(self, live: dict[str, str]) -> int:
        """Delete every point that is not of its document's live version; returns how many went."""
        return _delete_dead(self, live)

    def versions(self) -> Counter[tuple[str, str]]:
        """(doc_id, version) → points: the whole index listed (one scroll; 0.1 s for 4k points)."""
        import qdrant_edge as qe

        out: Counter[tuple[str, str]] = Counter()
        offset = None
        while True:
            points, offset = self.shard.scroll(qe.ScrollRequest(
                offset=offset, limit=SCROLL_PAGE, with_payload=["doc_id", "version"], with_vector=False))
            out.update((str((p.payload or {}).get("doc_id")), str((p.payload or {}).get("version")))
                       for p in points)
            if offset is None:
                return out

    def count(self) -> int:
        import qdrant_edge as qe

        return self.shard.count(qe.CountRequest(exact=True))

    def _filter(self, f: SearchFilters, live: dict[str, str]):
        import qdrant_edge as qe

        must: list[qe.ConditionType] = [
            qe.FieldCondition("version", match=qe.MatchAny(list(live.values()) or ["-"]))]
        if f.doc_types:
            must.append(qe.FieldCondition("doc_type", match=qe.MatchAny(list(f.doc_types))))
        if f.audiences:
            must.append(qe.FieldCondition("audience", match=qe.MatchAny(list(f.audiences))))
        if f.doc_ids:
            must.append(qe.FieldCondition("doc_id", match=qe.MatchAny(list(f.doc_ids))))
        if f.fiscal_year is not None:
            must.append(qe.FieldCondition("period_start", range=qe.RangeFloat(lte=f.fiscal_year)))
            must.append(qe.FieldCondition("period_end", range=qe.RangeFloat(gte=f.fiscal_year)))
        return qe.Filter(must=must)

    def query(self, dense, sparse, limit, filters, live, weights=(1.0, 1.0), prefetch=50) -> list[Hit]:
        import qdrant_edge as qe

        flt = self._filter(filters, live)
        stages = []
        if dense is not None:
            stages.append((qe.Query.Nearest(dense, using=DENSE), weights[0]))
        if sparse is not None and sparse[0]:
            stages.append((qe.Query.Nearest(qe.SparseVector(*sparse), using=SPARSE), weights[1]))
        if not stages:
            return []
        if len(stages) == 1:
            req = qe.QueryRequest(limit=limit, query=stages[0][0], filter=flt, with_payload=True)
        else:
            req = qe.QueryRequest(
                limit=limit,
                prefetches=[qe.Prefetch(limit=max(prefetch, limit), query=q, filter=flt) for q, _ in stages],
                # the stub omits that Fusion.Rrf subclasses Fusion (true at runtime)
                query=qe.Fusion.Rrf(k=60, weights=[w for _, w in stages]),  # type: ignore[arg-type]
                filter=flt, with_payload=True)
        return [Hit(dict(p.payload or {}), float(p.score)) for p in self.shard.query(req)]


def _delete_dead(store: EdgeStore | ClientStore, live: dict[str, str]) -> int:
    """Points of a version that is not live for *their own* document (a crashed ingest's new chunks, a
    replaced version's old ones, a deleted document's): matched by (doc_id, version), since two documents
    with the same content share a version string."""
    dead = {key: n for key, n in store.versions().items() if live.get(key[0]) != key[1]}
    for doc_id, version in dead:
        store.delete_version(doc_id, version)
    return sum(dead.values())


# ---------------------------------------------------------------- server (qdrant-client)

# what an unreachable or failing Qdrant server is called in messages (the URL is added)
UNREACHABLE_HINT = ("サーバーが起動しているか、QDRANT_URL（と QDRANT_API_KEY）が正しいかを確かめてください。"
                    "組み込みの索引を使うなら QDRANT_URL を設定しないでください")


def _server_error(url: str | None, exc: BaseException) -> StoreUnavailable:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StoreUnavailable(f"Qdrant サーバー {url} に接続できません（unreachable: {reason[:200]}）。{UNREACHABLE_HINT}")


def _is_server_failure(exc: BaseException) -> bool:
    """The server is down, unreachable or failing (not a request this code got wrong)."""
    import httpx
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

    if isinstance(exc, UnexpectedResponse):
        return exc.status_code is None or exc.status_code >= 500 or exc.status_code in (401, 403)
    if isinstance(exc, ResponseHandlingException | httpx.TransportError | ConnectionError | TimeoutError):
        return True
    try:
        import grpc

        return isinstance(exc, grpc.RpcError)
    except ImportError:  # pragma: no cover - grpc ships with qdrant-client
        return False

class ClientStore:
    def __init__(self, dim: int, collection: str = "plans", url: str | None = None,
                 api_key: str | None = None, path: str | None = None, shards: int = 1,
                 replicas: int = 1) -> None:
        self.dim, self.collection = dim, collection
        self.url, self.api_key, self.path = url, api_key, path
        self.shards, self.replicas = shards, replicas
        self._client: QdrantClient | None = None

    def open(self) -> None:
        from qdrant_client import QdrantClient, models

        try:
            if self.url:
                # no version probe at construction: it only warns; the first real call below tells
                self._client = QdrantClient(url=self.url, api_key=self.api_key, timeout=SERVER_TIMEOUT_S,
                                            check_compatibility=False)
            else:
                self._client = QdrantClient(path=self.path or ":memory:")
            if not self._client.collection_exists(self.collection):
                self._client.create_collection(
                    self.collection,
                    vectors_config={DENSE: models.VectorParams(size=self.dim, distance=models.Distance.COSINE)},
                    sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
                    shard_number=self.shards, replication_factor=self.replicas)
                for key in ("doc_id", "version", "doc_type", "audience"):
                    self._client.create_payload_index(self.collection, key, models.PayloadSchemaType.KEYWORD)
        except Exception as exc:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self.url:
                raise _server_error(self.url, exc) from exc
            raise StoreUnavailable(f"cannot open the Qdrant index at {self.path or ':memory:'}: {exc}") from exc

    @contextmanager
    def _reaching(self) -> Iterator[None]:
        """A server that stops answering mid-run is `StoreUnavailable`, not an internal error."""
        try:
            yield
        except StoreUnavailable:
            raise
        except Exception as exc:
            if self.url and _is_server_failure(exc):
                raise _server_error(self.url, exc) from exc
            raise

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def client(self) -> QdrantClient:
        if self._client is None:
            raise StoreUnavailable("the index is not open")
        return self._client

    def upsert(self, points: list[IndexPoint]) -> None:
        from qdrant_client import models

        if not points:
            return
        with self._reaching():
            self.client.upsert(self.collection, [
                models.PointStruct(id=p.id, payload=p.payload, vector={
                    DENSE: p.dense, SPARSE: models.SparseVector(indices=p.sparse[0], values=p.sparse[1])})
                for p in points], wait=True)

    def delete_doc(self, doc_id: str, keep_version: str | None = None) -> None:
        from qdrant_client import models

        must_not: list[models.Condition] | None = \
            [models.FieldCondition(key="version", match=models.MatchValue(value=keep_version))] \
            if keep_version else None
        flt = models.Filter(must=[models.FieldCondition(key="doc_id", match=models.MatchValue(value=doc_id))],
                            must_not=must_not)
        with self._reaching():
            self.client.delete(self.collection, models.FilterSelector(filter=flt), wait=True)

    def delete_version(self, doc_id: str, version: str) -> None:
        from qdrant_client import models

        flt = models.Filter(must=[models.FieldCondition(key="doc_id", match=models.MatchValue(value=doc_id)),
                                  models.FieldCondition(key="version", match=models.MatchValue(value=version))])
        with self._reaching():
            self.client.delete(self.collection, models.FilterSelector(filter=flt), wait=True)

    def delete_versions_not_in(self, live: dict[str, str]) -> int:
        """Delete every point that is not of its document's live version; returns how many went."""
        return _delete_dead(self, live)

    def versions(self) -> Counter[tuple[str, str]]:
        out: Counter[tuple[str, str]] = Counter()
        offset = None
        with self._reaching():
            while True:
                points, offset = self.client.scroll(self.collection, limit=SCROLL_PAGE, offset=offset,
                                                    with_payload=["doc_id", "version"], with_vectors=False)
                out.update((str((p.payload or {}).get("doc_id")), str((p.payload or {}).get("version")))
                           for p in points)
                if offset is None:
                    return out

    def count(self) -> int:
        with self._reaching():
            return self.client.count(self.collection, exact=True).count

    def _filter(self, f: SearchFilters, live: dict[str, str]):
        from qdrant_client import models

        must: list[models.Condition] = [
            models.FieldCondition(key="version", match=models.MatchAny(any=list(live.values()) or ["-"]))]
        if f.doc_types:
            must.append(models.FieldCondition(key="doc_type", match=models.MatchAny(any=list(f.doc_types))))
        if f.audiences:
            must.append(models.FieldCondition(key="audience", match=models.MatchAny(any=list(f.audiences))))
        if f.doc_ids:
            must.append(models.FieldCondition(key="doc_id", match=models.MatchAny(any=list(f.doc_ids))))
        if f.fiscal_year is not None:
            must.append(models.FieldCondition(key="period_start", range=models.Range(lte=f.fiscal_year)))
            must.append(models.FieldCondition(key="period_end", range=models.Range(gte=f.fiscal_year)))
        return models.Filter(must=must)

    def query(self, dense, sparse, limit, filters, live, weights=(1.0, 1.0), prefetch=50) -> list[Hit]:
        from qdrant_client import models

        flt = self._filter(filters, live)
        stages = []
        if dense is not None:
            stages.append((models.Prefetch(query=dense, using=DENSE, filter=flt, limit=max(prefetch, limit)),
                           weights[0]))
        if sparse is not None and sparse[0]:
            sv = models.SparseVector(indices=sparse[0], values=sparse[1])
            stages.append((models.Prefetch(query=sv, using=SPARSE, filter=flt, limit=max(prefetch, limit)),
                           weights[1]))
        if not stages:
            return []
        with self._reaching():
            if len(stages) == 1:
                pf = stages[0][0]
                res = self.client.query_points(self.collection, query=pf.query, using=pf.using, query_filter=flt,
                                               limit=limit, with_payload=True)
            else:
                res = self.client.query_points(
                    self.collection, prefetch=[s for s, _ in stages],
                    query=models.RrfQuery(rrf=models.Rrf(k=60, weights=[w for _, w in stages])),
                    query_filter=flt, limit=limit, with_payload=True)
        return [Hit(dict(p.payload or {}), float(p.score)) for p in res.points]
