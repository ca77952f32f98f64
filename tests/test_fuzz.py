"""The HTTP API fuzzed from its own OpenAPI schema (issue 11): every route, valid and invalid input.

schemathesis generates requests for every operation of `create_app`'s schema, positive (what the
schema allows) and negative (what it does not), and each request is sent twice: as generated
(no staff token, or a made-up one in `X-Staff-Token` / `Authorization`) and with the right staff
token. The rate limits are off for this app, so the handlers are fuzzed rather than the limiter.

Asserted of every response: no server error (5xx, or an exception out of the app); invalid input
refused with a 4xx (schemathesis's `negative_data_rejection`); every error in the one JSON shape
`{"error": {"code", "message"}}` (error events of `/ask/stream` too); a staff route without the
right token never succeeds; no response without it names the staff-only document. Each route's
request count is printed, and the run's total and server errors by the last test (`-s` not needed).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection

from assistant.api import create_app
from ingest.load import SUPPORTED_SUFFIXES
from tests.helpers import SAMPLE_DOCS, sample_service

pytestmark = pytest.mark.slow

TOKEN = "fuzz-staff-token-5b1e"
MEMO = "midorino_chonai_kentou_memo"  # the sample document whose audience is staff
RESIDENT_ROUTES = ["GET /health", "GET /health/ready", "POST /ask", "POST /ask/stream", "POST /search",
                   "GET /documents"]
STAFF_ROUTES = ["POST /documents", "GET /documents/{doc_id}/inspect", "DELETE /documents/{doc_id}", "POST /check", "POST /where",
                "GET /feedback/export", "DELETE /feedback", "GET /metrics"]  # /metrics: metrics_public is off
# Found by this test; the fix belongs in assistant/api.py. Strict: remove the entry once it is fixed.
KNOWN: dict[str, str] = {}  # route -> why it still fails the fuzzer (strict xfail); none at present
# Examples per operation and generation mode; each is sent twice (without and with the token).
# 13 operations × 2 modes × 60 × 2 ≈ 2,600 requests, under a minute on 2 cores, inside the 2–3
# minutes this test may take (40 examples: 1,602 requests in 16 s of fuzzing).
MAX_EXAMPLES = 60
# Uploads of damaged sample files (each format, bytes overwritten, cut short) and of random bytes
# under each supported suffix; each is ingested for real, so fewer than the schema's examples.
UPLOAD_EXAMPLES = 80
# A fuzzed request over the sample documents takes well under a second; one taking 30 s is a hang.
SLOW_REQUEST_S = 30.0


@dataclass
class Tally:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")

    def add(self, other: Tally) -> None:
        """Count `other`'s requests in this tally too (the run's total)."""
        self.requests += other.requests
        self.statuses.update(other.statuses)
        self.server_errors += other.server_errors
        self.violations += other.violations
        self.slowest = max(self.slowest, other.slowest)

    def summary(self) -> str:
        by_status = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items(), key=str))
        return (f"{self.requests} requests, {len(self.server_errors)} server errors, "
                f"{len(self.violations)} other violations; statuses {by_status}; "
                f"slowest {self.slowest[0]:.2f} s ({self.slowest[1]})")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = sample_service(tmp_path_factory.mktemp("fuzz-data"), staff_token=TOKEN, rate_limit_per_minute=0,
                         rate_limit_per_day=0, staff_token_failures_per_minute=10**9)
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def app(service):
    return create_app(service.settings, service=service)


@pytest.fixture(scope="module")
def operations(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return {op.label: op for op in (result.ok() for result in schema.get_all_operations())}


@pytest.fixture(scope="module")
def total():
    """The run's figures over every route; the last test of the module prints them."""
    return Tally()


def error_shape_problem(body: object) -> str | None:
    """What is wrong with an error body, or None when it is `{"error": {"code", "message"}}`."""
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return f"not the error shape: {str(body)[:200]}"
    error = body["error"]
    if set(error) != {"code", "message"}:
        return f"error keys {sorted(error)}"
    if not (isinstance(error["code"], str) and error["code"]):
        return f"error code {error['code']!r}"
    if not (isinstance(error["message"], str) and error["message"].strip()):
        return f"empty error message for {error['code']}"
    return None


