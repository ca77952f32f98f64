"""`plan-assistant serve`: the API and the chat UI (at /ui) in one uvicorn process."""

from __future__ import annotations

import argparse


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from assistant.api import create_app
    from assistant.cli import _settings

    settings = _settings(args)
    app = create_app(settings)
    print(f"計画書アシスタント: http://{args.host}:{args.port}/ui (chat)  http://{args.host}:{args.port}/docs (API)")
    if settings.staff_token is None:
        print("note: no staff token configured (PLAN_ASSISTANT_STAFF_TOKEN): staff features are disabled")
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def add_serve_parser(sub) -> None:
    p = sub.add_parser("serve", help="serve the API and the chat UI (/ui)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(func=cmd_serve)
