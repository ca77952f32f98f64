"""OCR benchmark: character error rate and pages/second on pages whose text is known.

    .venv/bin/python -m eval.bench_ocr [--fixture ../shared/fixtures/saku_houshin_typeset.pdf]

Pages 1, 2 and 4 of the typeset fixture (prose; 3 and 5–9 are mostly diagrams and tables)
are rendered to images, put in an image-only PDF and read back through `load_file`, i.e. the
way a scan is ingested; the reference is the same page's text layer. A vertical (tategaki)
page typeset here with reportlab's vertical CID font, and fixture page 2 turned 90°, test the
orientation handling. CER = edit distance / reference length, after `normalize_text`, NFKC
and with all whitespace removed (OCR cannot know where the PDF put spaces).

The helpers (`cer`, `image_only_pdf`, `vertical_pdf`, `renders_japanese`) are shared with
tests/test_ocr.py. Rendering the fixture needs a Japanese system font (its fonts are not
embedded; Debian: fonts-ipafont-mincho), hence `renders_japanese`.
"""

from __future__ import annotations

import argparse
import io
import re
import time
import unicodedata
from pathlib import Path

from ingest.normalize import normalize_text

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "saku_houshin_typeset.pdf"
PROSE_PAGES = (1, 2, 4)
VERTICAL_TEXT = [
    "総合計画は、市の目指す将来のまちの姿と、その実現のために",
    "必要な基本的施策を明確に示すものであり、市の施策を展開する",
    "上での最上位計画に位置付けられる計画です。基本構想は十年",
    "先の将来に向けてのまちづくりの方向性を示すものです。基本",
    "計画は基本構想に基づき、各分野の施策を体系的に示します。",
    "実施計画は基本計画に定めた施策を具体的に実施するための",
    "事業を示すもので、毎年度見直しを行います。計画期間は令和",
    "四年度から令和八年度までの五年間とします。",
]


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", normalize_text(text)))


def cer(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over the reference length, on the flattened texts (see module)."""
    ref, hyp = _flat(reference), _flat(hypothesis)
    if not ref:
        return float(bool(hyp))
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i]
        for j, h in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h)))
        prev = cur
    return prev[-1] / len(ref)


def page_text(pdf_path: Path, number: int) -> str:
    """The text layer of one page (1-based), as pypdfium2 extracts it."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(pdf_path))
    try:
        textpage = pdf[number - 1].get_textpage()
        return str(textpage.get_text_range())
    finally:
        pdf.close()


def renders_japanese(pdf_path: Path = FIXTURE, number: int = 1) -> bool:
    """Whether pdfium finds a font for the fixture's non-embedded Japanese text (else the
    rendered page is blank but for the digits, and OCR has nothing to read)."""
    import numpy as np
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(pdf_path))
    try:
        image = pdf[number - 1].render(scale=72 / 72).to_pil().convert("L")
        return float((np.asarray(image) < 128).mean()) > 0.005
    finally:
        pdf.close()


def image_only_pdf(src: Path, dst: Path, pages: tuple[int, ...], rotate: int = 0, dpi: int = 300) -> Path:
    """`pages` of `src` rendered at `dpi` and saved as an image-only PDF (a scan without a text
    layer); `rotate` turns each image clockwise, as a sheet fed sideways into a scanner."""
    import pypdfium2
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    pdf = pypdfium2.PdfDocument(str(src))
    out = canvas.Canvas(str(dst))
    try:
        for number in pages:
            image = pdf[number - 1].render(scale=dpi / 72).to_pil().convert("L")
            if rotate:
                image = image.rotate(-rotate, expand=True)
            buf = io.BytesIO()
            image.save(buf, format="PNG")
            width, height = image.width * 72 / dpi, image.height * 72 / dpi
            out.setPageSize((width, height))
            out.drawImage(ImageReader(io.BytesIO(buf.getvalue())), 0, 0, width, height)
            out.showPage()
    finally:
        pdf.close()
    out.save()
    return dst


def vertical_pdf(dst: Path, lines: list[str] = VERTICAL_TEXT, size: float = 14) -> Path:
    """One A4 page of vertical text, columns right to left, in reportlab's vertical CID font."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    font = UnicodeCIDFont("HeiseiMin-W3", isVertical=True)
    pdfmetrics.registerFont(font)
    c = canvas.Canvas(str(dst), pagesize=A4)
    c.setFont(font.fontName, size)
    for i, line in enumerate(lines):
        c.drawString(A4[0] - 80 - i * size * 2, A4[1] - 80, line)
    c.showPage()
    c.save()
    return dst


def run(fixture: Path, work: Path) -> list[tuple[str, float, float, float]]:
    """(case, CER, confidence, seconds a page) per case."""
    from ingest.load import load_file

    rows = []
    cases = [("typeset p" + ",".join(map(str, PROSE_PAGES)),
              image_only_pdf(fixture, work / "typeset.pdf", PROSE_PAGES),
              [page_text(fixture, n) for n in PROSE_PAGES]),
             ("typeset p2 turned 90°", image_only_pdf(fixture, work / "turned.pdf", (2,), rotate=90),
              [page_text(fixture, 2)]),
             ("vertical (tategaki)", image_only_pdf(vertical_pdf(work / "vertical_src.pdf"),
                                                    work / "vertical.pdf", (1,)), ["".join(VERTICAL_TEXT)])]
    for name, pdf_path, refs in cases:
        start = time.perf_counter()
        doc = load_file(pdf_path)
        seconds = (time.perf_counter() - start) / len(refs)
        errors = sum(cer(ref, page.text) * len(_flat(ref)) for ref, page in zip(refs, doc.pages))
        notes = "; ".join(p.note for p in doc.pages)
        conf = [float(m) for m in re.findall(r"confidence (\d\.\d+)", notes)]
        rows.append((name, errors / sum(len(_flat(r)) for r in refs), min(conf, default=0.0), seconds))
        for w in doc.warnings:
            print(f"  {name}: {w}")
    return rows


def main() -> None:
    import tempfile

    from ingest.readers.ocr import ocr_available

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fixture", type=Path, default=FIXTURE)
    args = parser.parse_args()
    if not ocr_available():
        raise SystemExit("tesseract がありません: apt-get install tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert")
    if not renders_japanese(args.fixture):
        raise SystemExit("日本語フォントがないため描画できません: apt-get install fonts-ipafont-mincho")
    with tempfile.TemporaryDirectory() as tmp:
        rows = run(args.fixture, Path(tmp))
    print(f"{'case':28} {'CER':>7} {'min conf':>9} {'s/page':>7} {'pages/s':>8}")
    for name, rate, conf, seconds in rows:
        print(f"{name:28} {rate:7.2%} {conf:9.3f} {seconds:7.1f} {1 / seconds:8.2f}")


if __name__ == "__main__":
    main()
