"""The resident chat on the city's own web pages, and the headers every response carries (issue 11, item 3).

- Security headers on every response: `nosniff`, a referrer policy, and a Content-Security-Policy that
  the Gradio UI works under; only the embed page (`EMBED_PATH`) may be framed by the allowed sites
  (`Settings.embed_origins`), every other page by this server itself.
- CORS on the resident routes for the allowed sites only; a browser call from any other site is
  refused (403) before it reaches a route, so it costs nothing and counts against no limit. The UI's
  own API (Gradio's `/gradio_api/`, which Gradio opens to every origin) takes browser calls from this
  server's pages only: another site can neither call it nor run the chat in its own page.
- `GET /embed.js`: the script a city page includes. It adds a button that opens the resident-only chat
  (`EMBED_PATH`, mounted by ui.embed) in a frame, passing the page's address and title; on a site that
  is not allowed it says so instead (and the frame would be blocked by frame-ancestors anyway).
- `page_context`: the page a resident asked from, validated. It is shown with the answer and never
  reaches the search.

Pure ASGI middleware, not BaseHTTPMiddleware, so the answer stream and the UI's event stream pass
through untouched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.config import Settings, normalize_origin
from assistant.errors import PlanAssistantError

EMBED_PATH = "/embed"  # where ui.app.mount_ui mounts the resident-only chat that embed.js frames
EMBED_SCRIPT_PATH = "/embed.js"
RESIDENT_ROUTES = frozenset({"/ask", "/ask/stream", "/search"})  # assistant.api's routes behind `resident`
UI_API = "/gradio_api/"  # every call of a mounted Gradio page to its server (events, uploads, status)
# 2,048 characters: the longest URL the sitemaps protocol accepts, a common bound for what a site publishes
MAX_PAGE_URL_CHARS = 2048
MAX_PAGE_TITLE_CHARS = 100  # enough for a city page's <title>; the rest is cut with "…"
CORS_MAX_AGE_S = 600  # how long a browser may reuse a preflight answer (Chromium caps it at 7,200 s)
EMBED_SCRIPT_MAX_AGE_S = 300  # city pages cache embed.js this long; it carries the allowlist
FORBIDDEN_ORIGIN = "このサイトからの利用は許可されていません。"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")

# What the Gradio 6 pages need, found in a browser (tests/test_embed_browser.py fails on any CSP report):
# inline scripts (Gradio writes its config into the page), 'unsafe-eval' (gr.HTML renders its template
# through Function(); without it every gr.HTML shows an error), inline styles (the theme), data:/blob: for
# the icons, images and workers Gradio makes. Everything else comes from this server.
PAGE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "font-src": "'self' data:",
    "media-src": "'self' data: blob:",
    "connect-src": "'self'",
    "worker-src": "'self' blob:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
}
# FastAPI's /docs and /redoc load Swagger UI and ReDoc from a CDN (fastapi.openapi.docs defaults)
DOCS_POLICY = {
    **PAGE_POLICY,
    "script-src": "'self' 'unsafe-inline' 'unsafe-eval' https://cdn.jsdelivr.net",
    "style-src": "'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com",
    "font-src": "'self' data: https://fonts.gstatic.com",
    "img-src": "'self' data: blob: https://fastapi.tiangolo.com https://cdn.redoc.ly",
}


class ForbiddenOrigin(PlanAssistantError):
    """A browser call to a resident route from a site that is not on the allowlist."""

    code = "forbidden_origin"
    status = 403


def content_security_policy(policy: dict[str, str], frame_ancestors: Iterable[str]) -> str:
    parts = [f"{name} {value}" for name, value in policy.items()]
    parts.append("frame-ancestors " + " ".join(["'self'", *frame_ancestors]))
    return "; ".join(parts)


def route_path(scope: Scope) -> str:
    """The path below the app's root_path (what the routes match)."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def is_embed_path(path: str) -> bool:
    return path == EMBED_PATH or path.startswith(EMBED_PATH + "/")


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL as a browser's `Origin` names it, else None."""
    try:
        parts = urlsplit(url)
        return normalize_origin(f"{parts.scheme}://{parts.netloc}")
    except ValueError:
        return None


def same_host(origin: str, *hosts: str | None) -> bool:
    """Whether `Origin` names this server as the client reached it: one of `hosts` (the scheme may differ
    behind a TLS-terminating proxy)."""
    try:
        netloc = urlsplit(origin).netloc.lower()
    except ValueError:
        return False
    return any(host and netloc == str(host).strip().lower() for host in hosts)


