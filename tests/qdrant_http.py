"""A Qdrant REST server for tests: the HTTP routes `assistant.store.ClientStore` calls, answered by
qdrant-client's own local engine (`QdrantClient(":memory:")`).

There is no Qdrant server binary here (the product embeds the engine; qdrant-client's local mode is
what stands in for a server in tests). This puts a real HTTP hop between the client and that engine,
so a server that is down, or that accepts a connection and drops it, can be produced on a real
loopback port: `stop()` closes the listening socket (connection refused), `drop = True` makes every
request's connection close without an answer, `start()` brings it back on the same port with the
same points. The answers are the engine's, computed from each request: nothing is canned.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from qdrant_client import QdrantClient, models

ROUTE = re.compile(r"^/collections/(?P<name>[^/]+)(?P<rest>/[a-z/]*)?$")


def free_port() -> int:
    """A loopback port nothing listens on (bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeQdrantServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.engine = QdrantClient(":memory:")
        self.drop = False  # accept, then close without answering
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeQdrantServer:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ------------------------------------------------------------------ the routes
    def answer(self, method: str, path: str, body: dict) -> Any:
        m = ROUTE.match(path)
        if m is None:
            if method == "GET" and path == "/":
                return {"title": "fake qdrant (local engine)", "version": "1.16.0"}
            raise LookupError(path)
        name, rest, e = m["name"], m["rest"] or "", self.engine
        if method == "GET" and rest == "/exists":
            return {"exists": e.collection_exists(name)}
        if method == "PUT" and rest == "":
            spec = models.CreateCollection.model_validate(body)
            return e.create_collection(name, vectors_config=spec.vectors, sparse_vectors_config=spec.sparse_vectors)
        if method == "PUT" and rest == "/index":
            spec = models.CreateFieldIndex.model_validate(body)
            return _update(e.create_payload_index(name, spec.field_name, spec.field_schema))
        if method == "PUT" and rest == "/points":
            return _update(e.upsert(name, models.PointsList.model_validate(body).points))
        if method == "POST" and rest == "/points/delete":
            return _update(e.delete(name, models.FilterSelector.model_validate(body)))
        if method == "POST" and rest == "/points/count":
            req = models.CountRequest.model_validate(body)
            return e.count(name, count_filter=req.filter, exact=bool(req.exact)).model_dump(mode="json")
        if method == "POST" and rest == "/points/scroll":
            req = models.ScrollRequest.model_validate(body)
            points, offset = e.scroll(name, scroll_filter=req.filter, limit=req.limit or 10, offset=req.offset,
                                      with_payload=req.with_payload, with_vectors=req.with_vector or False)
            return {"points": [p.model_dump(mode="json") for p in points], "next_page_offset": offset}
        if method == "POST" and rest == "/points/query":
            req = models.QueryRequest.model_validate(body)
            res = e.query_points(name, query=req.query, using=req.using, prefetch=req.prefetch,
                                 query_filter=req.filter, limit=req.limit or 10, with_payload=req.with_payload)
            return res.model_dump(mode="json")
        raise LookupError(f"{method} {path}")


def _update(result: Any) -> Any:
    return result.model_dump(mode="json") if hasattr(result, "model_dump") else result


def _handler(fake: FakeQdrantServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args) -> None:  # quiet
            pass

        def _serve(self) -> None:
            path = self.path.split("?", 1)[0]
            fake.requests.append(f"{self.command} {path}")
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            if fake.drop:  # the server "goes away" mid-conversation: no answer, connection closed
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            try:
                status, out = 200, {"result": fake.answer(self.command, path, body), "status": "ok", "time": 0.0}
            except LookupError as exc:
                status, out = 404, {"status": {"error": f"Not found: {exc}"}, "time": 0.0}
            data = json.dumps(out).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = _serve

    return Handler
