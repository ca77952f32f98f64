"""FastAPI service: thin routes over the shared service, one JSON error shape, staff token for staff routes."""

from __future__ import annotations

import dataclasses
import json
from contextlib import asynccontextmanager
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, File, Form, Header, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.config import Settings
from assistant.errors import INTERNAL_ERROR, PlanAssistantError, Unauthorized, UnreadableDocument
from assistant.feedback import FeedbackStore
from assistant.service import PlanAssistant
from assistant.types import Against, SearchFilters

STAFF_ONLY = "職員用の機能です。職員トークン（X-Staff-Token）を指定してください。"


class Filters(BaseModel):
    type: list[str] | None = None
    document: list[str] | None = None
    fiscal_year: int | None = None


class Turn(BaseModel):
    role: str
    content: str


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
    app.state.feedback = feedback = FeedbackStore(settings.data_dir / "feedback.jsonl")

    def svc(request: Request) -> PlanAssistant:
        return request.app.state.svc

    def token(x_staff_token: Annotated[str | None, Header()] = None,
              authorization: Annotated[str | None, Header()] = None) -> str | None:
        return bearer_token(x_staff_token, authorization)

    def staff_flag(tok: str | None = Depends(token)) -> bool:
        return settings.staff_token_matches(tok)

    def require_staff(tok: str | None = Depends(token)) -> bool:
        if not settings.staff_token_matches(tok):
            raise Unauthorized(STAFF_ONLY)
        return True

    @app.exception_handler(PlanAssistantError)
    async def _domain_error(_: Request, exc: PlanAssistantError):
        return JSONResponse(error_body(exc.code, str(exc)), status_code=exc.status)

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
    async def ask(req: AskRequest, s=Depends(svc), staff: bool = Depends(staff_flag)):
        history = [t.model_dump() for t in req.history]
        answer = await run_in_threadpool(s.ask, req.question, history, to_filters(req.filters, staff))
        return answer.to_dict()

    @app.post("/ask/stream")
    async def ask_stream(req: AskRequest, s=Depends(svc), staff: bool = Depends(staff_flag)):
        history = [t.model_dump() for t in req.history]
        filters = to_filters(req.filters, staff)

        def events():
            try:
                for event in s.ask_stream(req.question, history, filters):
                    yield f"data: {json.dumps(event, ensure_ascii=False)}\n\n"
            except PlanAssistantError as exc:
                yield f"data: {json.dumps({'type': 'error', **error_body(exc.code, str(exc))}, ensure_ascii=False)}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/search")
    async def search(req: SearchRequest, s=Depends(svc), staff: bool = Depends(staff_flag)):
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
        if result.status == "failed":
            return JSONResponse(error_body(UnreadableDocument.code, f"{file.filename}: {result.reason}"),
                                UnreadableDocument.status)
        return dataclasses.asdict(result)

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

    return app

