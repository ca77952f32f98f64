"""Answer feedback (👍/👎 and an optional reason), appended to data_dir/feedback.jsonl.

Each line is one event: a rating creates a record, a reason is a later event with the same id.
`export()` merges the events. What residents typed (question, reason) and the answer are masked
(`assistant.privacy.mask`) before they are written, and records older than the retention are purged:
the file is rewritten (atomically) only then, at most once an hour on a write, or by staff.
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from assistant.privacy import mask

FIELDS = ("id", "time", "rating", "reason", "channel", "question", "answer", "citations")
PURGE_EVERY_S = 3600.0  # a write purges expired records at most this often


class FeedbackStore:
    """`retention_days` (`Settings.log_retention_days`): older records are purged; None keeps them all."""

    def __init__(self, path: Path, retention_days: int | None = None) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self._lock = threading.Lock()
        self._last_purge = float("-inf")

    def _append(self, event: dict) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(event, ensure_ascii=False) + "\n")
        if self.retention_days is not None and time.monotonic() - self._last_purge > PURGE_EVERY_S:
            self.purge(self.retention_days)

    def add(self, rating: str, question: str, answer: str, citations: list[dict], channel: str = "resident",
            reason: str = "") -> str:
        """Store a rating ("good" / "bad") with the question, the answer and the cited passages."""
        if rating not in ("good", "bad"):
            raise ValueError(f"rating must be good or bad, not {rating!r}")
        fid = uuid.uuid4().hex
        self._append({"id": fid, "time": _now(), "rating": rating, "reason": mask(reason.strip()),
                      "channel": channel, "question": mask(question), "answer": mask(answer),
                      "citations": [{k: c.get(k) for k in ("n", "doc", "title", "section", "page", "text")}
                                    for c in citations]})
        return fid

    def set_reason(self, fid: str, reason: str) -> None:
        self._append({"id": fid, "time": _now(), "reason": mask(reason.strip())})

    def records(self) -> list[dict]:
        with self._lock:
            return list(_merge(self._events()).values())

    def purge(self, older_than_days: float) -> int:
        """Delete the records rated over `older_than_days` ago (0: all), with their reasons; how many."""
        cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
        with self._lock:
            self._last_purge = time.monotonic()
            events = self._events()
            expired = {i for i, r in _merge(events).items() if _time(r) <= cutoff}
            if not expired:
                return 0
            tmp = self.path.with_suffix(".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(e, ensure_ascii=False) + "\n"
                             for e in events if e.get("id") not in expired)
            os.replace(tmp, self.path)
            return len(expired)

    def _events(self) -> list[dict]:
        if not self.path.exists():
            return []
        events = []
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                try:
                    events.append(json.loads(line))
                except ValueError:
                    continue  # a torn last line after a crash loses one event, not the file
        return events

    def export_jsonl(self) -> str:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.records())

    def export_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        for r in self.records():
            cites = " | ".join(f"[{c.get('n')}] {c.get('title')} {c.get('section') or ''} p.{c.get('page')}"
                               for c in r.get("citations", []))
            writer.writerow([r.get("id"), r.get("time"), r.get("rating"), r.get("reason"), r.get("channel"),
                             r.get("question"), r.get("answer"), cites])
        return "\ufeff" + out.getvalue()  # BOM so Excel opens the Japanese text correctly


def _merge(events: list[dict]) -> dict[str, dict]:
    merged: dict[str, dict] = {}
    for event in events:
        if "rating" in event:
            merged[event["id"]] = dict(event)
        elif event.get("id") in merged:
            merged[event["id"]]["reason"] = event.get("reason", "")
    return merged


def _time(record: dict) -> datetime:
    try:
        t = datetime.fromisoformat(record.get("time", ""))
    except (TypeError, ValueError):
        return datetime.min.replace(tzinfo=UTC)  # no readable time: treated as expired
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
