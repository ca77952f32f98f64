"""Operability (issue 11, item 7): access logs, Prometheus metrics and a readiness check for the API.

* Access log: one JSON line per request on the `plan_assistant.access` logger — time (the request's
  arrival, UTC), method, route template (never the raw path with its ids), status, latency_ms,
  client; on the answer routes also the generator and whether it abstained. The question is logged
  only with `log_questions` on, and then masked (`assistant/privacy.py`). A pure ASGI middleware, so
  streams pass through untouched and `/ask/stream` is logged when its stream ends.
* `GET /metrics` (Prometheus text format) from a registry of this app's own, not the process-global
  one. It needs the staff token (header `Authorization: Bearer …`, which Prometheus's scrape config
  sends, or `X-Staff-Token`; wrong tokens count against the same guessing limit as the API's) unless
  `metrics_public` is on: a city exposes it to its monitoring, not to the internet.
* `GET /health/ready`: the index open and answering, the answer generator loaded (and its server
  reachable), the document and chunk counts; 503 in the one JSON error shape otherwise. `GET /health`
  stays the cheap liveness check.

The answer routes tell this module about their answer through the request's state, so neither knows
the other: `request.state.question` (what was asked) and `request.state.answer` (the answer's dict,
with `generator` and `abstained`). Answers given in the chat UI are not seen here (they are Gradio
events, which the request metrics count by route).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.config import Settings
from assistant.errors import TOKEN_LOCKED, ModelUnavailable, RateLimited, StoreUnavailable, Unauthorized
from assistant.privacy import mask

access_log = logging.getLogger("plan_assistant.access")
log = logging.getLogger(__name__)

UNMATCHED = "<unmatched>"  # the route label of a request no route took (a 404): raw paths would explode
# a response never started: the client went away first (nginx's "client closed request")
CLIENT_CLOSED = 499
# Prometheus's default latency buckets, extended: an answer of the bundled local model takes ≈ 20 s
# (README, Evaluation) and an OpenAI-compatible server may take up to llm_timeout (60 s)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
# answers: extractive ≈ 0.1 s, the bundled local model ≈ 20 s a question (README, Evaluation)
ANSWER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
# how long a readiness probe waits for the generator to load before it answers "loading" (Kubernetes'
# default probe timeout is 1 s), and for an OpenAI-compatible server to answer `GET /models`
LOAD_WAIT_S = 0.5
SERVER_PING_S = 2.0
STAFF_REQUIRED = "メトリクスは職員トークンが必要です（Authorization: Bearer または X-Staff-Token）。"
NO_STAFF_TOKEN = ("メトリクスは無効です。職員トークン（PLAN_ASSISTANT_STAFF_TOKEN）を設定するか、"
                  "PLAN_ASSISTANT_METRICS_PUBLIC を有効にしてください。")
NOT_STARTED = "サービスが起動していません。"


class Observer:
    """The app's metrics registry and the request accounting the middleware does after each request."""

    def __init__(self, app: FastAPI, settings: Settings) -> None:
        self.app, self.settings = app, settings
        self.registry = CollectorRegistry()
        labels = ["method", "route", "status"]
        self.requests = Counter("plan_assistant_http_requests", "HTTP requests by route template and status",
                                labels, registry=self.registry)
        self.latency = Histogram("plan_assistant_http_request_duration_seconds",
                                 "Time from a request's arrival to the end of its response (a stream's end)",
                                 labels, buckets=REQUEST_BUCKETS, registry=self.registry)
        self.rate_limited = Counter("plan_assistant_rate_limited", "Requests refused with 429 (the per-client "
                                    "limit, or a client locked out for wrong staff tokens)", ["route"],
                                    registry=self.registry)
        self.answer_time = Histogram("plan_assistant_answer_duration_seconds",
                                     "Time to answer on /ask and /ask/stream by the generator that answered "
                                     "(retrieval, any wait for the answer gate, generation, verification)",
                                     ["generator"], buckets=ANSWER_BUCKETS, registry=self.registry)
        self.answers = Counter("plan_assistant_answers", "Answers on /ask and /ask/stream by generator and "
                               "whether the documents did not cover the question", ["generator", "abstained"],
                               registry=self.registry)
        self.registry.register(ServiceCollector(app))

    def record(self, scope: Scope, root_path: str, status: int, seconds: float, arrived: float) -> None:
        method, route = scope["method"], self.route_template(scope, root_path)
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, str(status)).observe(seconds)
        if status == 429:
            self.rate_limited.labels(route).inc()
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(arrived, UTC).isoformat(timespec="milliseconds"),
            "method": method, "route": route, "status": status, "latency_ms": round(seconds * 1000, 1),
            "client": scope["client"][0] if scope.get("client") else "unknown",
        }
        state = scope.get("state") or {}
        if "question" in state or "answer" in state:  # an answer route
            answer = state.get("answer") or {}
            line["generator"], line["abstained"] = answer.get("generator"), answer.get("abstained")
            if answer.get("generator"):
                self.answer_time.labels(answer["generator"]).observe(seconds)
                self.answers.labels(answer["generator"], str(bool(answer.get("abstained"))).lower()).inc()
            if self.settings.log_questions:
                line["question"] = mask(str(state.get("question") or ""))[: self.settings.max_query_chars]
        access_log.info(json.dumps(line, ensure_ascii=False))

    def route_template(self, scope: Scope, root_path: str) -> str:
        """`/documents/{doc_id}`, `/ui/gradio_api/queue/join`: the route that took the request, with the
        prefix of the app it is mounted in; a request answered before routing gets the route it would
        have taken (a mounted app as `/ui/{path}`)."""
        route = scope.get("route")
        mounted = str(scope.get("root_path", ""))[len(root_path):]  # the mounts the request went through
        if isinstance(route, Mount):
            return mounted + "/{path}"
        if route is not None:
            return mounted + str(getattr(route, "path_format", None) or getattr(route, "path", ""))
        for candidate in self.app.router.routes:
            match, _ = candidate.matches(scope)
            if match is Match.FULL:
                path = str(getattr(candidate, "path_format", None) or getattr(candidate, "path", ""))
                return path + "/{path}" if isinstance(candidate, Mount) else path
        return UNMATCHED