def inspect(label: str, staff: bool, status: int, content_type: str, text: str, tally: Tally) -> None:
    """Record one response and every rule it breaks."""
    where = f"{label} ({'staff' if staff else 'no token'}) → {status}"
    tally.statuses[status] += 1
    if status >= 500:
        tally.server_errors.append(f"{where}: {text[:300]}")
        return
    if status >= 400:
        try:
            problem = error_shape_problem(json.loads(text))
        except ValueError:
            problem = f"not JSON ({content_type}): {text[:200]}"
        if problem:
            tally.violations.append(f"{where}: {problem}")
    if not staff and label in STAFF_ROUTES and status < 400:
        tally.violations.append(f"{where}: a staff route succeeded without the staff token")
    if not staff and MEMO in text:
        tally.violations.append(f"{where}: the staff-only document was named without the token")
    if content_type.startswith("text/event-stream"):
        for line in text.splitlines():
            event = json.loads(line[len("data: "):]) if line.startswith("data: ") else {}
            if event.get("type") == "error":
                problem = error_shape_problem({"error": event.get("error")})
                if problem or set(event) != {"type", "error"}:
                    tally.violations.append(f"{where}: error event {problem or sorted(event)}")


def send(case, staff: bool, tally: Tally) -> None:
    headers = {"X-Staff-Token": TOKEN} if staff else None  # overrides a generated token, if any
    label = case.operation.label
    who = "staff" if staff else "no token"
    started = time.perf_counter()
    try:
        response = case.call(headers=headers)
    except Exception as exc:  # the app raised instead of answering: a server error too
        tally.requests += 1
        tally.statuses["exception"] += 1
        tally.server_errors.append(f"{label} ({who}): {type(exc).__name__}: {exc}\n"
                                   f"{case.as_curl_command(headers=headers)}")
        return
    elapsed = time.perf_counter() - started
    tally.requests += 1
    tally.slowest = max(tally.slowest, (elapsed, label))
    if elapsed > SLOW_REQUEST_S:
        tally.violations.append(f"{label} ({who}): took {elapsed:.1f} s\n{case.as_curl_command(headers=headers)}")
    errors_before = len(tally.server_errors) + len(tally.violations)
    content_type = (response.headers.get("content-type") or [""])[0]  # lower-case keys, list values
    inspect(label, staff, response.status_code, content_type, response.content.decode("utf-8", "replace"), tally)
    if staff:  # without the token every staff route is refused anyway (401), which says nothing of the input
        try:
            case.validate_response(response, checks=[not_a_server_error, negative_data_rejection], headers=headers)
        except Exception as exc:  # schemathesis's FailureGroup / a single check failure
            if response.status_code < 500:  # a 5xx is already counted above
                tally.violations.append(f"{label} ({who}): {str(exc).strip()[:400]}")
    if len(tally.server_errors) + len(tally.violations) > errors_before:
        target = tally.server_errors if response.status_code >= 500 else tally.violations
        target[-1] += f"\n{case.as_curl_command(headers=headers)}"


def fuzz(operation, mode: GenerationMode, tally: Tally) -> None:
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        for staff in (False, True):
            send(case, staff, tally)

    run()


def test_every_route_is_fuzzed(operations):
    """A new route fails here until it is added to RESIDENT_ROUTES or STAFF_ROUTES (and so fuzzed)."""
    assert set(operations) == set(RESIDENT_ROUTES + STAFF_ROUTES)


