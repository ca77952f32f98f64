"""CSS for the UI (kept in Python so it ships with the package)."""

CSS = """
.pa-header h1 { margin: 0.2em 0 0 0; font-size: 1.6em; }
.pa-header p { margin: 0.2em 0 0.6em 0; color: var(--body-text-color-subdued); }
.pa-answer { line-height: 1.8; }
.pa-ref { color: var(--color-accent); font-weight: 600; }
.pa-cursor { opacity: 0.5; }
.pa-notice { margin-top: 0.5em; font-size: 0.9em; color: #8a5a00; }
.pa-cites { margin-top: 0.6em; border-top: 1px solid var(--border-color-primary); padding-top: 0.4em; }
.pa-cites-head { font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 0.2em; }
details.pa-cite { margin: 0.25em 0; }
details.pa-cite > summary { cursor: pointer; font-size: 0.92em; color: var(--color-accent); }
.pa-passage { margin: 0.3em 0 0.5em 1em; padding: 0.5em 0.7em; border-left: 3px solid var(--color-accent);
  background: var(--background-fill-secondary); font-size: 0.92em; line-height: 1.7; }
.pa-meta { font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 0.3em; }
.pa-page { font-weight: 700; }
.pa-error { color: #b00020; }
.pa-status { padding: 0.4em 0.7em; border-radius: 6px; margin: 0.3em 0; }
.pa-status.pa-error { background: #fdecee; }
.pa-status.pa-ok { background: #e8f5e9; color: #1b5e20; }
.pa-status.pa-info { background: var(--background-fill-secondary); }
.pa-examples button { white-space: normal; }
.pa-table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
.pa-table th, .pa-table td { border: 1px solid var(--border-color-primary); padding: 0.3em 0.5em; vertical-align: top; }
.pa-table tr.pa-error td { background: #fdecee; }
.pa-summary { margin: 0.4em 0; }
.pa-badge { display: inline-block; padding: 0.05em 0.6em; border-radius: 999px; font-size: 0.85em; margin-right: 0.3em;
  color: #fff; white-space: nowrap; }
.pa-b-consistent { background: #2e7d32; } .pa-b-conflict { background: #c62828; }
.pa-b-unsupported { background: #ef6c00; } .pa-b-not_judged { background: #757575; }
.pa-row-head, details.pa-row > summary { display: grid; grid-template-columns: 7em 1fr 14em 14em; gap: 0.6em;
  padding: 0.4em 0.5em; border-bottom: 1px solid var(--border-color-primary); }
.pa-row-head { font-weight: 700; background: var(--background-fill-secondary); }
details.pa-row > summary { cursor: pointer; list-style: none; }
details.pa-row[open] > summary { background: var(--background-fill-secondary); }
.pa-side { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; padding: 0.6em 0.8em; }
.pa-col-head { font-weight: 700; margin-bottom: 0.3em; }
.pa-evidence { margin-bottom: 0.6em; }
.pa-text { line-height: 1.7; }
.pa-text mark { background: #ffe082; padding: 0 0.1em; }
.pa-expl { padding: 0 0.8em 0.6em 0.8em; font-size: 0.9em; color: var(--body-text-color-subdued); }
.pa-muted { color: var(--body-text-color-subdued); padding: 0.5em; }
.pa-gaps { margin-top: 1em; }
.pa-doc { margin: 0.8em 0; }
.pa-doc h4 { margin: 0.2em 0; }
"""
