"""A Qdrant server (`QDRANT_URL`) that is not there at start, or goes away while the service runs.

Real loopback ports. No Qdrant server binary exists here, so the server is `tests/qdrant_http.py`:
the REST routes the client calls, answered by qdrant-client's local engine over real HTTP. What is
faked is only the server process; the client, its HTTP traffic, the service and the API are real.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.errors import StoreUnavailable
from assistant.service import PlanAssistant
from tests.helpers import SAMPLE_DOCS, service_settings
from tests.qdrant_http import FakeQdrantServer, free_port

DOC = SAMPLE_DOCS / "midorino_chonai_kentou_memo.txt"
QUERY = {"query": "財政調整基金の残高", "k": 3}


def _server_settings(tmp_path, url: str):
    # no per-client limits: the test sends many requests from one client
    return service_settings(tmp_path / "data", QDRANT_URL=url, rate_limit_per_minute=0, rate_limit_per_day=0)


def test_start_with_nothing_listening_names_the_server_and_what_to_do(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreUnavailable) as err:
        PlanAssistant(_server_settings(tmp_path, url)).start()
    message = str(err.value)
    assert url in message and "接続できません" in message and "QDRANT_URL" in message
    assert "Connection refused" in message  # the reason, not a guess


def test_cli_start_with_nothing_listening_is_one_line_and_exit_2(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAN_ASSISTANT_")}
    env.update(QDRANT_URL=url, PLAN_ASSISTANT_GENERATOR="extractive")
    script = Path(sys.executable).with_name("plan-assistant")  # the installed entry point
    done = subprocess.run([str(script), "--data-dir", str(tmp_path / "d"), "documents"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: Qdrant サーバー {url} に接続できません"), done.stderr


def test_server_going_away_is_503_with_the_error_shape_and_service_recovers(tmp_path):
    server = FakeQdrantServer().start()
    settings = _server_settings(tmp_path, server.url)
    try:
        with PlanAssistant(settings) as svc, TestClient(create_app(settings, service=svc)) as api:
            assert svc.ingest_one(DOC).status == "added"
            first = api.post("/search", json=QUERY)
            assert first.status_code == 200 and first.json()["passages"], first.text
            for outage in ("drop", "stop"):  # accepts and hangs up; then nothing listening at all
                if outage == "drop":
                    server.drop = True
                else:
                    server.drop = False
                    server.stop()
                for route, body in (("/search", QUERY), ("/ask", {"question": "財政調整基金の残高は"})):
                    down = api.post(route, json=body)
                    assert down.status_code == 503, (outage, route, down.text)
                    error = down.json()["error"]
                    assert set(down.json()) == {"error"} and error["code"] == "store_unavailable"
                    assert server.url in error["message"] and "QDRANT_URL" in error["message"]
            server.start()  # back on the same port, with the same points
            again = api.post("/search", json=QUERY)
            assert again.status_code == 200 and again.json() == first.json()
    finally:
        server.stop()


def test_start_up_recovers_dead_writers_only_on_a_shared_server(tmp_path):
    """With a server, several processes may write: a journalled write of a process that is still running
    is in flight, not crashed, and must be left alone; a dead process's is cleaned up."""
    from assistant.store import IndexPoint, point_id

    server = FakeQdrantServer().start()
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with PlanAssistant(_server_settings(tmp_path, server.url)) as svc:
            assert svc.ingest_one(DOC).status == "added"
            doc_id, version = DOC.stem, svc.registry.live()[DOC.stem]
            store, registry, dim = svc.store, svc.registry, svc.embedder.dim
            assert store is not None and svc.indexer is not None

            def half_written(doc: str, pid: int) -> None:  # a journal row and one chunk of a new version
                store.upsert([IndexPoint(point_id(doc, "next", 0), [1.0] * dim, ([1], [1.0]),
                                         {"doc_id": doc, "version": "next", "text": "…"})])
                db = sqlite3.connect(registry.path)  # as that process's registry connection wrote it
                with db:
                    db.execute("INSERT INTO pending VALUES (?,?,?,?,?)", (doc, "next", pid, _host(), 0.0))
                db.close()

            half_written(doc_id, running.pid)
            half_written("another", _dead_pid())
            assert svc.indexer.recover(exclusive=False) == 0
            assert dict(store.versions()) == {(doc_id, version): svc.documents()[0].chunks, (doc_id, "next"): 1}
            assert [w.doc_id for w in registry.pending()] == [doc_id]  # the running writer's row stays
            running.kill()
            running.wait()
            svc.indexer.recover(exclusive=False)
            assert dict(store.versions()) == {(doc_id, version): svc.documents()[0].chunks}
            assert registry.pending() == []
    finally:
        running.kill()
        server.stop()


def _host() -> str:
    import socket

    return socket.gethostname()


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)
