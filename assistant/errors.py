"""The project's error hierarchy. Translated to messages only at the edges (CLI, API, UI)."""

import math

# what a user is told of an unexpected failure (the details go to the log)
INTERNAL_ERROR = "内部エラーが発生しました。時間をおいて再度お試しください。"


class PlanAssistantError(Exception):
    """Base class. `str(err)` is a one-line reason a user can act on."""

    code = "error"
    status = 500


class BadRequest(PlanAssistantError):
    code = "bad_request"
    status = 400


class NotFound(PlanAssistantError):
    code = "not_found"
    status = 404


class Unauthorized(PlanAssistantError):
    code = "unauthorized"
    status = 401


class IngestError(PlanAssistantError):
    code = "ingest_error"
    status = 422


class UnreadableDocument(IngestError):
    """A file that cannot be turned into text: corrupt, encrypted, image-only, unsupported, too large."""

    code = "unreadable_document"


class UnsupportedFormat(UnreadableDocument):
    code = "unsupported_format"
    status = 415


class TooLarge(UnreadableDocument):
    code = "too_large"
    status = 413


class StoreUnavailable(PlanAssistantError):
    """The index cannot be opened (held by another process, corrupt, server unreachable)."""

    code = "store_unavailable"
    status = 503


# an ingest's per-file reasons when the disk is full (ingest/pipeline.py), which the API answers with 507
DISK_FULL_MESSAGE = ("ディスクの空き容量が足りないため書き込めませんでした（disk full: no space left on the device "
                     "of the data directory）。索引済みの文書はそのまま検索できます。空きを作ってから、"
                     "同じ取り込みをやり直してください")
DISK_FULL_SKIPPED = "ディスクの空き容量が足りないため、取り込みを中止しました（not attempted: disk full）"


class DiskFull(StoreUnavailable):
    """A write to the data directory (index, registry, vector cache) failed for lack of space; what was
    indexed before stays searchable, and the same ingest can be repeated once there is space."""

    code = "disk_full"
    status = 507  # Insufficient Storage (RFC 4918)


class ModelUnavailable(PlanAssistantError):
    code = "model_unavailable"
    status = 503


class ConfigError(PlanAssistantError):
    code = "config_error"
    status = 500


# what a resident is told when the service turns a request away for load (issue 11)
BUSY_MESSAGE = "ただいま混み合っています。しばらくしてからお試しください。"
# what a client is told once its wrong staff tokens reached the guessing limit (the API, /metrics, the UI login)
TOKEN_LOCKED = "職員トークンの誤りが続いたため、しばらく受け付けを停止しています。時間をおいて再度お試しください。"


class TryLater(PlanAssistantError):
    """A refusal for load, not for the request: the API adds `Retry-After` (whole seconds, at least 1)."""

    def __init__(self, message: str = BUSY_MESSAGE, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))


class RateLimited(TryLater):
    """One client sent more requests (or wrong staff tokens) than its share."""

    code = "rate_limited"
    status = 429


class Busy(TryLater):
    """The answer queue is full: every client is turned away until a slot frees."""

    code = "busy"
    status = 503