class AccessLog:
    """Pure ASGI middleware (not BaseHTTPMiddleware, which would buffer streams): times each HTTP request
    to the end of its response, then has the observer log and count it."""

    def __init__(self, app: ASGIApp, observer: Observer) -> None:
        self.app, self.observer = app, observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        arrived, start = time.time(), time.perf_counter()
        root_path = str(scope.get("root_path", ""))
        scope.setdefault("state", {})  # request.state writes here, so the routes' notes reach `record`
        status = 0

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        except BaseException:
            status = status or 500  # the outermost error middleware turns it into a 500
            raise
        finally:
            try:
                self.observer.record(scope, root_path, status or CLIENT_CLOSED, time.perf_counter() - start,
                                     arrived)
            except Exception:
                log.exception("cannot record a request")


class ServiceCollector(Collector):
    """Gauges read from the service when Prometheus scrapes: the answer gate and the index's size."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        svc = getattr(self.app.state, "svc", None)
        if svc is None:
            return
        gate = svc.gate
        yield GaugeMetricFamily("plan_assistant_answers_active", "Answers the language model is generating",
                                value=gate.active)
        yield GaugeMetricFamily("plan_assistant_answer_queue_length", "Questions waiting for the language model",
                                value=gate.waiting)
        yield GaugeMetricFamily("plan_assistant_answer_slots", "Answers generated at once at most "
                                "(max_concurrent_answers)", value=gate.slots)
        yield GaugeMetricFamily("plan_assistant_answer_queue_capacity", "Questions that may wait at most "
                                "(max_waiting_answers); beyond it 503", value=gate.max_waiting)
        try:
            documents, chunks = len(svc.documents()), svc.store.count()
        except Exception as exc:  # the index is down: the gauges are left out, /health/ready says why
            log.warning("metrics: cannot count the index: %s", exc)
            return
        yield GaugeMetricFamily("plan_assistant_documents", "Documents in the index", value=documents)
        yield GaugeMetricFamily("plan_assistant_chunks", "Chunks (passages) in the index", value=chunks)


class GeneratorReadiness:
    """Whether the answer generator is ready. The first probe starts loading it in the background (the
    bundled model loads on first use otherwise, and the first resident would wait for it); a probe
    answers "loading" until it is in, then checks that an OpenAI-compatible server answers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._loader: threading.Thread | None = None
        self._error: Exception | None = None
        self._lock = threading.Lock()

    def status(self, svc) -> tuple[bool, str]:
        """(ready, the generator's name or why it is not ready)."""
        with self._lock:
            if self._loader is None or (not self._loader.is_alive() and self._error is not None):
                self._error = None  # a failed load is retried: the cause may have been fixed
                self._loader = threading.Thread(target=self._load, args=(svc,), name="generator-load",
                                                daemon=True)
                self._loader.start()
            loader = self._loader
        loader.join(LOAD_WAIT_S)
        if loader.is_alive():
            return False, f"言語モデル（{self.settings.generator}）を読み込み中です。"
        if self._error is not None:
            return False, f"言語モデルを読み込めません: {self._error}"
        return self._reachable(svc.engine.generator)

    def _load(self, svc) -> None:
        try:
            svc.engine  # noqa: B018 — the property loads the generator
        except Exception as exc:
            self._error = exc

    def _reachable(self, generator) -> tuple[bool, str]:
        from assistant.llm import OpenAICompatGenerator

        if generator is None:
            return True, "extractive"
        if not isinstance(generator, OpenAICompatGenerator):
            return True, generator.name  # in-process: loaded is ready
        import httpx

        headers = {"Authorization": f"Bearer {generator.api_key}"} if generator.api_key else {}
        try:
            response = httpx.get(f"{generator.base_url}/models", headers=headers, timeout=SERVER_PING_S)
        except httpx.HTTPError as exc:
            return False, f"言語モデルのサーバー（{generator.base_url}）に接続できません: {exc!r}"
        if response.status_code >= 500:
            return False, f"言語モデルのサーバー（{generator.base_url}）が HTTP {response.status_code} を返しました。"
        return True, generator.name


