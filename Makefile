# LiteLLM gateway on AWS: Sceptre + CloudFormation.
#   make local  launch config/dev into the local AWS emulator (no account needed)
#   make test   make the environments it needs (uv, from hash locks), then run tests/unit and tests/integration
#   make lint   ruff, hadolint, the pipelines, cfn-lint and the security gate (checkov, the checklist, tests/lint)
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
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
SPECIALISED := build/specialised
# The revision whose templates are deployed: the replacement guard compares the
# working tree with it. Pull-request builds set the target branch (origin/main).
GUARD_BASE ?= HEAD
GATEWAY_VENV := .venv-gateway
GATEWAY_STAMP := $(GATEWAY_VENV)/.installed
# The one pin of the LiteLLM release, shared with the image build.
LITELLM_VERSION := $(shell sed -n 's/^LITELLM_VERSION=//p' image/build-args)
LOCAL_PORT ?= 4566
export LOCAL_PORT
# make test's pytest workers. The integration tests mostly wait (on tasks, health checks and
# rollouts): run one at a time they kept 2 cores about 25% busy, so 3 workers on 2 cores.
# Whole files per worker (--dist loadfile), since each file launches its own emulator once.
TEST_WORKERS ?= 3

.PHONY: help venv emulator-venv gateway-venv lock schema-venv checkov-venv security taskcat-build local local-down local-summary rotate gateway gateway-down bench test unit lint render rds-ca-bundle rehearse-pipelines clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-19s %s\n", $$1, $$2}'

# Every environment is made by uv from a hash-locked file (`make lock` compiles them all): a
# republished or compromised release of any package fails the install instead of running, and
# uv installs in seconds what pip took minutes for. uv itself is pinned, and fetched once with pip.
UV_VERSION := 0.13.8
UV := .venv-uv/bin/uv
UV_SYNC = $(UV) pip sync --quiet --require-hashes --python
$(UV):
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
		--target .venv-uv 'uv==$(UV_VERSION)'

# .venv keeps pip (it is in the lock): the upload_lambdas hook installs each function's
# requirements for Lambda's platform with it.
$(STAMP): requirements.lock pyproject.toml | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(UV_SYNC) $(BIN)/python requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	$(UV) pip check --quiet --python $(BIN)/python
	touch $@

venv: $(STAMP) ## Create .venv with the pinned tools and this repository's Sceptre plugins

# moto[server] cannot share a venv with taskcat, so the emulator has its own. Beside
# it, the SDK Lambda's python3.12 runtime bundles (boto3), for the functions it runs.
$(EMULATOR_STAMP): emulator/requirements.lock emulator/lambda-runtime.txt pyproject.toml | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(EMULATOR_VENV)
	$(UV_SYNC) $(EMULATOR_VENV)/bin/python emulator/requirements.lock
	$(UV) pip install --quiet --python $(EMULATOR_VENV)/bin/python --no-deps -e .
	$(UV) pip install --quiet --require-hashes --target $(EMULATOR_VENV)/lambda-runtimes/python3.12 \
		--python-version 3.12 --only-binary :all: -r emulator/lambda-runtime.txt
	touch $@

emulator-venv: $(EMULATOR_STAMP) ## Create .venv-emulator with moto's server

# The emulator serves RDS PostgreSQL 15 with a real PostgreSQL 15 server: Debian's, which make
# installs where it can (as root with apt), else says what to install.
POSTGRES_SERVER := /usr/lib/postgresql/15/bin/postgres
$(POSTGRES_SERVER):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's postgresql-15: the emulator's RDS runs on it"; \
		apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null 2>&1 \
		|| { apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null; }; \
	else \
		echo "make local needs PostgreSQL 15's server, which plays RDS: install Debian's postgresql-15 (or run make as root)"; \
		exit 2; \
	fi

# The emulator serves ElastiCache, and the shared-state test and `make bench` run the gateway's
# cache, with a real Redis: Debian's redis-server (with redis-cli), installed the same way.
REDIS_SERVER := /usr/bin/redis-server
$(REDIS_SERVER):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's redis-server: the emulator's ElastiCache and the shared-state test run on it"; \
		apt-get install -y -qq --no-install-recommends redis-server >/dev/null 2>&1 \
		|| { apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server >/dev/null; }; \
	else \
		echo "make local, test, bench and rehearse-pipelines need Redis's server: install Debian's redis-server (or run make as root)"; \
		exit 2; \
	fi

