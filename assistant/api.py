"""FastAPI service: thin routes over the shared service, one JSON error shape, staff token for staff routes.

Admission (issue 11): resident routes and the UI's events count against a per-client rate limit
(429 with Retry-After); wrong staff tokens count against a stricter one, after which the client's
staff token is refused, right or wrong, until the window passes.
"""

from __future__ import annotations

import dataclasses
import json
import re
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, File, Form, Header, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.config import Settings
from assistant.errors import (
    DISK_FULL_MESSAGE,
    DISK_FULL_SKIPPED,
    INTERNAL_ERROR,
    TOKEN_LOCKED,
    Busy,
    DiskFull,
    PlanAssistantError,
    RateLimited,
    TryLater,
    Unauthorized,
    UnreadableDocument,
)
from assistant.feedback import FeedbackStore
from assistant.limits import DAY, MINUTE, RateLimiter
from assistant.observe import install_observability
from assistant.service import PlanAssistant
from assistant.types import Against, SearchFilters
from assistant.web import install_web

STAFF_ONLY = "職員用の機能です。職員トークン（X-Staff-Token）を指定してください。"
# the ways an event of a mounted Gradio UI (a chat turn, a rating, a login) reaches the server: the
# browser's queue, and the HTTP API that gradio_client and curl use
MAX_PURGE_DAYS = 36_500  # 100 years: any real age of a record; also refuses inf, which timedelta cannot hold
UI_EVENTS = re.compile(r"/gradio_api/(?:queue/join|call/[^/]+)$")


class Filters(BaseModel):
    type: list[str] | None = None
    document: list[str] | None = None
    fiscal_year: int | None = None


class Turn(BaseModel):
    role: str
    content: str
    # an answer's cited documents (its citations' "doc"), sent back so that a follow-up stays with them
    documents: list[str] = Field(default_factory=list, max_length=50)


class AskRequest(BaseModel):
    question: str = ""
    history: list[Turn] = Field(default_factory=list)
    filters: Filters | None = None


class SearchRequest(BaseModel):
    query: str = ""
    k: int = 10
    filters: Filters | None = None


class CheckRequest(BaseModel):
    draft: str = ""
    against: Against = "all"


class WhereRequest(BaseModel):
    measure: str = ""


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def bearer_token(x_staff_token: str | None, authorization: str | None) -> str | None:
    """The staff token from `X-Staff-Token` or `Authorization: Bearer …`."""
    if x_staff_token:
        return x_staff_token
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def error_response(exc: PlanAssistantError) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TryLater) else None
    return JSONResponse(error_body(exc.code, str(exc)), status_code=exc.status, headers=headers)


