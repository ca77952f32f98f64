"""Shared fixtures: a network firewall, the real corpus location, one service per session."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
EVAL = SHARED / "eval"


def _is_local(address) -> bool:
    if isinstance(address, tuple):
        host = address[0]
    else:
        return True  # unix sockets
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Any outbound connection other than loopback fails the test."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            raise AssertionError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    def guarded_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            raise AssertionError(f"test tried to reach the network: {address!r}")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_ex)


def require_corpus() -> Path:
    if not CORPUS.exists():
        pytest.skip(f"real documents not found at {CORPUS} (../shared/corpus): corpus tests skipped")
    return CORPUS


TEST_VECTOR_CACHE = Path.home() / ".cache" / "plan-assistant-tests" / "vectors.sqlite"
SAMPLE_DOCS = REPO / "assistant" / "samples" / "docs"


def sample_service(data_dir: Path, **overrides):
    """A started service over the bundled sample documents (extractive answers, shared vector cache)."""
    from assistant.config import Settings
    from assistant.service import PlanAssistant

    settings = Settings(**{"data_dir": data_dir, "vector_cache": TEST_VECTOR_CACHE, "generator": "extractive",
                           **overrides})
    svc = PlanAssistant(settings).start()
    results = svc.ingest([SAMPLE_DOCS], manifest=SAMPLE_DOCS / "manifest.json")
    assert not [r for r in results if r.status == "failed"], results
    return svc


@pytest.fixture(scope="session")
def corpus_svc(tmp_path_factory):
    """The whole real corpus ingested once per test session (vectors cached between sessions)."""
    corpus = require_corpus()
    from assistant.config import Settings
    from assistant.service import PlanAssistant

    settings = Settings(data_dir=tmp_path_factory.mktemp("corpus"), vector_cache=TEST_VECTOR_CACHE,
                        generator="extractive")
    svc = PlanAssistant(settings).start()
    svc.corpus_results = svc.ingest([corpus])
    yield svc
    svc.close()