# The LiteLLM proxy from PyPI at the image's pinned release. prisma (the Python
# package) lets the proxy answer auth errors without a database.
# Every package and its hash, compiled from requirements-gateway.in (make lock): a
# republished or compromised release of any dependency fails the install instead of running.
$(GATEWAY_STAMP): requirements-gateway.txt | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(GATEWAY_VENV)
	$(UV_SYNC) $(GATEWAY_VENV)/bin/python requirements-gateway.txt
	touch $@

gateway-venv: $(GATEWAY_STAMP) ## Create .venv-gateway with the pinned LiteLLM proxy, every package hash-checked

# check-jsonschema needs jsonschema 4, which taskcat's venv cannot hold.
$(SCHEMA_STAMP): requirements-schema.txt | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(SCHEMA_VENV)
	$(UV_SYNC) $(SCHEMA_VENV)/bin/python requirements-schema.txt
	touch $@

schema-venv: $(SCHEMA_STAMP) ## Create .venv-schema with check-jsonschema, for the pipeline checks

# checkov pins its own networkx, boto3 and jsonschema; a venv of its own keeps them apart.
$(CHECKOV_STAMP): requirements-checkov.txt | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(CHECKOV_VENV)
	$(UV_SYNC) $(CHECKOV_VENV)/bin/python requirements-checkov.txt
	touch $@

# Each lock from its input, for every platform and Python 3.11 on: requirements.txt and
# emulator/requirements.txt (direct pins), emulator/requirements.txt's boto3 (for Lambda's Python 3.12),
# requirements-gateway.in (with image/build-args' LiteLLM release), requirements-schema.in and
# requirements-checkov.in. The gateway's lock is the one to recompile alone when LiteLLM moves:
# its input names no other pin.
LOCK = $(UV) pip compile --quiet --universal --generate-hashes --no-header --python-version
lock: | $(UV) ## Recompile every hash-locked requirements file from its input (after changing a pin or LITELLM_VERSION)
	mkdir -p build && echo 'litellm==$(LITELLM_VERSION)' > build/gateway-release.txt
	$(LOCK) 3.11 requirements.txt -o requirements.lock
	$(LOCK) 3.11 emulator/requirements.txt -o emulator/requirements.lock
	grep '^boto3==' emulator/requirements.txt | $(LOCK) 3.12 - -o emulator/lambda-runtime.txt
	$(LOCK) 3.11 requirements-gateway.in --constraint build/gateway-release.txt -o requirements-gateway.txt
	$(LOCK) 3.11 requirements-schema.in -o requirements-schema.txt
	$(LOCK) 3.11 requirements-checkov.in -o requirements-checkov.txt

checkov-venv: $(CHECKOV_STAMP) ## Create .venv-checkov with checkov, for the security gate

local: $(STAMP) $(EMULATOR_STAMP) $(GATEWAY_STAMP) $(POSTGRES_SERVER) $(REDIS_SERVER) ## Main job: start the local AWS emulator and launch config/dev into it; its ECS service serves the gateway through its ALB
	@$(BIN)/python -m tools.local up
	@$(BIN)/python -m tools.local launch dev $(foreach v,$(VARS),--var $(v))

local-summary: $(STAMP) ## Print the stacks and outputs of dev in the running emulator
	@$(BIN)/python -m tools.local summary dev

rotate: $(STAMP) ## Rotate a secret of the running rehearsal now, as Secrets Manager would: make rotate SECRET=master-key|database|ui-password
	@$(BIN)/python -m tools.local rotate dev $(SECRET)

local-down: $(STAMP) ## Stop the local AWS emulator, with every task, listener and database it runs (its contents are lost)
	@$(BIN)/python -m tools.local down

gateway: $(STAMP) $(GATEWAY_STAMP) ## Run the pinned LiteLLM proxy with the image's config and a fake upstream on 127.0.0.1:GATEWAY_PORT (4000)
	@$(BIN)/python -m tools.gateway up

gateway-down: $(STAMP) ## Stop the local gateway
	@$(BIN)/python -m tools.gateway down

