"""The draft check's report: one result per statement, the gaps, and their CSV and Markdown forms."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field

from assistant.types import VERDICT_LABELS, VERDICTS, Passage


@dataclass
class EvidenceRef:
    passage: Passage
    sentence: str
    coverage: float = 0.0

    def to_dict(self) -> dict:
        """The passage as `Passage.to_dict` gives it (less its search score), and the sentence relied on."""
        shown = {k: v for k, v in self.passage.to_dict().items() if k != "score"}
        return {**shown, "sentence": self.sentence}


@dataclass
class StatementResult:
    id: str
    text: str
    section: str
    verdict: str
    explanation: str
    draft_values: list[str] = field(default_factory=list)
    evidence_values: list[str] = field(default_factory=list)
    evidence: list[EvidenceRef] = field(default_factory=list)
    line: int = 0

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "text": self.text,
            "section": self.section,
            "verdict": self.verdict,
            "explanation": self.explanation,
            "draft_values": self.draft_values,
            "evidence_values": self.evidence_values,
            "evidence": [e.to_dict() for e in self.evidence],
            "line": self.line,
        }


@dataclass
class Gap:
    passage: Passage
    text: str
    values: list[str]

    def to_dict(self) -> dict:
        p = self.passage
        return {
            "doc": p.doc_id,
            "title": p.title,
            "section": p.section,
            "page": p.page,
            "text": self.text,
            "values": self.values,
        }


@dataclass
class CheckReport:
    statements: list[StatementResult]
    gaps: list[Gap] = field(default_factory=list)
    against: str = "all"

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(s.verdict for s in self.statements)
        return {v: counts.get(v, 0) for v in VERDICTS}

    def to_dict(self) -> dict:
        return {
            "statements": [s.to_dict() for s in self.statements],
            "gaps": [g.to_dict() for g in self.gaps],
            "summary": self.summary,
            "against": self.against,
        }

    def to_csv(self) -> str:
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(
            [
                "kind",
                "id",
                "section",
                "text",
                "verdict",
                "explanation",
                "draft_values",
                "evidence_values",
                "evidence_doc",
                "evidence_title",
                "evidence_section",
                "evidence_page",
                "evidence_sentence",
            ]
        )
        for s in self.statements:
            e = s.evidence[0] if s.evidence else None
            w.writerow(
                [
                    "statement",
                    s.id,
                    s.section,
                    s.text,
                    s.verdict,
                    s.explanation,
                    " / ".join(s.draft_values),
                    " / ".join(s.evidence_values),
                    e.passage.doc_id if e else "",
                    e.passage.title if e else "",
                    e.passage.section if e else "",
                    e.passage.page or "" if e else "",
                    e.sentence if e else "",
                ]
            )
        for n, g in enumerate(self.gaps, 1):
            w.writerow(
                [
                    "gap",
                    f"g{n}",
                    "",
                    "",
                    "not_in_draft",
                    "原案に記載が見当たらない資料の目標・指標",
                    "",
                    " / ".join(g.values),
                    g.passage.doc_id,
                    g.passage.title,
                    g.passage.section,
                    g.passage.page or "",
                    g.text,
                ]
            )
        return out.getvalue()

    def to_markdown(self) -> str:
        s = self.summary
        counts = f"照合先: {self.against}　／　" + summary_text(s, "件・") + " 件"
        lines = [
            "# 原案の整合性チェック結果",
            "",
            counts,
            "",
            "| No. | 判定 | 原案の記述 | 説明 | 根拠 |",
            "|---|---|---|---|---|",
        ]
        for r in self.statements:
            cited = "<br>".join(f"{cite(e.passage)}「{_md(e.sentence)}」" for e in r.evidence[:2])
            lines.append(
                f"| {r.id} | {VERDICT_LABELS[r.verdict]} | {_md(r.text)} | {_md(r.explanation)} | {cited} |"
            )
        if self.gaps:
            lines += [
                "",
                "## 原案に反映されていない可能性のある目標・指標",
                "",
                "| 資料 | 該当箇所 | 数値 |",
                "|---|---|---|",
            ]
            for g in self.gaps:
                lines.append(f"| {cite(g.passage)} | {_md(g.text)} | {_md(' / '.join(g.values))} |")
        return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "｜").replace("\n", " ")


def cite(p: Passage) -> str:
    page = f" {p.page_ref}" if p.page else ""
    section = f" {p.section.split(' > ')[-1]}" if p.section else ""
    return f"『{p.title}』{page}{section}"



def summary_text(summary: dict[str, int], sep: str = " / ") -> str:
    """「整合 3 / 相違あり 1 / …」 in the order and words of `VERDICT_LABELS`."""
    return sep.join(f"{VERDICT_LABELS[v]} {summary.get(v, 0)}" for v in VERDICTS)


def combined_verdict(report: CheckReport) -> tuple[str, StatementResult | None]:
    """One verdict for a short draft: any conflict, else any consistent, else unsupported."""
    for verdict in ("conflict", "consistent"):
        for r in report.statements:
            if r.verdict == verdict:
                return verdict, r
    unsupported = next((r for r in report.statements if r.verdict == "unsupported"), None)
    return "unsupported", unsupported or (report.statements[0] if report.statements else None)
