"""`plan-assistant serve`: the API, the chat UI (at /ui) and the embeddable resident chat (/embed.js,
/embed) in one uvicorn process."""

from __future__ import annotations

import argparse

from fastapi import FastAPI

from assistant.api import create_app
from assistant.cli.common import settings_from_args
from assistant.config import Settings
from assistant.service import PlanAssistant


def build_app(settings: Settings, service: PlanAssistant | None = None) -> FastAPI:
    """The API with the chat UI mounted at /ui and the embedded chat at /embed (ui.app.mount_ui): the
    composition lives here, so neither imports the other."""
    from ui.app import mount_ui  # gradio is heavy: imported only when serving

    app = create_app(settings, service=service)
    mount_ui(app, settings)
    return app


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = settings_from_args(args)
    # start the service first, so a locked data directory or a bad model is one line, not a traceback
    with PlanAssistant(settings) as svc:
        app = build_app(settings, service=svc)
        base = f"http://{args.host}:{args.port}"
        print(f"計画書アシスタント: {base}/ui (chat)  {base}/docs (API)")
        if settings.embed_origins:
            print(f'embed on {", ".join(settings.embed_origins)}: <script src="{base}/embed.js" async></script>')
        if settings.staff_token is None:
            print("note: no staff token set (PLAN_ASSISTANT_STAFF_TOKEN): the staff workspace and staff routes are off")
        # the service writes its own access log (assistant/observe.py: route templates, no raw paths)
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


def add_serve_parser(sub) -> None:
    p = sub.add_parser("serve", help="serve the API and the chat UI (/ui)",
                       description="Serve the HTTP API (/docs) and the chat UI (/ui) over the data directory. "
                                   "Staff features need PLAN_ASSISTANT_STAFF_TOKEN.")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(func=cmd_serve)
