"""Uploaded files: streamed into the data directory under a safe name, within the size limit."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from assistant.errors import BadRequest, TooLarge

_UNSAFE = re.compile(r"[^\w.\-]+")
BLOCK = 1 << 20


def safe_name(filename: str | None) -> str:
    """A file name without directories or characters a shell or a file system would trip on."""
    return _UNSAFE.sub("_", Path(filename or "upload").name).strip("._") or "upload"


def save_upload(stream: BinaryIO, filename: str | None, target_dir: Path, max_mb: int) -> Path:
    """Stream an upload to `target_dir`, refusing it once it passes `max_mb` or when it is empty."""
    limit = max_mb * 1024 * 1024
    target_dir.mkdir(parents=True, exist_ok=True)
    size = 0
    with tempfile.NamedTemporaryFile(dir=target_dir, delete=False) as tmp:
        while chunk := stream.read(BLOCK):
            size += len(chunk)
            if size > limit:
                tmp.close()
                Path(tmp.name).unlink(missing_ok=True)
                raise TooLarge(f"ファイルが大きすぎます（上限 {max_mb} MB）。分割するか、"
                               "管理者にコマンドでの取り込みを依頼してください。")
            tmp.write(chunk)
    if size == 0:
        Path(tmp.name).unlink(missing_ok=True)
        raise BadRequest("空のファイルです。内容のあるファイルを選んでください。")
    path = target_dir / safe_name(filename)
    shutil.move(tmp.name, path)
    return path