def index_status(svc) -> tuple[bool, str, int, int]:
    """(ready, why not, documents, chunks): the index open and answering a count, the registry readable."""
    if svc is None or svc.store is None:
        return False, NOT_STARTED, 0, 0
    try:
        return True, "", len(svc.documents()), svc.store.count()
    except Exception as exc:
        return False, f"索引を読めません: {exc}", 0, 0


def _ensure_access_log_output() -> None:
    """INFO lines of the access logger reach stderr even where nothing configured logging (`serve`: uvicorn
    configures only its own loggers). Where logging is configured (a handler on the logger or above it,
    as under pytest), that configuration decides."""
    access_log.setLevel(logging.INFO)
    if not access_log.hasHandlers():
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.propagate = False  # a root handler configured later would print each line twice


def install_observability(app: FastAPI, settings: Settings) -> None:
    """Add the access log and metrics middleware, `GET /metrics` and `GET /health/ready` to `app`."""
    from assistant.api import bearer_token, client_key  # here, not at the top: assistant.api imports us

    observer = app.state.observer = Observer(app, settings)
    readiness = GeneratorReadiness(settings)
    app.add_middleware(AccessLog, observer=observer)
    _ensure_access_log_output()

    @app.get("/metrics", tags=["operations"], response_class=Response,
             responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
    def metrics(request: Request, x_staff_token: Annotated[str | None, Header()] = None,
                authorization: Annotated[str | None, Header()] = None):
        """Prometheus metrics. Needs the staff token unless `PLAN_ASSISTANT_METRICS_PUBLIC` is on."""
        if not settings.metrics_public:
            if settings.staff_token is None:
                raise Unauthorized(NO_STAFF_TOKEN)
            key, guard = client_key(request), request.app.state.token_guard
            wait = guard.peek(key)
            if wait:
                raise RateLimited(TOKEN_LOCKED, retry_after=wait)
            token = bearer_token(x_staff_token, authorization)
            if not settings.staff_token_matches(token):
                if token:
                    guard.hit(key, force=True)
                raise Unauthorized(STAFF_REQUIRED)
        return Response(generate_latest(observer.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health/ready", tags=["operations"],
             responses={503: {"description": "Not ready: the index or the answer generator (the message says which)"}})
    def ready(request: Request):
        """Readiness: 200 when the index answers and the generator is ready, else 503 saying why."""
        svc = getattr(request.app.state, "svc", None)
        index_ok, index_why, documents, chunks = index_status(svc)
        model_ok, model = readiness.status(svc) if index_ok else (False, "")
        if not index_ok:
            raise StoreUnavailable(f"準備ができていません: {index_why}")
        if not model_ok:
            raise ModelUnavailable(f"準備ができていません: {model}")
        return {"status": "ready", "index": {"ready": True, "documents": documents, "chunks": chunks},
                "generator": {"ready": True, "name": model}}