bench: $(GATEWAY_STAMP) $(REDIS_SERVER) ## Load-test the gateway: production settings with and without the shared-state cache, and the guide's, on one vCPU each (wrk, ~3 min)
	$(GATEWAY_VENV)/bin/python -m tools.bench

rehearse-pipelines: $(STAMP) $(EMULATOR_STAMP) $(GATEWAY_STAMP) $(POSTGRES_SERVER) $(REDIS_SERVER) ## Run the Azure DevOps pipelines' compiled steps against a fresh local emulator, scenario by scenario (~4 min)
	$(BIN)/python -m tools.pipeline_rehearse $(SCENARIOS)

test: $(STAMP) $(EMULATOR_STAMP) $(GATEWAY_STAMP) $(POSTGRES_SERVER) $(REDIS_SERVER) ## Run the unit and integration tests, TEST_WORKERS files at a time (make lint runs tests/lint, the gates' own tests)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

unit: $(STAMP) ## Run the fast tests only: tests/unit, with .venv alone, on every core (about 40 s on 2)
	$(BIN)/pytest -n auto tests/unit

rds-ca-bundle: $(STAMP) ## Refresh image/rds-ca/<region>.pem from AWS's published RDS CA bundle (needs truststore.pki.rds.amazonaws.com)
	$(BIN)/python -m tools.rds_ca_bundle

render: $(STAMP) ## Render all ten templates offline into build/rendered/<env>/
	rm -rf $(RENDERED)
	$(BIN)/python -m tools.render --out $(RENDERED)

taskcat-build: $(STAMP) ## Write build/taskcat/: the renders, the zips and the entrypoint that nests them
	$(BIN)/python -m tools.taskcat_build

# The security gate: checkov over each environment's templates as they deploy
# (conditions evaluated; suppressions live in each resource's Metadata with a
# reason), checkov's secrets scan over the sources, then every checklist item
# (tools/checklist.py), then each item broken in a copy, which the gate must
# catch (tools/mutations.py, tools/mutations.yaml; see docs/security.md).
security: $(STAMP) $(CHECKOV_STAMP) ## checkov over the specialised renders, the checklist checks, and the mutation harness that proves each can fail
	rm -rf $(SPECIALISED)
	$(BIN)/python -m tools.specialise --out $(SPECIALISED) >/dev/null
	$(CHECKOV_VENV)/bin/checkov --directory $(SPECIALISED) --framework cloudformation secrets \
		--skip-download --compact --quiet
	$(CHECKOV_VENV)/bin/checkov --framework secrets --skip-download --compact --quiet \
		$(foreach d,config templates image azure-devops lambdas hooks resolvers tools emulator,--directory $(d))
	@echo "checkov: $$(ls $(SPECIALISED)/*/*.json | wc -l) specialised templates, 0 unsuppressed findings"
	$(BIN)/python -m tools.checklist
	$(BIN)/pytest -q -p no:cacheprovider tests/lint/test_checkov.py tests/lint/test_mutations.py \
		tests/unit/test_security_checklist.py tests/unit/test_replacement_guard.py
	$(BIN)/python -m tools.replacement_guard --against $(GUARD_BASE)

lint: render taskcat-build security $(SCHEMA_STAMP) ## ruff, hadolint, the pipelines, taskcat lint, cfn-lint over the ten renders, the security gate
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint image/Dockerfile
	$(BIN)/python -m tools.pipeline_lint azure-devops
	$(BIN)/pytest -q -p no:cacheprovider tests/lint/test_pipeline_schema.py
	$(BIN)/taskcat lint
	@echo "cfn-lint: $$(ls $(RENDERED)/*/*.deploy.yaml | wc -l) rendered templates, with each environment's parameters"
	$(BIN)/cfn-lint --include-checks I --non-zero-exit-code warning --format parseable \
		--deployment-files $(RENDERED)/*/*.deploy.yaml \
		| tee build/cfn-lint.txt
	@echo "cfn-lint: $$(grep -c ':E[0-9]' build/cfn-lint.txt || true) errors, $$(grep -c ':W[0-9]' build/cfn-lint.txt || true) warnings, $$(grep -c ':I[0-9]' build/cfn-lint.txt || true) informational"

clean: ## Remove build output (keeps .venv)
	rm -rf build .pytest_cache .ruff_cache
