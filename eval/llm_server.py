"""A real OpenAI-compatible model server on loopback, for the tests and the answer benchmark.

The product only talks to a server someone else runs (`OpenAICompatGenerator`); starting one is
test and benchmark tooling, so it lives here rather than in `assistant.llm`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Self

from assistant.errors import ModelUnavailable
from eval.process import LoopbackProcess, free_port

__all__ = ["ServerProcess", "free_port"]


class ServerProcess(LoopbackProcess):
    """`python -m llama_cpp.server` serving one GGUF model on loopback, as a context manager.

    `start()` returns once `GET /v1/models` answers; `base_url` and `model` are what an
    `OpenAICompatGenerator` needs. The server's output goes to a log file whose tail is quoted
    when it fails to start.
    """

    name = "llama_cpp.server"

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
        super().__init__()

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
        if self.port is None:
            self.port = free_port(self.host)
        self._spawn(self.command(), f"{self.base_url}/models", self.startup_timeout, ModelUnavailable)
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