def request_hosts(headers: Headers) -> tuple[str | None, str | None]:
    """Host, and X-Forwarded-Host from a proxy that rewrites Host. (A page cannot set either on a
    cross-origin call without a preflight, and a preflight from another site is refused.)"""
    forwarded = headers.get("x-forwarded-host")
    return headers.get("host"), forwarded.split(",")[0] if forwarded else None


class SecurityHeaders:
    """Pure ASGI middleware: the security headers on every HTTP response."""

    def __init__(self, app: ASGIApp, *, embed_origins: Sequence[str], docs_paths: Iterable[str]) -> None:
        self.app = app
        common = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "strict-origin-when-cross-origin")]
        self.page = common + [("Content-Security-Policy", content_security_policy(PAGE_POLICY, [])),
                              ("X-Frame-Options", "SAMEORIGIN")]  # for browsers without frame-ancestors
        self.docs = common + [("Content-Security-Policy", content_security_policy(DOCS_POLICY, [])),
                              ("X-Frame-Options", "SAMEORIGIN")]
        self.embed = common + [("Content-Security-Policy", content_security_policy(PAGE_POLICY, embed_origins))]
        self.docs_paths = {p for p in docs_paths if p}

    def headers_for(self, path: str) -> list[tuple[str, str]]:
        if is_embed_path(path):
            return self.embed
        return self.docs if path in self.docs_paths else self.page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.headers_for(route_path(scope))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class OriginGuard:
    """Pure ASGI middleware by the `Origin` of a browser call. A call without one (not a browser) or from
    this server's own pages passes. On the resident routes, one from an allowed site gets CORS (Starlette's
    CORSMiddleware: POST with a JSON body, no credentials, no staff token header); on the UI's API
    (`UI_API`) only this server's pages may call. Anything else is refused with 403."""

    def __init__(self, app: ASGIApp, *, origins: Sequence[str]) -> None:
        self.app = app
        self.origins = frozenset(origins)
        self.cors = CORSMiddleware(app, allow_origins=list(origins), allow_methods=["POST"],
                                   allow_headers=["Content-Type"], expose_headers=["Retry-After"],
                                   max_age=CORS_MAX_AGE_S)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = route_path(scope) if scope["type"] == "http" else ""
        resident = path in RESIDENT_ROUTES
        if not (resident or UI_API in path):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None or same_host(origin, *request_hosts(headers)):
            await self.app(scope, receive, send)
        elif resident and origin in self.origins:
            await self.cors(scope, receive, send)
        else:
            exc = ForbiddenOrigin(FORBIDDEN_ORIGIN)
            body = {"error": {"code": exc.code, "message": str(exc)}}
            await JSONResponse(body, status_code=exc.status)(scope, receive, send)


@dataclass(frozen=True)
class PageContext:
    """The page of the city's site a resident asked from (what embed.js passes)."""

    url: str  # scheme://host/path: no credentials, query or fragment (they may carry personal data)
    title: str = ""

    def note(self) -> str:
        """The line shown with an answer."""
        return f"（「{self.title}」のページからのご質問）" if self.title else f"（{self.url} のページからのご質問）"


def page_context(url: str | None, title: str | None, origins: Sequence[str],
                 own_hosts: Sequence[str | None] = ()) -> PageContext | None:
    """The page context embed.js passed, or None when there is none or it is not acceptable: an http(s)
    URL of at most MAX_PAGE_URL_CHARS from an allowed origin (or this server's own host, `request_hosts`).
    The URL is cut to scheme://host/path and the title to one line of MAX_PAGE_TITLE_CHARS."""
    if not url or len(url) > MAX_PAGE_URL_CHARS:
        return None
    origin = origin_of(url)
    if origin is None or not (origin in origins or same_host(origin, *own_hosts)):
        return None
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        return None
    clean = " ".join(_CONTROL.sub(" ", title or "").split())
    if len(clean) > MAX_PAGE_TITLE_CHARS:
        clean = clean[:MAX_PAGE_TITLE_CHARS - 1] + "…"
    return PageContext(url=origin + (parts.path or "/"), title=clean)


