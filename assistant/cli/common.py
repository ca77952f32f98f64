"""What every subcommand shares: the settings from the arguments, the service, batch input, JSON output."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assistant.config import Settings
from assistant.errors import BadRequest, ConfigError
from assistant.service import PlanAssistant

CITATION_KEYS = ("doc", "title", "section", "page", "page_label", "text")  # what a batch line gives of each citation


def settings_from_args(args: argparse.Namespace, **overrides: Any) -> Settings:
    """Settings from the environment, with `--data-dir` and the given overrides applied (validated)."""
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:  # one line, not a traceback: 「generator=openai needs …」
        raise ConfigError("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())) from None


def open_service(args: argparse.Namespace, **overrides: Any) -> PlanAssistant:
    """The service for one command (not started: use it as a context manager)."""
    return PlanAssistant(settings_from_args(args, **overrides))


def print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def batch_lines(path: str) -> Iterator[dict]:
    """The JSON objects of a JSONL file, one per non-empty line."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError as exc:
                    raise BadRequest(f"{path}:{n}: JSON として読めません（{exc}）") from exc


def brief(item: dict) -> dict:
    """A citation or evidence entry with the keys a batch line gives."""
    return {k: item.get(k) for k in CITATION_KEYS}
