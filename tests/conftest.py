"""Shared fixtures: a network firewall, the real corpus ingested once per session. Helpers: tests/helpers.py."""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

from tests.helpers import require_corpus, service_settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


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


@pytest.fixture(scope="session")
def corpus_svc(tmp_path_factory):
    """The whole real corpus ingested once per test session (vectors cached between sessions)."""
    corpus = require_corpus()
    from assistant.service import PlanAssistant

    svc = PlanAssistant(service_settings(tmp_path_factory.mktemp("corpus"))).start()
    svc.corpus_results = svc.ingest([corpus])
    yield svc
    svc.close()
