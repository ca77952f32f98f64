"""`plan-assistant` command line. Thin: parses arguments, calls the service, prints results.

One module per subcommand group (`documents`, `inspect`, `ask`, `check`, `serve`, `backup`; `eval` and `bench`
live with the evaluation harness); `common` holds what they share.
"""

from __future__ import annotations

import argparse
import sys

from assistant.errors import PlanAssistantError

EXIT_ERROR = 2  # a refused input or an unusable data directory: one line on stderr


def build_parser() -> argparse.ArgumentParser:
    from assistant.cli.ask import add_ask_parser
    from assistant.cli.backup import add_backup_parsers
    from assistant.cli.check import add_check_parsers
    from assistant.cli.documents import add_document_parsers
    from assistant.cli.inspect import add_inspect_parser
    from assistant.cli.serve import add_serve_parser
    from eval.bench import add_bench_parser
    from eval.cli import add_eval_parser

    parser = argparse.ArgumentParser(prog="plan-assistant",
                                     description="計画書アシスタント: plan documents, search, answers, checks")
    parser.add_argument("--data-dir", help="data directory (default: $PLAN_ASSISTANT_DATA_DIR or ./data)")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (add_document_parsers, add_inspect_parser, add_ask_parser, add_check_parsers, add_serve_parser,
                add_backup_parsers, add_eval_parser, add_bench_parser):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PlanAssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