# The script a city page includes. Built with the DOM (never innerHTML) and styled through the CSSOM, so
# it works under the host page's own CSP; `async` or in <head> alike.
EMBED_SCRIPT = """/* 計画書アシスタント: the resident chat on a city page.
   <script src="https://ASSISTANT-HOST/embed.js" data-label="計画について質問する" data-position="right" async></script>
   Only the sites set in PLAN_ASSISTANT_EMBED_ORIGINS may embed it. */
(function () {
  "use strict";
  var ALLOWED = __ORIGINS__;
  var script = document.currentScript;
  if (!script || !script.src || document.getElementById("pa-embed-button")) { return; }
  var base = script.src.replace(/\\/embed\\.js(?:[?#].*)?$/, "");
  var here = window.location.origin;
  var allowed = here === new URL(base).origin || ALLOWED.indexOf(here) !== -1;
  var side = script.getAttribute("data-position") === "left" ? "left" : "right";
  var label = script.getAttribute("data-label") || "計画書について質問する";

  function style(el, props) { for (var k in props) { el.style[k] = props[k]; } }

  function fill(panel) {
    if (!allowed) {
      var note = document.createElement("p");
      note.id = "pa-embed-refused";
      note.setAttribute("role", "alert");
      note.textContent = "このページ（" + here + "）からは計画書アシスタントを利用できません。" +
        "埋め込みが許可されていないサイトです。";
      style(note, {margin: "16px", font: "14px/1.7 sans-serif", color: "#b00020"});
      panel.style.height = "auto";
      panel.appendChild(note);
      return;
    }
    var params = new URLSearchParams({page_url: here + window.location.pathname,
                                      page_title: (document.title || "").slice(0, __TITLE_CHARS__)});
    var frame = document.createElement("iframe");
    frame.id = "pa-embed-frame";
    frame.title = "計画書アシスタント";
    frame.src = base + "__EMBED_PATH__/?" + params.toString();
    frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms");
    frame.referrerPolicy = "strict-origin-when-cross-origin";
    style(frame, {width: "100%", height: "100%", border: "0"});
    panel.appendChild(frame);
  }

  function mount() {
    var panel = document.createElement("div");
    panel.id = "pa-embed-panel";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", "計画書アシスタント");
    style(panel, {display: "none", position: "fixed", bottom: "76px", width: "min(420px, calc(100vw - 40px))",
                  height: "min(640px, calc(100vh - 100px))", zIndex: "2147483000", background: "#fff",
                  border: "1px solid #c8c8c8", borderRadius: "12px", overflow: "hidden",
                  boxShadow: "0 4px 16px rgba(0,0,0,.3)"});
    panel.style[side] = "20px";
    var button = document.createElement("button");
    button.id = "pa-embed-button";
    button.type = "button";
    button.textContent = label;
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", panel.id);
    style(button, {position: "fixed", bottom: "20px", zIndex: "2147483000", padding: "12px 18px",
                   border: "none", borderRadius: "24px", background: "#2e7d32", color: "#fff",
                   font: "bold 15px sans-serif", cursor: "pointer", boxShadow: "0 2px 8px rgba(0,0,0,.3)"});
    button.style[side] = "20px";
    button.addEventListener("click", function () {
      var open = panel.style.display === "none";
      if (open && !panel.firstChild) { fill(panel); }
      panel.style.display = open ? "block" : "none";
      button.setAttribute("aria-expanded", String(open));
    });
    document.body.appendChild(panel);
    document.body.appendChild(button);
  }

  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
"""


def embed_script(origins: Sequence[str]) -> str:
    return (EMBED_SCRIPT.replace("__ORIGINS__", json.dumps(list(origins)))
            .replace("__TITLE_CHARS__", str(MAX_PAGE_TITLE_CHARS)).replace("__EMBED_PATH__", EMBED_PATH))


def install_web(app: FastAPI, settings: Settings) -> None:
    """Add the security headers, the origin checks (CORS on the resident routes), and `GET /embed.js`."""
    origins = list(settings.embed_origins)
    script = embed_script(origins)

    @app.get(EMBED_SCRIPT_PATH, include_in_schema=False)
    def embed_js() -> Response:
        return Response(script, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": f"public, max-age={EMBED_SCRIPT_MAX_AGE_S}"})

    app.add_middleware(OriginGuard, origins=origins)
    # added last, so outermost: the headers go on every response, the refusals above included
    app.add_middleware(SecurityHeaders, embed_origins=origins,
                       docs_paths=[app.docs_url or "", app.redoc_url or "", app.swagger_ui_oauth2_redirect_url or ""])
