"""The two generators: llama.cpp in-process, and any OpenAI-compatible chat server.

Both take OpenAI-style messages and return the whole answer as one string (`chat`) or its text as
the model writes it (`stream`): the answer engine verifies each sentence as it is completed and shows
only verified ones (`assistant.answer.SentenceCheck`).
Third-party types (llama.cpp responses, llama-index messages, openai/httpx errors) stay inside
this module and are imported lazily, so `import assistant.llm` costs nothing without the extras.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.errors import BadRequest, ModelUnavailable

from .bundled import INSTALL_HINT

# llama.cpp's own default penalty on tokens repeated within the last 64 (its command-line tools use it; the
# Python binding's chat default is none): a small model quoting a passage otherwise tends to repeat a phrase
REPEAT_PENALTY = 1.1


def _format(schema: dict | None) -> dict:
    """The request's `response_format` in llama.cpp's form, for the Python binding and for a server (llama.cpp's
    servers constrain the output to the schema; one that ignores it answers in plain text, which the answer
    engine reads too); nothing without a schema."""
    return {"response_format": {"type": "json_object", "schema": schema}} if schema is not None else {}


def _plain_messages(messages: Sequence[dict]) -> list[dict]:
    """Validate before any model work, so a malformed request fails fast and never loads 1 GB of weights."""
    out = []
    for m in messages:
        role, content = m.get("role"), m.get("content")
        if role not in ("system", "user", "assistant") or not isinstance(content, str):
            raise BadRequest(f"bad chat message (need role system/user/assistant and text content): {m!r}")
        out.append({"role": role, "content": content})
    return out


class LlamaCppGenerator:
    """A GGUF chat model run in-process by llama.cpp; the GGUF carries its chat template.

    The constructor only stores configuration; `warm_up()` loads the model (the first `chat` does it
    if start-up did not). One instance may be shared across threads: a llama.cpp context is not
    thread-safe, so generations are serialised by a lock.
    """

    def __init__(self, model_path: Path | str, n_ctx: int = 4096, n_threads: int | None = None, *,
                 name: str = "") -> None:
        self.model_path = Path(model_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.name = name or f"llama.cpp:{self.model_path.stem}"
        self._llm: Any = None
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
                self._llm = llama_cpp.Llama(model_path=str(self.model_path), n_ctx=self.n_ctx,
                                            n_threads=self.n_threads, verbose=False)
            except (ValueError, RuntimeError) as err:
                raise ModelUnavailable(f"llama.cpp could not load {self.model_path}: {err}") from err

    def close(self) -> None:
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None

    def chat(self, messages: list[dict], *, max_tokens: int = 512, temperature: float = 0.0,
             schema: dict | None = None) -> str:
        plain = _plain_messages(messages)
        self.warm_up()
        with self._lock:
            try:
                result = self._llm.create_chat_completion(messages=plain, max_tokens=max_tokens,
                                                          temperature=temperature, repeat_penalty=REPEAT_PENALTY,
                                                          **_format(schema))
            except ValueError as err:  # how llama-cpp-python reports a prompt longer than n_ctx
                if "context window" not in str(err):
                    raise
                raise BadRequest(
                    f"the prompt does not fit the model's context (n_ctx={self.n_ctx}): {err}") from err
        return result["choices"][0]["message"].get("content") or ""

    def stream(self, messages: list[dict], *, max_tokens: int = 512, temperature: float = 0.0,
               schema: dict | None = None) -> Iterator[str]:
        """The answer's text as the model writes it; closing the iterator stops the generation (and frees
        the model for the next question)."""
        plain = _plain_messages(messages)
        self.warm_up()
        with self._lock:
            try:
                chunks = self._llm.create_chat_completion(messages=plain, max_tokens=max_tokens,
                                                          temperature=temperature, stream=True,
                                                          repeat_penalty=REPEAT_PENALTY, **_format(schema))
                for chunk in chunks:
                    piece = chunk["choices"][0].get("delta", {}).get("content")
                    if piece:
                        yield piece
            except ValueError as err:
                if "context window" not in str(err):
                    raise
                raise BadRequest(
                    f"the prompt does not fit the model's context (n_ctx={self.n_ctx}): {err}") from err


class OpenAICompatGenerator:
    """A chat model behind an OpenAI-compatible HTTP API, via llama-index's `OpenAILike`.

    `base_url` includes the API prefix, e.g. `http://127.0.0.1:8080/v1`. No retries: a server
    that does not answer within `timeout` seconds raises `ModelUnavailable`, and the answer engine
    falls back to an extractive answer instead of keeping the user waiting.
    """

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 60.0, *,
                 context_window: int = 4096, name: str = "") -> None:
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

            # the callback manager is passed explicitly, not taken from llama-index's global Settings
            self._llm = OpenAILike(api_base=self.base_url, model=self.model, is_chat_model=True,
                                   api_key=self.api_key or "not-needed", timeout=self.timeout, max_retries=0,
                                   context_window=self.context_window, callback_manager=CallbackManager([]))

    def chat(self, messages: list[dict], *, max_tokens: int = 512, temperature: float = 0.0,
             schema: dict | None = None) -> str:
        plain = _plain_messages(messages)
        self.warm_up()
        from llama_index.core.llms import ChatMessage, MessageRole

        msgs = [ChatMessage(role=MessageRole(m["role"]), content=m["content"]) for m in plain]
        with _server_errors(self.base_url, self.timeout):
            response = self._llm.chat(msgs, max_tokens=max_tokens, temperature=temperature, **_format(schema))
        return response.message.content or ""

    def stream(self, messages: list[dict], *, max_tokens: int = 512, temperature: float = 0.0,
               schema: dict | None = None) -> Iterator[str]:
        """The answer's text as the server sends it (server-sent events); closing the iterator ends the request."""
        plain = _plain_messages(messages)
        self.warm_up()
        from llama_index.core.llms import ChatMessage, MessageRole

        msgs = [ChatMessage(role=MessageRole(m["role"]), content=m["content"]) for m in plain]
        with _server_errors(self.base_url, self.timeout):
            for response in self._llm.stream_chat(msgs, max_tokens=max_tokens, temperature=temperature,
                                                  **_format(schema)):
                if response.delta:
                    yield response.delta


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
            f"the model server at {base_url} did not answer (connection failed): is it running?") from err
    except openai.APIStatusError as err:
        raise ModelUnavailable(
            f"the model server at {base_url} answered HTTP {err.status_code}: {err.message}") from err
    except httpx.TransportError as err:  # one the client did not wrap, e.g. a body broken off midway
        raise ModelUnavailable(f"the model server at {base_url} stopped answering: {err!r}") from err
