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
EMULATOR_VENV := .venv-emulator
EMULATOR_STAMP := $(EMULATOR_VENV)/.installed
SCHEMA_VENV := .venv-schema
SCHEMA_STAMP := $(SCHEMA_VENV)/.installed
GATEWAY_VENV := .venv-gateway
GATEWAY_STAMP := $(GATEWAY_VENV)/.installed
# The one pin of the LiteLLM release, shared with the image build.
LITELLM_VERSION := $(shell sed -n 's/^LITELLM_VERSION=//p' image/build-args)
LOCAL_PORT ?= 4566
export LOCAL_PORT

.PHONY: help venv emulator-venv gateway-venv schema-venv taskcat-build local local-down local-summary gateway gateway-down bench test unit lint render clean

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

# moto[server] cannot share a venv with taskcat, so the emulator has its own.
$(EMULATOR_STAMP): emulator/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(EMULATOR_VENV)
	$(EMULATOR_VENV)/bin/pip install --quiet --upgrade pip
	$(EMULATOR_VENV)/bin/pip install --quiet -r emulator/requirements.txt
	$(EMULATOR_VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

emulator-venv: $(EMULATOR_STAMP) ## Create .venv-emulator with moto's server

# The LiteLLM proxy from PyPI at the image's pinned release. prisma (the Python
# package) lets the proxy answer auth errors without a database.
$(GATEWAY_STAMP): image/build-args
	$(PYTHON) -m venv $(GATEWAY_VENV)
	$(GATEWAY_VENV)/bin/pip install --quiet --upgrade pip
	$(GATEWAY_VENV)/bin/pip install --quiet 'litellm[proxy]==$(LITELLM_VERSION)' 'prisma==0.15.0' 'matplotlib==3.10.9'
	touch $@

gateway-venv: $(GATEWAY_STAMP) ## Create .venv-gateway with the pinned LiteLLM proxy

# check-jsonschema needs jsonschema 4, which taskcat's venv cannot hold.
$(SCHEMA_STAMP):
	$(PYTHON) -m venv $(SCHEMA_VENV)
	$(SCHEMA_VENV)/bin/pip install --quiet --upgrade pip
	$(SCHEMA_VENV)/bin/pip install --quiet 'check-jsonschema==0.39.0'
	touch $@

schema-venv: $(SCHEMA_STAMP) ## Create .venv-schema with check-jsonschema, for the pipeline checks

local: $(STAMP) $(EMULATOR_STAMP) $(GATEWAY_STAMP) ## Main job: start the local AWS emulator, launch config/dev into it, start a local gateway
	@$(BIN)/python -m tools.local up
	@$(BIN)/python -m tools.local launch dev $(foreach v,$(VARS),--var $(v))
	@$(BIN)/python -m tools.gateway up

local-summary: $(STAMP) ## Print the stacks and outputs of dev in the running emulator
	@$(BIN)/python -m tools.local summary dev

local-down: $(STAMP) ## Stop the local gateway and the local AWS emulator (its contents are lost)
	@$(BIN)/python -m tools.gateway down
	@$(BIN)/python -m tools.local down

gateway: $(STAMP) $(GATEWAY_STAMP) ## Run the pinned LiteLLM proxy with the image's config and a fake upstream on 127.0.0.1:4000
	@$(BIN)/python -m tools.gateway up

gateway-down: $(STAMP) ## Stop the local gateway
	@$(BIN)/python -m tools.gateway down

bench: $(GATEWAY_STAMP) ## Load-test the gateway: production settings vs the guide's, on one vCPU each (wrk, ~90 s)
	$(GATEWAY_VENV)/bin/python -m tools.bench

test: $(STAMP) $(EMULATOR_STAMP) $(GATEWAY_STAMP) $(SCHEMA_STAMP) ## Run every test (unit and integration)
	$(BIN)/pytest

unit: $(STAMP) ## Run the fast tests only
	$(BIN)/pytest tests/unit

render: $(STAMP) ## Render all ten templates offline into build/rendered/<env>/
	rm -rf $(RENDERED)
	$(BIN)/python -m tools.render --out $(RENDERED)

taskcat-build: $(STAMP) ## Write build/taskcat/: the renders, the zips and the entrypoint that nests them
	$(BIN)/python -m tools.taskcat_build

lint: render taskcat-build $(SCHEMA_STAMP) ## ruff, hadolint, the pipelines, taskcat lint, then cfn-lint over the ten renders
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint image/Dockerfile
	$(BIN)/python -m tools.pipeline_lint azure-devops
	$(BIN)/taskcat lint
	@echo "cfn-lint: $$(ls $(RENDERED)/*/*.deploy.yaml | wc -l) rendered templates, with each environment's parameters"
	$(BIN)/cfn-lint --include-checks I --non-zero-exit-code warning --format parseable \
		--deployment-files $(RENDERED)/*/*.deploy.yaml \
		| tee build/cfn-lint.txt
	@echo "cfn-lint: $$(grep -c ':E[0-9]' build/cfn-lint.txt || true) errors, $$(grep -c ':W[0-9]' build/cfn-lint.txt || true) warnings, $$(grep -c ':I[0-9]' build/cfn-lint.txt || true) informational"

clean: ## Remove build output (keeps .venv)
	rm -rf build .pytest_cache .ruff_cache
