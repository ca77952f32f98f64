"""FastAPI service: thin routes over the shared service, one JSON error shape, staff token for staff routes."""

from __future__ import annotations

import dataclasses
import hmac
import json
import re
import shutil
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, File, Form, Header, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.config import Settings
from assistant.errors import BadRequest, PlanAssistantError, TooLarge, Unauthorized, UnsupportedFormat
from assistant.types import SearchFilters


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
    against: str = "all"


class WhereRequest(BaseModel):
    measure: str = ""


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def is_staff(settings: Settings, token: str | None) -> bool:
    if not token or settings.staff_token is None:
        return False
    return hmac.compare_digest(token, settings.staff_token.get_secret_value())


def to_filters(f: Filters | None, staff: bool) -> SearchFilters:
    f = f or Filters()
    return SearchFilters(doc_types=f.type or None, doc_ids=f.document or None, fiscal_year=f.fiscal_year,
                         audiences=None if staff else ["public"])


def create_app(settings: Settings, service=None) -> FastAPI:
    """Build the app. `service` may be a started PlanAssistant (tests); otherwise it starts in lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        own = service is None
        svc = service
        if own:
            from assistant.service import PlanAssistant

            svc = PlanAssistant(settings).start()
        app.state.svc = svc
        yield
        if own:
            svc.close()

    app = FastAPI(title="計画書アシスタント API", version="0.1.0", lifespan=lifespan,
                  description="Search, grounded answers and consistency checks over a city's plan documents.")
    if service is not None:
        app.state.svc = service

    def svc(request: Request):
        return request.app.state.svc

    def token(x_staff_token: Annotated[str | None, Header()] = None,
              authorization: Annotated[str | None, Header()] = None) -> str | None:
        if x_staff_token:
            return x_staff_token
        if authorization and authorization.lower().startswith("bearer "):
            return authorization[7:].strip()
        return None

    def staff_flag(tok: str | None = Depends(token)) -> bool:
        return is_staff(settings, tok)

    def require_staff(tok: str | None = Depends(token)) -> bool:
        if not is_staff(settings, tok):
            raise Unauthorized("職員用の機能です。職員トークン（X-Staff-Token）を指定してください。")
        return True

    @app.exception_handler(UnsupportedFormat)
    async def _unsupported(_: Request, exc: UnsupportedFormat):
        return JSONResponse(error_body(exc.code, str(exc)), status_code=415)

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
        return JSONResponse(error_body("internal_error", "内部エラーが発生しました。時間をおいて再度お試しください。"), 500)

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
        from ingest.load import SUPPORTED_SUFFIXES

        suffix = Path(file.filename or "").suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise UnsupportedFormat(f"{file.filename}: 対応していない形式です（{suffix or '拡張子なし'}）。"
                                    f"対応形式: {', '.join(sorted(SUPPORTED_SUFFIXES))}")
        path = await run_in_threadpool(save_upload, file, settings)
        result = await run_in_threadpool(s.ingest_one, path, {"type": type, "audience": audience, "title": title})
        if result.status == "failed":
            path.unlink(missing_ok=True)
            return JSONResponse(error_body("ingest_failed", f"{file.filename}: {result.reason}"), 422)
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

    from ui.app import mount_ui

    mount_ui(app, settings)
    return app


_SAFE = re.compile(r"[^\w.\-]+")


def save_upload(file: UploadFile, settings: Settings) -> Path:
    """Stream an upload to the data directory, refusing it once it passes the size limit."""
    limit = settings.max_upload_mb * 1024 * 1024
    name = _SAFE.sub("_", Path(file.filename or "upload").name).strip("._") or "upload"
    target_dir = settings.data_dir / "uploads"
    target_dir.mkdir(parents=True, exist_ok=True)
    size = 0
    with tempfile.NamedTemporaryFile(dir=target_dir, delete=False) as tmp:
        while chunk := file.file.read(1 << 20):
            size += len(chunk)
            if size > limit:
                tmp.close()
                Path(tmp.name).unlink(missing_ok=True)
                raise TooLarge(f"ファイルが大きすぎます（上限 {settings.max_upload_mb} MB）。分割するか、"
                               "管理者にコマンドでの取り込みを依頼してください。")
            tmp.write(chunk)
    if size == 0:
        Path(tmp.name).unlink(missing_ok=True)
        raise BadRequest("空のファイルです。内容のあるファイルを選んでください。")
    path = target_dir / name
    shutil.move(tmp.name, path)
    return path
