"""A real OpenAI-compatible model server on loopback, for the tests and the answer benchmark.

The product only talks to a server someone else runs (`OpenAICompatGenerator`); starting one is
test and benchmark tooling, so it lives here rather than in `assistant.llm`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any, Self

from assistant.errors import ModelUnavailable


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`python -m llama_cpp.server` serving one GGUF model on loopback, as a context manager.

    `start()` returns once `GET /v1/models` answers; `base_url` and `model` are what an
    `OpenAICompatGenerator` needs. The server's output goes to a log file whose tail is quoted
    when it fails to start.
    """

    def __init__(self, model_path: Path | str, *, n_ctx: int = 2048, n_threads: int | None = None,
                 host: str = "127.0.0.1", port: int | None = None, model_alias: str = "local",
                 startup_timeout: float = 120.0) -> None:
        self.model_path = Path(model_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.host = host
        self.port = port
        self.model = model_alias
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model_path),
               "--model_alias", self.model, "--host", self.host, "--port", str(self.port),
               "--n_ctx", str(self.n_ctx)]  # fmt: skip
        if self.n_threads:
            cmd += ["--n_threads", str(self.n_threads)]
        return cmd

    def start(self) -> Self:
        if self._proc is not None:
            return self
        import httpx

        if self.port is None:
            self.port = free_port(self.host)
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (open while the server runs; closed in stop)
        self._proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT)
        try:
            self._wait_until_ready(httpx)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self, httpx: Any) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                raise ModelUnavailable(
                    f"llama_cpp.server exited with code {code} at start-up: {self.log_tail()}")
            try:
                # trust_env=False: a proxy configured in the environment must not see loopback calls
                if httpx.get(f"{self.base_url}/models", timeout=2.0, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise ModelUnavailable(f"llama_cpp.server at {self.base_url} did not answer within "
                               f"{self.startup_timeout:g} s: {self.log_tail()}")

    def log_tail(self, chars: int = 600) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0, os.SEEK_END)
        self._log.seek(max(0, self._log.tell() - chars))
        return self._log.read().decode("utf-8", "replace").strip().replace("\n", " | ")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
