"""The draft check: statements of a draft judged against the indexed documents.

statements (draft → statements) · candidates (passages → sentences, list items, table rows) · subject
(the fitted same-subject score, subject_model.json) · values (what a statement states) · compare (values
against values) · judge (one statement's verdict) · draft (the loop, reverse gaps) · report (CSV, Markdown).
"""

from assistant.check.draft import check_draft, find_gaps, search_filters
from assistant.check.report import CheckReport, EvidenceRef, Gap, StatementResult, combined_verdict

__all__ = ["CheckReport", "EvidenceRef", "Gap", "StatementResult", "check_draft", "combined_verdict", "find_gaps",
           "search_filters"]
