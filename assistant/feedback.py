"""Answer feedback (👍/👎 and an optional reason), appended to data_dir/feedback.jsonl.

Each line is one event: a rating creates a record, a reason is a later event with the same id.
`export()` merges the events, so the file is append-only and never rewritten.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

FIELDS = ("id", "time", "rating", "reason", "channel", "question", "answer", "citations")


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _append(self, event: dict) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(event, ensure_ascii=False) + "\n")

    def add(self, rating: str, question: str, answer: str, citations: list[dict], channel: str = "resident",
            reason: str = "") -> str:
        """Store a rating ("good" / "bad") with the question, the answer and the cited passages."""
        if rating not in ("good", "bad"):
            raise ValueError(f"rating must be good or bad, not {rating!r}")
        fid = uuid.uuid4().hex
        self._append({"id": fid, "time": _now(), "rating": rating, "reason": reason.strip(),
                      "channel": channel, "question": question, "answer": answer,
                      "citations": [{k: c.get(k) for k in ("n", "doc", "title", "section", "page", "text")}
                                    for c in citations]})
        return fid

    def set_reason(self, fid: str, reason: str) -> None:
        self._append({"id": fid, "time": _now(), "reason": reason.strip()})

    def records(self) -> list[dict]:
        if not self.path.exists():
            return []
        merged: dict[str, dict] = {}
        with self._lock, open(self.path, encoding="utf-8") as f:
            for line in f:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a torn last line after a crash loses one event, not the file
                if "rating" in event:
                    merged[event["id"]] = event
                elif event.get("id") in merged:
                    merged[event["id"]]["reason"] = event.get("reason", "")
        return list(merged.values())

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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