@pytest.mark.parametrize("label", [
    pytest.param(label, marks=pytest.mark.xfail(reason=KNOWN[label], strict=True)) if label in KNOWN else label
    for label in RESIDENT_ROUTES + STAFF_ROUTES
])
def test_route_survives_fuzzing(label, operations, app, service, total, capsys):
    if label not in operations:
        pytest.fail(f"{label} is not in the OpenAPI schema any more: update RESIDENT_ROUTES / STAFF_ROUTES")
    operation, tally = operations[label], Tally()
    started = time.perf_counter()
    fuzz(operation, GenerationMode.POSITIVE, tally)
    try:
        fuzz(operation, GenerationMode.NEGATIVE, tally)
        modes = "valid and invalid input"
    except Unsatisfiable:  # no body and string-only parameters: nothing can be made invalid on the wire
        modes = "valid input only"
    elapsed = time.perf_counter() - started
    total.add(tally)
    with capsys.disabled():
        print(f"\n{label}: {tally.summary()}; {modes}; {elapsed:.1f} s", end="")

    assert tally.statuses, f"{label}: no request was sent"
    assert not tally.server_errors, "\n\n".join(tally.server_errors[:5])
    assert not tally.violations, "\n\n".join(tally.violations[:5])
    with TestClient(app) as client:  # the service still answers
        health = client.get("/health")
    assert health.status_code == 200 and health.json()["documents"] >= 10
    assert MEMO in {d.doc_id for d in service.documents()}  # fuzzed deletes hit no real document


def damaged(original: bytes, edits: list[tuple[float, int]], cut: float | None) -> bytes:
    """`original` with bytes overwritten at relative positions and, with `cut`, cut short there."""
    data = bytearray(original)
    for where, value in edits:
        data[int(where * (len(data) - 1))] = value
    return bytes(data[: int(cut * len(data))] if cut is not None else data)


def test_damaged_and_random_uploads(app, service, total, capsys, monkeypatch):
    """Readers under fuzz: every answer to an upload is a success or a 4xx in the error shape.

    OCR is switched off here: a damaged PDF often loses its text layer, and tesseract then reads
    each page for up to a minute (tests/test_ocr.py tests it; the cost is noted in the lead's report)."""
    import ingest.readers.ocr

    monkeypatch.setattr(ingest.readers.ocr, "ocr_available", lambda: False)
    samples = sorted(p for p in SAMPLE_DOCS.iterdir() if p.suffix in SUPPORTED_SUFFIXES)
    originals = {p.suffix: p.read_bytes() for p in samples}  # one file per format
    tally = Tally()
    positions = st.floats(min_value=0, max_value=1)
    files = st.one_of(
        st.tuples(st.sampled_from(sorted(originals)),
                  st.lists(st.tuples(positions, st.integers(0, 255)), max_size=40),
                  st.none() | positions).map(lambda t: (t[0], damaged(originals[t[0]], t[1], t[2]))),
        st.tuples(st.sampled_from(SUPPORTED_SUFFIXES),
                  st.sampled_from([b"", b"%PDF-1.7\n", b"PK\x03\x04", b"<html><body>", b"\xef\xbb\xbf", b"\xff\xfe"])
                  .flatmap(lambda head: st.binary(max_size=4000).map(lambda body: head + body))),
    )

    with TestClient(app) as client:
        @settings(max_examples=UPLOAD_EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(file=files)
        def run(file) -> None:
            suffix, content = file
            started = time.perf_counter()
            r = client.post("/documents", headers={"X-Staff-Token": TOKEN},
                            files={"file": (f"fuzzed{suffix}", content, "application/octet-stream")})
            tally.requests += 1
            tally.slowest = max(tally.slowest, (time.perf_counter() - started, f"a {suffix} of {len(content)} bytes"))
            inspect("POST /documents", True, r.status_code, r.headers.get("content-type", ""), r.text, tally)
            if r.status_code == 200:
                client.delete("/documents/fuzzed", headers={"X-Staff-Token": TOKEN})

        run()
        health = client.get("/health")
    total.add(tally)
    with capsys.disabled():
        print(f"\nPOST /documents, damaged and random files: {tally.summary()}")
        print(f"fuzzed API in total (the tests of this run): {total.summary()}", end="")
    assert not tally.server_errors, "\n\n".join(tally.server_errors[:5])
    assert not tally.violations, "\n\n".join(tally.violations[:5])
    assert tally.statuses[200] and sum(n for s, n in tally.statuses.items() if s != 200)  # both outcomes seen
    assert health.status_code == 200
    assert not [p for p in (service.settings.data_dir / "uploads").iterdir() if p.name.startswith(".")]
