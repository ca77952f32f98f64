"""Helpers the tests import: paths, the test vector cache, a started service over the sample documents.

Fixtures stay in conftest.py; plain functions and constants live here, so tests never import conftest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
EVAL = SHARED / "eval"
SAMPLE_DOCS = REPO / "assistant" / "samples" / "docs"
# vectors are cached by model and text hash; inside the checkout (git-ignored), so no state is shared
# with other checkouts or with the developer's own cache
TEST_VECTOR_CACHE = REPO / "tests" / ".cache" / "vectors.sqlite"


def require_corpus() -> Path:
    if not CORPUS.exists():
        pytest.skip(f"real documents not found at {CORPUS} (../shared/corpus): corpus tests skipped")
    return CORPUS


def service_settings(data_dir: Path, **overrides):
    """Settings for a test service: its own data directory, the test vector cache, extractive answers."""
    from assistant.config import Settings

    return Settings(**{"data_dir": data_dir, "vector_cache": TEST_VECTOR_CACHE, "generator": "extractive",
                       **overrides})


def sample_service(data_dir: Path, *, llm=None, **overrides):
    """A started service over the bundled sample documents.

    `overrides` are Settings fields; `llm` is a generator object (tests.fakes.ScriptedGenerator) that
    replaces the configured one, which is otherwise the extractive generator.
    """
    from assistant.service import PlanAssistant

    svc = PlanAssistant(service_settings(data_dir, **overrides), generator=llm).start()
    results = svc.ingest([SAMPLE_DOCS], manifest=SAMPLE_DOCS / "manifest.json")
    assert not [r for r in results if r.status == "failed"], results
    return svc


def scanned_pdf(path: Path, pattern: str, lines=lambda n: [f"第{n}頁の本文です。市民協働を推進します。"]) -> Path:
    """A PDF whose pages are text ("t": `lines(page number)`, one a line) or a grey image without text
    ("s": a page only OCR can read), as in `pattern`."""
    from PIL import Image
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
    image = path.with_suffix(".png")
    Image.new("RGB", (200, 100), "gray").save(image)
    c = canvas.Canvas(str(path))
    for n, kind in enumerate(pattern, 1):
        if kind == "s":
            c.drawImage(str(image), 50, 500, 400, 200)
        else:
            c.setFont("HeiseiKakuGo-W5", 10.5)
            for i, line in enumerate(lines(n)):
                c.drawString(60, 700 - 20 * i, line)
        c.showPage()
    c.save()
    return path
