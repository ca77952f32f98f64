"""The load runner end to end: a served app over the sample documents, locust in a subprocess, figures back.

Bounded (3 residents for a few seconds, loopback only); the figures are checked for what they say about
the server's behaviour (no server errors, refusals counted apart), never for speed.
"""

from __future__ import annotations

import importlib.util

import pytest

from eval.load import LoadConfig, format_figures, is_server_error, run_load
from tests.helpers import REPO, sample_service

SAMPLE_QUESTIONS = REPO / "assistant" / "samples" / "sample_qa.jsonl"

needs_locust = pytest.mark.skipif(importlib.util.find_spec("locust") is None, reason="locust is not installed")


@pytest.fixture(scope="module")
def sample_data(tmp_path_factory):
    """A data directory with the sample documents indexed, closed again so `serve` can take its lock."""
    data = tmp_path_factory.mktemp("load-data")
    sample_service(data).close()
    return data


@pytest.mark.slow
@needs_locust
def test_residents_get_answers_and_search_results_without_server_errors(sample_data, tmp_path):
    cfg = LoadConfig(data_dir=sample_data, questions=SAMPLE_QUESTIONS, users=3, spawn_rate=3, duration="10s")

    figures = run_load(cfg, out_dir=tmp_path)

    routes = {r.name: r for r in figures.routes}
    assert routes["/ask"].requests > 0 and routes["/ask"].p50_ms > 0
    assert figures.statuses.get("/ask 200", 0) == routes["/ask"].requests
    assert figures.server_errors == 0 and figures.failures == 0, figures.failure_kinds
    assert figures.rejected == {"429": 0, "503": 0}  # each resident its own address: far below the limit
    assert sum(figures.generators.values()) == routes["/ask"].requests  # every answer came back as JSON
    assert figures.peak_rss_mb > 50  # the server's tree was sampled (models loaded), not this process
    assert (tmp_path / "load_stats.csv").exists()  # locust's own CSV files are kept in out_dir
    assert "throughput" in format_figures(figures)


@pytest.mark.slow
@needs_locust
def test_one_address_over_its_limit_is_refused_with_retry_after_not_counted_as_failures(sample_data, tmp_path):
    cfg = LoadConfig(data_dir=sample_data, questions=SAMPLE_QUESTIONS, users=3, spawn_rate=3, duration="8s",
                     one_client=True, env={"PLAN_ASSISTANT_RATE_LIMIT_PER_MINUTE": "3"})

    figures = run_load(cfg, out_dir=tmp_path)

    assert figures.rejected["429"] > 0
    assert len(figures.retry_after_s) == figures.rejected["429"] and min(figures.retry_after_s) >= 1
    assert figures.failures == 0 and figures.server_errors == 0, figures.failure_kinds
    assert sum(r.requests for r in figures.routes) <= 3  # only the limit's worth was served


@pytest.mark.parametrize(("error", "server"), [
    ("CatchResponseError('HTTP 500: {\"error\": …}')", True),
    ("CatchResponseError('HTTP 422: {\"error\": …}')", False),
    ("CatchResponseError('HTTP 503: …')", False),  # a refusal, counted apart; never a failure anyway
    ("ConnectionRefusedError(111, 'Connection refused')", True),
    ("ReadTimeout(\"HTTPConnectionPool(host='127.0.0.1'): Read timed out.\")", True),
])
def test_failures_are_server_errors_when_5xx_or_unanswered(error, server):
    assert is_server_error(error) is server
