# LiteLLM gateway on AWS: Sceptre + CloudFormation.
#   make test   install into .venv, then run the test suite
#   make lint   ruff, then cfn-lint over every rendered template of every environment
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RENDERED := build/rendered

.PHONY: help venv test unit lint render clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $@

venv: $(STAMP) ## Create .venv with the pinned tools and this repository's Sceptre plugins

test: $(STAMP) ## Run every test (unit and integration)
	$(BIN)/pytest

unit: $(STAMP) ## Run the fast tests only
	$(BIN)/pytest tests/unit

render: $(STAMP) ## Render all ten templates offline into build/rendered/<env>/
	rm -rf $(RENDERED)
	$(BIN)/python -m tools.render --out $(RENDERED)

lint: render ## ruff, then cfn-lint (errors, warnings and informational) over the ten renders
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@echo "cfn-lint: $$(ls $(RENDERED)/*/*.deploy.yaml | wc -l) rendered templates, with each environment's parameters"
	$(BIN)/cfn-lint --include-checks I --non-zero-exit-code warning --format parseable \
		--deployment-files $(RENDERED)/*/*.deploy.yaml \
		| tee build/cfn-lint.txt
	@echo "cfn-lint: $$(grep -c ':E[0-9]' build/cfn-lint.txt || true) errors, $$(grep -c ':W[0-9]' build/cfn-lint.txt || true) warnings, $$(grep -c ':I[0-9]' build/cfn-lint.txt || true) informational"

clean: ## Remove build output (keeps .venv)
	rm -rf build .pytest_cache .ruff_cache
