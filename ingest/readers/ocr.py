"""OCR of PDF pages without a text layer: Debian's tesseract (jpn, jpn_vert) through pytesseract.

Offline by design: the engine and its Japanese data are Debian packages (`OCR_INSTALL_HINT`),
installed by `make setup`; without them `ocr_available()` is False and the PDF reader keeps
its "needs OCR" behaviour. Recipe from ../shared/MODELS.md: render at 300 dpi with pypdfium2,
grey scale, `--psm 6` (one uniform block: on typeset plan pages it beats automatic layout).

Orientation: tesseract's OSD (`--psm 0`) answers "Too few characters" on Japanese pages, so
the line direction is read from the ink (`_profile`: text lines leave blank rows between them,
vertical columns blank columns) and confirmed by confidence. A clear profile gets one
tesseract run (`jpn`, or `jpn_vert` with `--psm 5`); an unclear one (full-bleed flyers) both,
the better kept. Only a page still under `OCR_CONFIDENCE_FLOOR` is tried turned 90° either way.
The direction must not be left to confidence alone: `jpn` reads the vertical test page as
garbage (CER 93 %) with confidence 0.79, above the floor, while `jpn_vert` reads it at 0.93.
"""

from __future__ import annotations

import functools
import shutil
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingest.normalize import normalize_text

# Rendering resolution: 300 dpi is the measured recipe (MODELS.md, CER ≈ 1 % on the typeset
# fixture); 200 dpi loses the small kana and 400 dpi only costs time.
OCR_DPI = 300
# A page whose character-weighted mean word confidence (0–1) is under the floor is reported,
# not indexed. Measured with every reading of each page (/tmp diagnostics, see eval/bench_ocr.py):
# right readings: typeset fixture pages 0.89–0.93 (CER ≤ 1 %), the image-only corpus flyers
# (otoineppu R03hinannpoint, R4rakuhyousetsujikoboushi) 0.68–0.81 (headings right, art noise);
# wrong readings: a page turned 90° 0.11–0.28, horizontal pages read by jpn_vert 0.19–0.56.
# 0.60 sits in that gap (the one wrong reading above it is the direction case, see the docstring).
OCR_CONFIDENCE_FLOOR = 0.60
# Ink profile: the share of blank rows and of blank columns inside the inked area. Measured at
# 100 dpi: typeset horizontal pages rows 0.36–0.94 vs columns 0.00–0.46 (a margin ≥ 0.18), the
# turned page 0.02 vs 0.69, the vertical page 0.10 vs 0.51, the corpus flyers 0.007–0.18 vs
# 0.00–0.005. Under a margin of 0.05 the direction is unclear and both readings are made.
PROFILE_MARGIN = 0.05
# Seconds one tesseract run may take before the page is given up (≈ 5 s a page on 2 cores).
OCR_TIMEOUT_S = 120
# A grey value under this is ink; the profile looks at every 4th pixel (75 dpi) of the render.
INK_LEVEL, PROFILE_STEP = 160, 4

OCR_NOTE = "OCR"  # Page.note of a page read by OCR starts with this
OCR_INSTALL_HINT = "apt-get install tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert"


class OcrError(RuntimeError):
    """The engine is missing, crashed or timed out on one page; the message says which."""


@dataclass(frozen=True)
class OcrResult:
    text: str  # normalised like any other page (`normalize_text`)
    confidence: float  # 0–1, mean word confidence weighted by characters
    vertical: bool  # read as vertical (tategaki) text
    rotation: int = 0  # degrees the rendered page was turned (counter-clockwise) before reading


@functools.lru_cache(maxsize=1)
def ocr_available() -> bool:
    """tesseract on PATH, pytesseract importable and the jpn data installed (cached: the check
    runs `tesseract --list-langs`, and a missing engine does not appear mid-process)."""
    if shutil.which("tesseract") is None:
        return False
    try:
        import pytesseract

        return "jpn" in pytesseract.get_languages(config="")
    except Exception:  # noqa: BLE001 - a broken install is a missing one
        return False


@functools.lru_cache(maxsize=1)
def _languages() -> frozenset[str]:
    import pytesseract

    return frozenset(pytesseract.get_languages(config=""))


def render(pdf_page: Any, dpi: int = OCR_DPI) -> Any:
    """A pypdfium2 page as a grey PIL image (its /Rotate applied, as a viewer shows it)."""
    return pdf_page.render(scale=dpi / 72).to_pil().convert("L")


def ocr_page(pdf_page: Any) -> OcrResult:
    """Read one pypdfium2 page. Raises `OcrError` when the engine fails; an unreadable page is
    not an error but a low confidence (or empty text) for the caller to judge."""
    return ocr_image(render(pdf_page))


def ocr_image(image: Any) -> OcrResult:
    """See the module docstring for the order in which readings are tried."""
    rows, cols = _profile(image)
    readings = [(False, 0), (True, 0), (False, 90), (False, 270)]
    if "jpn_vert" not in _languages():
        readings.remove((True, 0))
        first = 1
    elif abs(rows - cols) < PROFILE_MARGIN:
        first = 2
    else:
        first = 1
        if cols > rows:  # vertical script, or a horizontal page turned 90°
            readings = [(True, 0), (False, 90), (False, 270), (False, 0)]
    best: OcrResult | None = None
    for n, (vertical, rotation) in enumerate(readings):
        if best is not None and n >= first and best.confidence >= OCR_CONFIDENCE_FLOOR:
            break
        result = _read(image.rotate(rotation, expand=True) if rotation else image, vertical, rotation)
        if best is None or result.confidence > best.confidence:
            best = result
    assert best is not None
    return best


def _read(image: Any, vertical: bool, rotation: int) -> OcrResult:
    import pytesseract

    lang, psm = ("jpn_vert", 5) if vertical else ("jpn", 6)
    try:
        data = pytesseract.image_to_data(image, lang=lang, config=f"--psm {psm} --dpi {OCR_DPI}",
                                         output_type=pytesseract.Output.DICT, timeout=OCR_TIMEOUT_S)
    except RuntimeError as err:  # TesseractError, and pytesseract's timeout
        raise OcrError(f"tesseract ({lang}) failed: {str(err).strip()[:200]}") from err
    except OSError as err:  # TesseractNotFoundError is an OSError: the binary vanished
        raise OcrError(f"tesseract cannot run: {err}") from err
    lines: dict[tuple[int, int, int], list[str]] = {}
    chars, weighted = 0, 0.0
    for word, conf, *key in zip(data["text"], data["conf"], data["block_num"], data["par_num"],
                                data["line_num"]):
        word, conf = str(word).strip(), float(conf)
        if not word or conf < 0:
            continue
        lines.setdefault((key[0], key[1], key[2]), []).append(word)
        chars += len(word)
        weighted += conf * len(word)
    text = normalize_text("\n".join(" ".join(words) for words in lines.values()))
    return OcrResult(text, round(weighted / chars / 100, 3) if chars else 0.0, vertical, rotation)


def _profile(image: Any) -> tuple[float, float]:
    """(share of blank rows, share of blank columns) inside the inked area: text lines show as a
    rhythm of inked and blank bands, rows for horizontal writing, columns for vertical."""
    ink = np.asarray(image)[::PROFILE_STEP, ::PROFILE_STEP] < INK_LEVEL
    shares: list[float] = []
    profiles: list[Any] = [ink.any(axis=1), ink.any(axis=0)]
    for profile in profiles:
        inked = np.flatnonzero(profile)
        shares.append(float(1 - profile[inked[0]: inked[-1] + 1].mean()) if len(inked) > 1 else 0.0)
    return shares[0], shares[1]
