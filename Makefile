# FastAPI observability reference stack.
# `make up` runs the stack under Docker Compose, or, where no Docker engine answers,
# with the native runner (tools/runner): the same compose files, native programs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY       ?= .venv/bin/python
ENGINE   := $(shell docker info >/dev/null 2>&1 && echo docker || echo native)
COMPOSE  := docker compose --env-file .env --env-file .env.secrets -f docker-compose.yml -f docker-compose.monitoring.yml
NATIVE   := python3 -m tools.runner

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# --- the stack -------------------------------------------------------------------------
.PHONY: secrets
secrets: ## generate missing local secrets into .env.secrets (git-ignored)
	@scripts/secrets.sh

.PHONY: up
up: secrets ## start app + monitoring stack and wait until healthy, then print URLs
ifeq ($(ENGINE),docker)
	$(COMPOSE) up -d --build --wait
else
	@echo "No Docker engine here: starting the same compose files natively (tools/runner)."
	$(MAKE) --no-print-directory venv tools
	$(NATIVE) up
	$(PY) scripts/silence-not-run.py
endif
	@scripts/urls.sh

.PHONY: down
down: ## stop the stack (volumes are kept under Docker)
ifeq ($(ENGINE),docker)
	$(COMPOSE) --profile promtail --profile loadtest down
else
	$(NATIVE) down
endif

.PHONY: up-promtail
up-promtail: secrets ## like up, with legacy Promtail shipping the app's log file instead of Alloy
ifeq ($(ENGINE),docker)
	ALLOY_APP_LOG_GLOB=/var/log/app/.owned-by-promtail $(COMPOSE) --profile promtail up -d --build --wait
else
	ALLOY_APP_LOG_GLOB=/var/log/app/.owned-by-promtail $(NATIVE) up --profile promtail
	$(PY) scripts/silence-not-run.py
endif

.PHONY: ps logs
ps: ## list the stack's services
ifeq ($(ENGINE),docker)
	$(COMPOSE) ps
else
	$(NATIVE) ps
endif
logs: ## follow the logs (S=service to pick one)
ifeq ($(ENGINE),docker)
	$(COMPOSE) logs -f --tail=100 $(S)
else
	$(NATIVE) logs $(S)
endif

.PHONY: verify
verify: secrets ## signal-flow doctor against the running stack
	$(PY) -m e2e.verify

.PHONY: clean
clean: ## stop everything and delete volumes, reports and caches in the repo
ifeq ($(ENGINE),docker)
	-$(COMPOSE) --profile promtail --profile loadtest down -v --remove-orphans
else
	-$(NATIVE) down
endif
	rm -rf loadtest/reports .pytest_cache

# --- the app natively ------------------------------------------------------------------
.PHONY: venv run
venv: .venv/.synced ## create the project venv (uv, locked)
.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null || python3 -m pip install -q uv
	UV_PYTHON_DOWNLOADS=never uv sync --frozen --all-groups --python 3.11
	@touch $@

run: venv ## run the app natively against local Postgres/Redis (scripts/dev-services.sh)
	scripts/dev-services.sh start
	.venv/bin/alembic upgrade head
	.venv/bin/uvicorn app.main:app --host 127.0.0.1 --port 8000 --no-access-log

# --- tests -----------------------------------------------------------------------------
.PHONY: test test-app test-rules check test-stack test-runner e2e bench loadtest tools
test: check test-rules test-stack test-app test-runner ## every test that needs no running stack

test-app: venv ## app tests against real Postgres and Redis
	scripts/test-app.sh

test-rules: ## promtool rule tests, amtool config + routing tests, alert sink test
	scripts/test-rules.sh

test-stack: venv ## dashboard lint and provisioning checks
	$(PY) -m pytest -q tests/stack

check: ## every config through its own validator at the pinned version
	scripts/check-configs.sh

e2e: venv tools secrets ## start the stack natively, prove the signals flow, tear down
	scripts/e2e.sh

bench: venv ## overhead benchmark: instrumentation on vs off (wrk, one worker)
	scripts/bench.sh

loadtest: venv secrets ## Locust against the running stack; stages fire named alerts
	scripts/loadtest.sh

tools: ## build/install the native programs at the pinned versions (cached outside the repo)
	tools/install-debian.sh
	tools/build.sh

test-runner: venv ## the native compose runner against a small real compose project (root)
	$(PY) -m pytest -q tests/runner

.PHONY: locust-ui
locust-ui: venv secrets ## Locust web UI on http://localhost:8089 (same stages when you press Start)
ifeq ($(ENGINE),docker)
	$(COMPOSE) --profile loadtest up -d locust
else
	set -a; . ./.env.secrets; set +a; .venv/bin/locust -f loadtest/locustfile.py --host http://127.0.0.1:8000 --web-host 127.0.0.1
endif
