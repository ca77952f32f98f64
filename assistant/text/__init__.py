"""The Japanese text toolkit: pure functions over text, shared by ingestion, retrieval, answers and
the draft check, so that all of them split, tokenise and compare text the same way.

- `numerals`: era years, kanji and full-width numerals, the offset-keeping normalisation, `plain()`.
- `facts`: comparable facts (years, periods, dates, quantities …) and their comparison.
- `roles`: who holds which role (委員長, 事務局 …) and which department is in charge.
- `layout`: heading styles, bullets, page-number and leader lines, the section stack.
- `sentences`: the one sentence splitter and the draft reader's units (sentences, items, rows).
- `tokens`: the SudachiPy tokenizer (tokens, content words, proper nouns, place names).
- `wordlists`: the stop-word lists, each with the reason it exists.
"""
