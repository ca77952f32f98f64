"""Render a sample written in the ``markup`` dialect as an A4 PDF with reportlab.

Japanese text is set in the Adobe-Japan1 CID fonts that reportlab knows without font files
(HeiseiMin-W3 for body text, HeiseiKakuGo-W5 for headings). They are not embedded; viewers
substitute a local Mincho/Gothic, and text extractors read the text through the predefined
``UniJIS-UCS2-H`` CMap (2-byte UCS-2 codes), which pypdf decodes as UTF-16BE.
``invariant=1`` makes the output byte-for-byte reproducible.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from assistant.samples.markup import Block, split_cover

MINCHO, GOTHIC = "HeiseiMin-W3", "HeiseiKakuGo-W5"
MARGIN = 22 * mm


def _styles() -> dict[str, ParagraphStyle]:
    for name in (MINCHO, GOTHIC):
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(name))
    base = ParagraphStyle(
        "body", fontName=MINCHO, fontSize=10.5, leading=17, wordWrap="CJK", firstLineIndent=10.5, spaceAfter=3
    )

    def heading(name: str, size: float, before: float, indent: float = 0) -> ParagraphStyle:
        return ParagraphStyle(
            name,
            base,
            fontName=GOTHIC,
            fontSize=size,
            leading=size * 1.5,
            firstLineIndent=0,
            leftIndent=indent,
            spaceBefore=before,
            spaceAfter=4,
        )

    return {
        "p": base,
        "item": ParagraphStyle("item", base, firstLineIndent=-10.5, leftIndent=21),
        "h1": ParagraphStyle(
            "h1",
            base,
            fontName=GOTHIC,
            fontSize=22,
            leading=34,
            alignment=TA_CENTER,
            firstLineIndent=0,
            spaceBefore=120,
            spaceAfter=30,
        ),
        "notice": ParagraphStyle(
            "notice",
            base,
            fontSize=10,
            firstLineIndent=0,
            borderWidth=0.8,
            borderColor=colors.black,
            borderPadding=8,
            spaceBefore=10,
            spaceAfter=40,
        ),
        "cover": ParagraphStyle(
            "cover", base, fontSize=12, leading=22, alignment=TA_CENTER, firstLineIndent=0
        ),
        "h2": heading("h2", 15, 6),
        "h3": heading("h3", 12.5, 10),
        "h4": heading("h4", 11, 8, 5),
        "h5": heading("h5", 10.5, 4, 5),
        "h6": heading("h6", 10.5, 2, 10.5),
        "cell": ParagraphStyle("cell", base, fontSize=9, leading=13, firstLineIndent=0, spaceAfter=0),
        "head": ParagraphStyle(
            "head",
            base,
            fontName=GOTHIC,
            fontSize=9,
            leading=13,
            firstLineIndent=0,
            spaceAfter=0,
            alignment=TA_CENTER,
        ),
    }


def _table(rows: list[list[str]], styles: dict[str, ParagraphStyle], width: float) -> Table:
    ncols = max(len(r) for r in rows)
    weights = [min(max((len(r[i]) for r in rows if i < len(r)), default=4), 22) + 3 for i in range(ncols)]
    col_widths = [width * w / sum(weights) for w in weights]
    data = [
        [Paragraph(escape(c), styles["head" if r == 0 else "cell"]) for c in row]
        for r, row in enumerate(rows)
    ]
    table = Table(data, colWidths=col_widths, repeatRows=1, hAlign="CENTER", spaceBefore=4, spaceAfter=8)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.88, 0.88, 0.88)),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table


def render_pdf(blocks: list[Block], target: Path, *, title: str, author: str, running_head: str) -> None:
    styles = _styles()
    width = A4[0] - 2 * MARGIN
    cover, body = split_cover(blocks)
    story: list = []
    for block in cover:
        if block.kind == "h1":  # the title breaks where the source has a full-width space
            story.append(Paragraph("<br/>".join(map(escape, block.text.split("　"))), styles["h1"]))
        else:
            style = "notice" if "架空の自治体のサンプル" in block.text else "cover"
            story.append(Paragraph(escape(block.text), styles[style]))
    if cover:
        story.append(PageBreak())
    for block in body:
        if block.kind == "pagebreak":
            story.append(PageBreak())
        elif block.kind == "table":
            story.append(_table(block.rows, styles, width))
        else:
            story.append(Paragraph(escape(block.text), styles.get(block.kind, styles["p"])))
    story.append(Spacer(1, 1))

    def decorate(canvas, doc) -> None:  # running head and page number, not on the cover
        canvas.saveState()
        canvas.setFont(GOTHIC, 8)
        top = A4[1] - 12 * mm
        canvas.drawRightString(A4[0] - MARGIN, top, running_head)
        canvas.setLineWidth(0.4)
        canvas.line(MARGIN, top - 2 * mm, A4[0] - MARGIN, top - 2 * mm)
        canvas.setFont(MINCHO, 9)
        canvas.drawCentredString(A4[0] / 2, 12 * mm, f"- {doc.page} -")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        str(target),
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author=author,
        subject="架空の自治体のサンプル文書",
        creator="plan-assistant samples",
        invariant=1,
    )
    doc.build(story, onFirstPage=(lambda c, d: None) if cover else decorate, onLaterPages=decorate)
