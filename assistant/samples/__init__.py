"""Bundled sample documents of a fictional municipality (みどり野市, 架空) for demos and tests.

The files in ``docs/`` are generated from the readable sources in ``src/`` by
``python -m assistant.samples.build``; they are committed so that the product can index
them without running the build.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SRC_DIR = PACKAGE_DIR / "src"
SAMPLES_DIR = PACKAGE_DIR / "docs"
MANIFEST = SAMPLES_DIR / "manifest.json"
PLANTED = PACKAGE_DIR / "planted.json"
SAMPLE_QA = PACKAGE_DIR / "sample_qa.jsonl"
FICTION_NOTICE = "この文書は架空の自治体のサンプルです"

__all__ = ["FICTION_NOTICE", "MANIFEST", "PLANTED", "SAMPLES_DIR", "SAMPLE_QA", "SRC_DIR"]
