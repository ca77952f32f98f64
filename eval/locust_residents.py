"""The locustfile of `plan-assistant bench --what load`: residents who ask questions and now and then search.

Only the locust subprocess started by `eval/load.py` loads this file: importing locust patches the
standard library with gevent, so neither the CLI, the tests nor the app may import it.

Each simulated resident asks `/ask` (and sometimes `/search`) with questions read at run time from
the JSONL file given by `--questions` (lines with a "question" field), so no question text lives here.
A refusal by admission (429 rate limit, 503 busy) is reported under its own name, `"/ask [429]"`, as a
success: it is the server doing its job, and it must not mix into the route's latency. Everything
else that is not a 200 is a failure. `--summary` names a JSON file written at the end with the final
statistics (the CSV files are written every few seconds and may miss the last requests), the status
counts, the Retry-After values and the answers' notices.
"""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task

REJECTED = (429, 503)  # admission refusals: counted apart, not failures
ASK_WEIGHT, SEARCH_WEIGHT = 4, 1  # residents mostly ask; a few search (issue 11: "a few /search calls")
THINK_S = (1.0, 3.0)  # a resident reads the answer before asking again; keeps one resident under 60/min
SEARCH_K = 10  # what the UI's search asks for

_user_numbers = itertools.count(1)
_questions: list[str] = []
_summary: dict[str, Any] = {"status": Counter(), "retry_after": [], "notices": Counter(), "generators": Counter()}


@events.init_command_line_parser.add_listener
def _add_options(parser: Any) -> None:
    parser.add_argument("--questions", default="", help="JSONL file of {\"question\": …} lines")
    parser.add_argument("--client-keys", choices=("own", "shared"), default="own",
                        help="own: each resident its own X-Forwarded-For address; shared: all from one address")
    parser.add_argument("--summary", default="", help="JSON file written at the end (statuses, Retry-After, notices)")
    parser.add_argument("--request-timeout", type=float, default=300.0, help="seconds one request may take")


@events.test_start.add_listener
def _read_questions(environment: Any, **_: Any) -> None:
    path = Path(environment.parsed_options.questions)
    lines = path.read_text(encoding="utf-8").splitlines()
    _questions[:] = [q for q in (json.loads(x).get("question", "") for x in lines if x.strip()) if q]
    if not _questions:
        raise SystemExit(f"no questions in {path}")


@events.quitting.add_listener
def _write_summary(environment: Any, **_: Any) -> None:
    """At the end (the users have stopped, so the statistics are final; the periodic CSV may lag)."""
    out = environment.parsed_options.summary
    if not out:
        return
    stats = environment.runner.stats
    summary = {**_summary, "routes": [_entry(e) for e in stats.entries.values()], "total": _entry(stats.total),
               "errors": [{"name": e.name, "error": str(e.error), "occurrences": e.occurrences}
                          for e in stats.errors.values()]}
    Path(out).write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")


def _entry(e: Any) -> dict:
    """One locust statistics entry: counts, throughput over the run and latency percentiles (ms)."""
    return {"name": e.name, "requests": e.num_requests, "failures": e.num_failures, "rps": e.total_rps,
            **{f"p{q}": e.get_response_time_percentile(q / 100) if e.num_requests else 0.0 for q in (50, 95, 99)}}


def client_address(number: int) -> str:
    """A distinct loopback-range address for resident `number`, used only as the X-Forwarded-For value
    (the server trusts that header from a proxy on loopback, as uvicorn does by default)."""
    return f"127.100.{number // 250 % 250}.{number % 250 + 1}"


class Resident(HttpUser):
    wait_time = between(*THINK_S)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.timeout = options.request_timeout
        self.headers = {"Content-Type": "application/json"}
        if options.client_keys == "own":
            self.headers["X-Forwarded-For"] = client_address(next(_user_numbers))

    def _post(self, route: str, body: dict) -> dict | None:
        with self.client.post(route, json=body, headers=self.headers, name=route, timeout=self.timeout,
                              catch_response=True) as response:
            status = response.status_code
            _summary["status"][f"{route} {status}"] += 1
            if status in REJECTED:
                response.request_meta["name"] = f"{route} [{status}]"
                retry = response.headers.get("Retry-After")
                if retry is not None:
                    _summary["retry_after"].append(float(retry))
                response.success()
                return None
            if status != 200:
                response.failure(f"HTTP {status}: {response.text[:200]}")
                return None
            try:
                return response.json()
            except ValueError:
                response.failure("the body is not JSON")
                return None

    @task(ASK_WEIGHT)
    def ask(self) -> None:
        answer = self._post("/ask", {"question": random.choice(_questions)})
        if answer is not None:
            _summary["generators"][answer.get("generator", "?")] += 1
            if answer.get("notice"):
                _summary["notices"][answer["notice"]] += 1

    @task(SEARCH_WEIGHT)
    def search(self) -> None:
        self._post("/search", {"query": random.choice(_questions), "k": SEARCH_K})
