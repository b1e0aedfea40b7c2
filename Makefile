# FastAPI observability reference stack: every command a user or CI runs, in one place.
# `make up` runs the stack under Docker Compose, or, where no Docker engine answers,
# with the native runner (tools/runner): the same compose files, native programs, the
# same verbs (up, down, ps, logs), so the stack targets below do not care which.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY       ?= .venv/bin/python
ENGINE   := $(shell docker info >/dev/null 2>&1 && echo docker || echo native)
ifeq ($(ENGINE),docker)
STACK    := docker compose --env-file .env --env-file .env.secrets -f docker-compose.yml -f docker-compose.monitoring.yml
NEEDS    :=
AFTER_UP :=
else
# The runner takes compose's own verbs and flags (tools/README.md), so every target below
# passes the same arguments to either engine.
STACK    := python3 -m tools.runner
NEEDS    := venv tools
# Natively Loki, Tempo and Grafana do not start: silence the alerts about them, saying why.
AFTER_UP := $(PY) scripts/silence-not-run.py
endif
# `make up REPLICAS=3`: that many app replicas behind the load balancer (compose reads
# APP_REPLICAS for the app's deploy.replicas; default 1).
ifdef REPLICAS
export APP_REPLICAS := $(REPLICAS)
endif
UP_FLAGS     := -d --build --wait
LOGS_FLAGS   := -f --tail=100
ALL_PROFILES := --profile promtail --profile loadtest
DOWN_CLEAN   := -v --remove-orphans
up_with = $(STACK) $(addprefix --profile ,$(1)) up $(UP_FLAGS)

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# --- the stack -------------------------------------------------------------------------
.PHONY: secrets
secrets: ## generate missing local secrets into .env.secrets (git-ignored)
	@scripts/secrets.sh

.PHONY: up
up: secrets $(NEEDS) ## start app + monitoring stack and wait until healthy, then print URLs
	@echo "Starting the stack ($(ENGINE)): $(STACK)"
	$(call up_with,)
	$(AFTER_UP)
	@scripts/urls.sh

.PHONY: down
down: ## stop the stack; volumes are kept (make clean deletes them)
	$(STACK) $(ALL_PROFILES) down

.PHONY: up-promtail
up-promtail: export ALLOY_APP_LOG_GLOB := /var/log/app/.owned-by-promtail
up-promtail: secrets $(NEEDS) ## like up, with legacy Promtail shipping the app's log file instead of Alloy
	$(call up_with,promtail)
	$(AFTER_UP)
	@scripts/urls.sh

.PHONY: ps logs
ps: ## list the stack's services
	$(STACK) ps
logs: ## follow the logs (S=service to pick one)
	$(STACK) logs $(LOGS_FLAGS) $(S)

.PHONY: verify
verify: secrets ## signal-flow doctor against the running stack (scripts/verify.py)
	$(PY) -m scripts.verify

.PHONY: clean
clean: ## stop everything and delete volumes, reports and caches in the repo
	-$(STACK) $(ALL_PROFILES) down $(DOWN_CLEAN)
	rm -rf loadtest/reports .pytest_cache .mypy_cache

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
	$(PY) -m app

# --- tests -----------------------------------------------------------------------------
.PHONY: test lint test-kit test-app fuzz test-rules check test-configs test-runner k8s-check e2e bench bench-stack soak loadtest tools
test: lint check test-rules test-configs test-kit test-app test-runner k8s-check fuzz ## lint + every test that needs no running stack

lint: venv ## ruff check + format check, shellcheck (warnings), mypy --strict on the kit and the runner
	scripts/lint.sh

test-kit: venv ## the observability kit's own tests (no services needed)
	$(PY) -m pytest -q tests/kit

test-app: venv ## app tests against real Postgres and Redis
	scripts/test-app.sh

fuzz: venv ## schemathesis against the real app (all checks, fixed seed, ~3 min); fails on any failure
	scripts/fuzz.sh

test-rules: ## promtool rule tests, amtool config + routing tests, alert sink test
	scripts/test-rules.sh

test-configs: venv ## compose, backend configs, dashboards, provisioning, the Alloy pipeline
	$(PY) -m pytest -q tests/configs

check: ## every config through its own validator at the pinned version
	scripts/check-configs.sh

.PHONY: versions
versions: ## every pinned version, where it is pinned, and what the native proof covers
	python3 scripts/versions.py

e2e: venv tools secrets ## start the stack natively, prove the signals flow, tear down
	scripts/e2e.sh

bench: venv ## overhead benchmark: instrumentation on vs off (wrk, one worker)
	scripts/bench.sh
bench-stack: venv ## CPU s per 1,000 requests and RSS of Alloy, exporters, Prometheus (stack up natively)
	$(PY) bench/stack_cost.py

soak: venv ## steady mixed load on one app process: RSS/series over time, RSS slope (SOAK_SECONDS=1800)
	scripts/soak.sh

loadtest: venv secrets ## Locust against the running stack; stages fire named alerts
	scripts/loadtest.sh

tools: ## build/install the native programs and their web UIs at the pinned versions (cached outside the repo)
	tools/install-debian.sh
	tools/build.sh
	tools/build-ui.sh

test-runner: venv ## the native compose runner against a small real compose project (root)
	$(PY) -m pytest -q tests/runner

.PHONY: k8s-check
k8s-check: venv ## deploy/kubernetes offline: Kubernetes + CRD schemas, promtool, parity with compose
	$(PY) -m pytest -q -rs tests/configs/test_kubernetes.py
	@if [ -n "$${CHART_SOURCES:-}" ]; then $(PY) deploy/kubernetes/helm/check_chart_keys.py; else \
	  echo "NOT RUN: Helm values keys against the charts' values.yaml (needs chart sources in CHART_SOURCES, see deploy/kubernetes/helm/check_chart_keys.py)"; fi

.PHONY: alloy-convert
alloy-convert: ## Promtail -> Alloy: convert promtail/promtail.yml into converted.alloy (the pinned alloy)
	alloy=$$(tools/which.sh alloy) && "$$alloy" convert --source-format=promtail --output=converted.alloy promtail/promtail.yml
	@echo "wrote converted.alloy: compare it with alloy/config.alloy"

.PHONY: locust-ui
locust-ui: venv secrets ## Locust web UI on http://localhost:8089 (same stages when you press Start)
ifeq ($(ENGINE),docker)
	$(STACK) --profile loadtest up -d locust
else
	set -a; . ./.env.secrets; set +a; .venv/bin/locust -f loadtest/locustfile.py --host http://127.0.0.1:8000 --web-host 127.0.0.1
endif
