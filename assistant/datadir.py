"""The data directory's lock: one process at a time owns an embedded index (the service at start-up,
`backup` and `restore` while they copy)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from assistant.errors import StoreUnavailable

LOCK = "plan-assistant.lock"  # in the data directory; holds the owner's pid


def take_lock(data_dir: Path, in_use: str) -> IO[str]:
    """Lock `data_dir` for this process (the open lock file: closing it releases the lock). If another
    process holds it: StoreUnavailable with `in_use` formatted with `data_dir` and the holder's `pid`."""
    f = open(data_dir / LOCK, "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "?"
        f.close()
        raise StoreUnavailable(in_use.format(data_dir=data_dir, pid=holder)) from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f