class UIRateLimit:
    """Pure ASGI middleware: the UI's events count against the per-client limit like the resident routes.
    (Pure ASGI, not BaseHTTPMiddleware, so the API's and the UI's event streams pass through untouched.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and UI_EVENTS.search(scope["path"]):
            limiter: RateLimiter = scope["app"].state.ui_limiter  # Starlette sets scope["app"] first
            wait = limiter.hit(scope["client"][0] if scope.get("client") else "unknown")
            if wait:
                await error_response(RateLimited(retry_after=wait))(scope, receive, send)
                return
        await self.app(scope, receive, send)


def to_filters(f: Filters | None, staff: bool) -> SearchFilters:
    f = f or Filters()
    return SearchFilters(doc_types=f.type or None, doc_ids=f.document or None, fiscal_year=f.fiscal_year,
                         audiences=None if staff else ["public"])


def create_app(settings: Settings, service: PlanAssistant | None = None) -> FastAPI:
    """Build the app. `service` may be a started PlanAssistant (tests, `serve`); otherwise it starts in
    lifespan. The chat UI is mounted by whoever composes the app (`cli.serve.build_app`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        svc = service or PlanAssistant(settings).start()
        app.state.svc = svc
        yield
        if service is None:
            svc.close()

    app = FastAPI(title="計画書アシスタント API", version="0.1.0", lifespan=lifespan,
                  description="Search, grounded answers and consistency checks over a city's plan documents.")
    if service is not None:
        app.state.svc = service
    app.state.feedback = feedback = FeedbackStore(settings.data_dir / "feedback.jsonl",
                                                  retention_days=settings.log_retention_days)
    per_client = [(settings.rate_limit_per_minute, MINUTE), (settings.rate_limit_per_day, DAY)]
    # on app.state, so a test can swap in limiters with its own clock
    app.state.limiter = RateLimiter(per_client)
    app.state.ui_limiter = RateLimiter(per_client)  # the UI's own budget: a chat turn is one event, two with its rating
    app.state.token_guard = RateLimiter([(settings.staff_token_failures_per_minute, MINUTE)])
    app.add_middleware(UIRateLimit)
    install_web(app, settings)  # security headers, CORS for the city's sites, /embed.js (assistant/web.py)
    install_observability(app, settings)  # access log, /metrics, /health/ready (added last: sees every request)

    def svc(request: Request) -> PlanAssistant:
        return request.app.state.svc

    def token(x_staff_token: Annotated[str | None, Header()] = None,
              authorization: Annotated[str | None, Header()] = None) -> str | None:
        return bearer_token(x_staff_token, authorization)

    def staff_flag(request: Request, tok: str | None = Depends(token)) -> bool:
        """Whether the request carries the staff token. A wrong one counts against the guessing limit;
        once it is reached, any token of that client is refused (429) until the window passes."""
        if not tok:
            return False
        key, guard = client_key(request), request.app.state.token_guard
        wait = guard.peek(key)
        if wait:
            raise RateLimited(TOKEN_LOCKED, retry_after=wait)
        if settings.staff_token_matches(tok):
            return True
        guard.hit(key, force=True)
        return False

    def require_staff(staff: bool = Depends(staff_flag)) -> bool:
        if not staff:
            raise Unauthorized(STAFF_ONLY)
        return True

    def resident(request: Request, staff: bool = Depends(staff_flag)) -> bool:
        """`staff_flag`, and a resident's request counted against the per-client limit (staff are exempt)."""
        if not staff:
            wait = request.app.state.limiter.hit(client_key(request))
            if wait:
                raise RateLimited(retry_after=wait)
        return staff

    @app.exception_handler(PlanAssistantError)
    async def _domain_error(_: Request, exc: PlanAssistantError):
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", []))
        return JSONResponse(error_body("bad_request", f"{where}: {first.get('msg', 'invalid request')}"), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException):
        return JSONResponse(error_body("http_error", str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception):
        return JSONResponse(error_body("internal_error", INTERNAL_ERROR), 500)

    @app.get("/health")
    def health(s=Depends(svc)):
        return {"status": "ok", "documents": len(s.documents()), "generator": s.generator_name}

    @app.post("/ask")
    async def ask(req: AskRequest, request: Request, s=Depends(svc), staff: bool = Depends(resident)):
        request.state.question = req.question  # for the access log (assistant/observe.py)
        history = [t.model_dump() for t in req.history]
        answer = await run_in_threadpool(s.ask, req.question, history, to_filters(req.filters, staff))
        request.state.answer = body = answer.to_dict()
        return body

    @app.post("/ask/stream")
    async def ask_stream(req: AskRequest, request: Request, s=Depends(svc), staff: bool = Depends(resident)):
        request.state.question = req.question  # for the access log, with the answer event below
        history = [t.model_dump() for t in req.history]
        filters = to_filters(req.filters, staff)
        if await run_in_threadpool(lambda: s.answers_busy):
            raise Busy(retry_after=settings.max_answer_wait_s)  # a 503 now rather than an error event later

        def events():
            try:
                for event in s.ask_stream(req.question, history, filters):
                    if event["type"] == "answer":
                        request.state.answer = event
                    yield f"data: {json.dumps(event, ensure_ascii=False)}\n\n"
            except PlanAssistantError as exc:
                yield f"data: {json.dumps({'type': 'error', **error_body(exc.code, str(exc))}, ensure_ascii=False)}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/search")
    async def search(req: SearchRequest, s=Depends(svc), staff: bool = Depends(resident)):
        passages = await run_in_threadpool(s.search, req.query, req.k, to_filters(req.filters, staff))
        return {"passages": [p.to_dict() for p in passages]}

    @app.get("/documents")
    def documents(s=Depends(svc), staff: bool = Depends(staff_flag)):
        docs = [d for d in s.documents() if staff or d.audience == "public"]
        return {"documents": [dataclasses.asdict(d) for d in docs]}

    @app.post("/documents", dependencies=[Depends(require_staff)])
    async def upload(file: UploadFile = File(...), type: str | None = Form(None),
                     audience: str | None = Form(None), title: str | None = Form(None), s=Depends(svc)):
        overrides = {"type": type, "audience": audience, "title": title}
        result = await run_in_threadpool(s.upload, file.file, file.filename, overrides)
        name = Path(result.path).name  # the name it was saved under: no path, no control characters
        if result.status == "failed" and result.reason in (DISK_FULL_MESSAGE, DISK_FULL_SKIPPED):
            return error_response(DiskFull(f"{name}: {result.reason}"))
        if result.status == "failed":
            return JSONResponse(error_body(UnreadableDocument.code, f"{name}: {result.reason}"),
                                UnreadableDocument.status)
        return dataclasses.asdict(result)

    @app.get("/documents/{doc_id}/inspect", dependencies=[Depends(require_staff)])
    async def inspect(doc_id: str, s=Depends(svc)):
        """How the document's file reads page by page (text layer, pypdfium2, OCR and its confidence,
        table rows), the chunks indexed from each page and the warnings; compared with the index."""
        report = await run_in_threadpool(s.inspect, doc_id)
        return report.to_dict()

    @app.delete("/documents/{doc_id}", dependencies=[Depends(require_staff)])
    def delete(doc_id: str, s=Depends(svc)):
        s.delete(doc_id)
        return {"deleted": doc_id}

    @app.post("/check", dependencies=[Depends(require_staff)])
    async def check(req: CheckRequest, s=Depends(svc)):
        report = await run_in_threadpool(s.check, req.draft, req.against)
        return report.to_dict()

    @app.post("/where", dependencies=[Depends(require_staff)])
    async def where(req: WhereRequest, s=Depends(svc)):
        report = await run_in_threadpool(s.where, req.measure)
        return report.to_dict()

    @app.get("/feedback/export", tags=["feedback"], dependencies=[Depends(require_staff)])
    def export_feedback(format: Literal["jsonl", "csv"] = "jsonl"):
        if format == "csv":
            return Response(feedback.export_csv(), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": 'attachment; filename="feedback.csv"'})
        return Response(feedback.export_jsonl(), media_type="application/x-ndjson; charset=utf-8")

    @app.delete("/feedback", tags=["feedback"], dependencies=[Depends(require_staff)])
    def purge_feedback(older_than_days: Annotated[float | None, Query(ge=0, le=MAX_PURGE_DAYS)] = None):
        """Delete feedback records older than `older_than_days` (default: the retention; 0: all)."""
        days = settings.log_retention_days if older_than_days is None else older_than_days
        return {"purged": feedback.purge(days), "older_than_days": days}

    return app

