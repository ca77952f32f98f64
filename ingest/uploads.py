"""Uploaded files: streamed into the data directory under a safe name, within the size limit.

The name a client sends is only a hint: directories (`/` and `\\`, as old browsers send whole
Windows paths), drive letters, control characters and NUL are dropped, characters a shell or a
file system would trip on become `_`, and the stem is cut to fit any file system, so the file
always lands directly in the upload directory.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from assistant.errors import BadRequest, TooLarge

_UNSAFE = re.compile(r"[^\w.\-]+")
BLOCK = 1 << 20
# ext4, XFS and APFS allow 255 bytes in a name; a stem of at most 150 bytes (50 kanji in UTF-8)
# leaves room for the suffix and for the temporary names of tools that add their own.
MAX_STEM_BYTES = 150
# Suffixes are short (.xlsx); anything longer is not one a reader knows, so it is cut too.
MAX_SUFFIX_CHARS = 10


def safe_name(filename: str | None) -> str:
    """A file name without directories or characters a shell or a file system would trip on."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable())  # NUL and other control characters
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = suffix, ""
    stem = _UNSAFE.sub("_", stem).strip("._")
    stem = stem.encode()[:MAX_STEM_BYTES].decode(errors="ignore") or "upload"
    suffix = _UNSAFE.sub("", suffix)[:MAX_SUFFIX_CHARS]
    return f"{stem}.{suffix}" if suffix else stem


def save_upload(stream: BinaryIO, filename: str | None, target_dir: Path, max_mb: int) -> Path:
    """Stream an upload to `target_dir`, refusing it once it passes `max_mb` or when it is empty.
    Nothing is left behind when it is refused or the stream breaks off."""
    limit = max_mb * 1024 * 1024
    target_dir.mkdir(parents=True, exist_ok=True)
    size = 0
    with tempfile.NamedTemporaryFile(dir=target_dir, prefix=".upload-", delete=False) as tmp:
        try:
            while chunk := stream.read(BLOCK):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"ファイルが大きすぎます（上限 {max_mb} MB）。分割するか、"
                                   "管理者にコマンドでの取り込みを依頼してください。")
                tmp.write(chunk)
        except BaseException:
            tmp.close()
            Path(tmp.name).unlink(missing_ok=True)
            raise
    if size == 0:
        Path(tmp.name).unlink(missing_ok=True)
        raise BadRequest("空のファイルです。内容のあるファイルを選んでください。")
    path = target_dir / safe_name(filename)
    shutil.move(tmp.name, path)
    return path
