# sandpod — the one entry point. `make` (or `make help`) lists every target.
# A check is defined once, here; pre-commit hooks and CI jobs call these targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BACKEND := $(ROOT)/backend
FRONTEND := $(ROOT)/frontend
SDK := $(ROOT)/clients/python

# uv must never download a Python: use the machine's 3.12 (pyenv's when present).
export UV_PYTHON_DOWNLOADS := never
UV_PYTHON ?= $(or $(lastword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12)),python3.12)
export UV_PYTHON
# `install` syncs the venv once per change of the lock (a stamp), so each check runs just its tool.
UV_RUN := cd $(BACKEND) && uv run --frozen --no-sync
PYTEST_WORKERS ?= auto

# Paths each check covers (relative to backend/).
PY_PATHS := sandpod tests $(addprefix ../,$(wildcard bench scripts))

.PHONY: help
help: ## Show this help
	@printf "sandpod — make targets\n\n"
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

# ---------------------------------------------------------------- guards
.PHONY: .uv
.uv: ## (guard) Install uv (the version in backend/requirements-uv.txt) from PyPI when it is missing
	@command -v uv >/dev/null 2>&1 || { echo "uv not found: installing it from PyPI"; python3 -m pip install --quiet -r $(BACKEND)/requirements-uv.txt; }

define require
	@command -v $(1) >/dev/null 2>&1 || { echo "$(1) is not installed: $(2)"; exit 1; }
endef

# ---------------------------------------------------------------- setup
.PHONY: setup install
SYNCED := $(BACKEND)/.venv/.synced
install: $(SYNCED) ## Install the backend and every dependency group from uv.lock (again only when it changes)

$(SYNCED): $(BACKEND)/uv.lock $(BACKEND)/pyproject.toml | .uv
	@cd $(BACKEND) && uv sync --frozen --all-groups --quiet
	@touch $@

setup: install web-build ## Install dependencies (uv.lock, package-lock.json), build the web page, install the git hooks
	@$(UV_RUN) pre-commit install --install-hooks

# ---------------------------------------------------------------- checks
.PHONY: format lint typecheck security imports check hooks
format: install sdk-install ## Format and auto-fix the code (ruff, the SDK's too; web-format for the page)
	@$(UV_RUN) ruff format $(PY_PATHS)
	@$(UV_RUN) ruff check --fix $(PY_PATHS)
	@$(SDK_RUN) ruff format .
	@$(SDK_RUN) ruff check --fix .

lint: install web-lint sdk-lint ## Lint: ruff check and ruff format --check; eslint and prettier --check (web-lint); the SDK (sdk-lint)
	@$(UV_RUN) ruff check $(PY_PATHS)
	@$(UV_RUN) ruff format --check $(PY_PATHS)

typecheck: install web-typecheck sdk-typecheck ## Type-check with mypy --strict; svelte-check (web-typecheck); the SDK (sdk-typecheck)
	@$(UV_RUN) mypy

security: install ## Security lint with bandit (medium severity and up)
	@$(UV_RUN) bandit -c pyproject.toml -r sandpod -ll -q

imports: install ## Check the import rules: layers, services never import adapters (import-linter)
	@$(UV_RUN) lint-imports --no-cache

check: lint typecheck security imports ## lint + typecheck + security + imports

hooks: install ## Run every pre-commit hook over all files
	@$(UV_RUN) pre-commit run --all-files --show-diff-on-failure

# ---------------------------------------------------------------- tests
.PHONY: test test-ci test-unit test-local test-cluster-down all-green
test-unit: install web-test-unit ## Unit tests (no I/O): pytest, and vitest (web-test-unit)
	@$(UV_RUN) pytest tests/unit -n $(PYTEST_WORKERS) -q

test-local: install web-build toolchains ## Every test suite that runs on this machine, with coverage (KUBECONFIG: the local cluster's; browser tests included)
	@export KUBECONFIG="$${KUBECONFIG:-$$($(ROOT)/scripts/cluster/cluster.sh kubeconfig)}"; $(UV_RUN) pytest tests --ignore=tests/teardown -n $(PYTEST_WORKERS) --cov --cov-report=term --cov-report=xml:../artifacts/coverage.xml -q

test-cluster-down: install ## Stop the local cluster and check nothing is left (process, mount, link, pod cgroup)
	@$(UV_RUN) pytest tests/teardown -q

# What `make test` runs after the checks; CI's test job runs just these (test-ci), since its lint,
# typecheck, security and imports jobs run the checks once already.
TEST_SUITES := services-up cluster-images web-test-unit sdk-test test-local test-cluster-down

test: check $(TEST_SUITES) ## The README's test command: checks + every suite that can run here, the local cluster's included

test-ci: $(TEST_SUITES) ## `make test` without the checks (CI runs each check in its own job)

all-green: ## (CI) Fail unless every job in RESULTS (the needed jobs' results) succeeded
	@[[ -n "$(strip $(RESULTS))" ]] || { echo "RESULTS is empty: no job results to check"; exit 1; }
	@for result in $(RESULTS); do \
		[[ $$result == success ]] || { echo "a required job ended '$$result' ($(RESULTS))"; exit 1; }; \
	done; echo "every required job succeeded"

# ---------------------------------------------------------------- run
.PHONY: run openapi system-deps toolchains
HOST ?= 127.0.0.1
PORT ?= 8000

system-deps: ## Install the Debian packages sandpod needs (bubblewrap, redis-server) if missing
	@$(ROOT)/scripts/install-system-deps.sh

run: system-deps install web-build toolchains ## Start the embedded server on 127.0.0.1:8000 (HOST, PORT to change)
	@$(UV_RUN) sandpod run --host $(HOST) --port $(PORT)

toolchains: system-deps install ## Prepare what catalogue runtimes need besides the host's compilers (Go std cache, tsc, python:3.12-data packages), once
	@$(UV_RUN) python ../scripts/build_toolchains.py

OPENAPI_FILE := $(ROOT)/docs/reference/openapi.json
OPENAPI_URL ?=
OPENAPI_TIMEOUT ?= 15

openapi: install ## Write docs/reference/openapi.json from the app factory (no network), or from OPENAPI_URL
	@mkdir -p $(dir $(OPENAPI_FILE))
ifeq ($(strip $(OPENAPI_URL)),)
	@$(UV_RUN) sandpod openapi --output $(OPENAPI_FILE)
	@echo "wrote docs/reference/openapi.json (from the app factory)"
	@$(MAKE) web-openapi
else
	$(call require,curl,install it with: apt-get install curl)
	@tmp=$$(mktemp); trap 'rm -f "$$tmp" "$$tmp.json"' EXIT; \
	err=$$(curl -fsSL --connect-timeout 5 --max-time $(OPENAPI_TIMEOUT) -o "$$tmp" '$(OPENAPI_URL)' 2>&1) || { \
		if [[ $$? -eq 22 ]]; then echo "$(OPENAPI_URL) answered with an error: $${err#curl: }" >&2; \
		else echo "no answer from $(OPENAPI_URL): $${err#curl: }" >&2; fi; exit 1; }; \
	{ $(UV_RUN) python -m json.tool --indent 2 "$$tmp" "$$tmp.json" 2>/dev/null && grep -q '^  "openapi": ' "$$tmp.json"; } \
		|| { echo "$(OPENAPI_URL) answered, but not with an OpenAPI JSON document" >&2; exit 1; }; \
	mv "$$tmp.json" $(OPENAPI_FILE)
	@echo "wrote docs/reference/openapi.json (from $(OPENAPI_URL))"
	@$(MAKE) web-openapi
endif

# ---------------------------------------------------------------- web page (frontend/)
# Svelte + TypeScript + Vite; packages pinned by frontend/package-lock.json (npm ci). The build
# lands in backend/sandpod/web/static, which the API serves at / and the backend image carries.
.PHONY: .node web-install web-build web-openapi web-lint web-format web-typecheck web-test-unit web-bundle-size
NPM := cd $(FRONTEND) && npm
WEB_STATIC := $(BACKEND)/sandpod/web/static
WEB_STAMP := $(FRONTEND)/node_modules/.package-lock.json
WEB_SOURCES := $(shell find $(FRONTEND)/src $(FRONTEND)/public -type f 2>/dev/null) \
	$(addprefix $(FRONTEND)/,index.html vite.config.ts svelte.config.js tsconfig.json package-lock.json)

.node:
	$(call require,node,install Node.js 20.19 or newer with npm (Debian: apt-get install nodejs npm; or https://nodejs.org))
	$(call require,npm,install npm (Debian: apt-get install npm))

$(WEB_STAMP): $(FRONTEND)/package-lock.json
	@$(NPM) ci --no-audit --no-fund --loglevel=error

web-install: .node $(WEB_STAMP) ## Install the web page's npm packages from package-lock.json (npm ci), when changed

$(WEB_STATIC)/index.html: $(WEB_SOURCES) $(WEB_STAMP)
	@$(NPM) run --silent build -- --logLevel warn
	@echo "built the web page into backend/sandpod/web/static"

web-build: web-install $(WEB_STATIC)/index.html ## Build the web page into the backend's package (when missing or stale)

web-openapi: web-install ## Regenerate the page's typed API client (frontend/src/lib/api/schema.d.ts) from the spec
	@$(NPM) run --silent openapi

web-lint: web-install ## Lint the web page: eslint and prettier --check
	@$(NPM) run --silent lint

web-format: web-install ## Format the web page (prettier --write, eslint --fix)
	@$(NPM) run --silent format

web-typecheck: web-install ## Type-check the web page (svelte-check, TypeScript strict)
	@$(NPM) run --silent typecheck

web-test-unit: web-install ## The web page's unit tests (vitest), with the API types drift check
	@$(NPM) run --silent test

web-bundle-size: web-build ## What a first visit downloads, gzipped (fails over the 250 KB target)
	@node $(FRONTEND)/scripts/bundle-size.mjs

# ---------------------------------------------------------------- Python SDK (clients/python/)
# Its own package and lock (clients/python/uv.lock, httpx + pydantic); its tools are locked there
# too. Its live tests start the embedded server from the backend's venv (make install).
.PHONY: sdk-install sdk-lint sdk-typecheck sdk-test
SDK_RUN := cd $(SDK) && uv run --frozen --no-sync
SDK_SYNCED := $(SDK)/.venv/.synced

$(SDK_SYNCED): $(SDK)/uv.lock $(SDK)/pyproject.toml | .uv
	@cd $(SDK) && uv sync --frozen --quiet
	@touch $@

sdk-install: $(SDK_SYNCED) ## Install the Python SDK and its tools from clients/python/uv.lock (again only when it changes)

sdk-lint: sdk-install ## Lint the Python SDK: ruff check and ruff format --check
	@$(SDK_RUN) ruff check .
	@$(SDK_RUN) ruff format --check .

sdk-typecheck: sdk-install ## Type-check the Python SDK and its tests with mypy --strict
	@$(SDK_RUN) mypy

sdk-test: install sdk-install ## The Python SDK's tests: unit, spec drift, and live ones against an embedded server (docs/sdk.md examples too)
	@$(SDK_RUN) pytest -q

# ---------------------------------------------------------------- local services
.PHONY: services-up services-down services-status
services-up: ## Install (first time) and start Redis, Kafka, FerretDB and Schema Registry on 127.0.0.1
	@$(ROOT)/scripts/services/services.sh up

services-down: ## Stop the local services
	@$(ROOT)/scripts/services/services.sh down

services-status: ## Show whether each local service is ready (exit 1 if one is not)
	@$(ROOT)/scripts/services/services.sh status

# ---------------------------------------------------------------- benchmarks
.PHONY: bench bench-cold bench-distributed bench-k8s
BENCH_K8S_RUNS ?= 10
BENCH_RUNS ?= 30

bench: system-deps install ## Benchmarks: sandbox start, API latency p50/p99, throughput, idle RSS (ratios to baselines); web page size
	@$(UV_RUN) python ../bench/bench.py --runs $(BENCH_RUNS)
	@$(MAKE) web-bundle-size

bench-cold: system-deps install ## The local runner's cold path step by step (C and Python hello-world) beside the bare program
	@$(UV_RUN) python ../bench/bench_cold.py --runs $(BENCH_RUNS)

bench-distributed: system-deps install services-up ## `bench` plus distributed mode against the local services
	@$(UV_RUN) python ../bench/bench.py --runs $(BENCH_RUNS) --distributed

bench-k8s: system-deps install cluster-images ## Pods vs the local runner: pod create-to-result p50/p99 and throughput, same run
	@export KUBECONFIG="$${KUBECONFIG:-$$($(ROOT)/scripts/cluster/cluster.sh kubeconfig)}"; $(UV_RUN) python ../bench/bench_k8s.py --runs $(BENCH_K8S_RUNS)

# ---------------------------------------------------------------- soak and write profile (private services)
# Both read server-wide counters or restart the servers, so they use a private set of services (own
# data directory and ports), never the shared one SANDPOD_SERVICES_DIR may point at.
.PHONY: soak-services-up soak-services-down bench-profile soak soak-short
SOAK_SERVICES_DIR ?= $(ROOT)/.soak-services
SOAK_MONGO_DEBUG_PORT ?= 28088
SOAK_SERVICES_ENV := SANDPOD_SERVICES_DIR=$(SOAK_SERVICES_DIR) SANDPOD_REDIS_PORT=26379 \
	SANDPOD_KAFKA_PORT=29092 SANDPOD_KAFKA_CONTROLLER_PORT=29093 SANDPOD_MONGO_PORT=27028 \
	SANDPOD_MONGO_DEBUG_PORT=$(SOAK_MONGO_DEBUG_PORT) SANDPOD_SCHEMA_REGISTRY_PORT=28081 \
	SANDPOD_SCHEMA_REGISTRY_MANAGEMENT_PORT=28082
SOAK_ENV := export $(SOAK_SERVICES_ENV); eval "$$($(ROOT)/scripts/services/services.sh env)"
SOAK_EXECUTIONS ?= 10000
SOAK_SECONDS ?= 600
PROFILE_EXECUTIONS ?= 200

soak-services-up: ## Start the private services of the soak and the profile (.soak-services/, ports 26379, 29092, 27028, 28081)
	@$(SOAK_ENV); $(ROOT)/scripts/services/services.sh up

soak-services-down: ## Stop the private soak services (never the shared ones)
	@$(SOAK_ENV); $(ROOT)/scripts/services/services.sh down

bench-profile: system-deps install soak-services-up ## Per distributed execution: MongoDB commands, Kafka records and commits, Redis calls, CPU per process
	@$(SOAK_ENV); $(UV_RUN) python ../bench/profile_distributed.py --executions $(PROFILE_EXECUTIONS) \
		--mongo-metrics http://127.0.0.1:$(SOAK_MONGO_DEBUG_PORT)/debug/metrics

soak: system-deps install soak-services-up ## Soak: 10,000 distributed executions over ~10 min under chaos (kills, Kafka/Redis/FerretDB restarts); artifacts/soak/
	@$(SOAK_ENV); $(UV_RUN) python ../bench/soak.py --executions $(SOAK_EXECUTIONS) \
		--duration $(SOAK_SECONDS) --services-dir $(SOAK_SERVICES_DIR)

soak-short: system-deps install services-up ## The soak in short alone (also part of make test): 500 executions, processes killed at random, shared services kept
	@$(UV_RUN) pytest tests/e2e/test_soak_short.py -q -n 0

# ---------------------------------------------------------------- docs
.PHONY: docs docs-serve docs-config docs-runtimes
DOCS_ADDR ?= 127.0.0.1:8001

docs: install ## Build the documentation site into site/ (mkdocs --strict, from the committed files)
	@$(UV_RUN) mkdocs build --strict --clean --config-file $(ROOT)/mkdocs.yml

docs-serve: install ## Serve the docs with live reload on 127.0.0.1:8001 (DOCS_ADDR to change)
	@$(UV_RUN) mkdocs serve --strict --livereload --config-file $(ROOT)/mkdocs.yml --dev-addr $(DOCS_ADDR)

docs-config: install ## Regenerate docs/reference/configuration.md from the Settings class
	@$(UV_RUN) python ../scripts/gen_config_docs.py

docs-runtimes: install ## Regenerate docs/reference/runtimes.md from the runtime catalogue
	@$(UV_RUN) python ../scripts/gen_runtime_docs.py

# ---------------------------------------------------------------- images, compose stack, integration flow
# Images: `docker buildx bake` (docker-bake.hcl). Stack: docker-compose.yaml, run with the compose
# v2 CLI locked in backend/uv.lock. Executions: k3s. Pinned Go tools (yq, actionlint): .cache/bin.
# A target whose tool is missing stops at once with one line naming what to install.
.PHONY: tools validate prepull docker-build docker-scan docker-smoke compose-ci up down logs
.PHONY: k3s-install k3s-up k3s-import k3s-down test-integration .need-docker .need-buildx .need-k3s
SANDPOD_TAG ?= dev
export SANDPOD_TAG
STACK_FILE ?= $(ROOT)/docker-compose.yaml
STACK_WAIT ?= 300
COMPOSE = $(BACKEND)/.venv/bin/docker-compose --project-directory $(ROOT) -f $(STACK_FILE)
IMAGES = sandpod/base:$(SANDPOD_TAG) sandpod/backend:$(SANDPOD_TAG) sandpod/cert-generator:$(SANDPOD_TAG)
BAKE_FLAGS ?=

.need-docker:
	$(call require,docker,install Docker Engine (https://docs.docker.com/engine/install/; Debian: apt-get install docker.io))

.need-buildx: .need-docker
	@docker buildx version >/dev/null 2>&1 || { echo "docker buildx is not installed: install the Docker Buildx plugin (docker-buildx-plugin, or scripts/install-tools.sh buildx)"; exit 1; }

.need-k3s:
	$(call require,k3s,install k3s (https://k3s.io; on a CI runner: make k3s-install))

tools: ## Install the pinned Go tools (mikefarah yq, actionlint) into .cache/bin
	@$(ROOT)/scripts/install-tools.sh yq actionlint

validate: install tools ## Pipeline checks with no Docker: workflows, Dockerfiles, compose files, Trivy config scan
	@$(UV_RUN) pytest tests/tooling/test_pipeline_files.py tests/tooling/test_compose_ci.py -q

prepull: .need-docker install ## Pull the stack's third-party images and the build bases, in parallel
	@{ $(COMPOSE) config --images; printf 'python:%s-slim\n' $(RUNTIME_PYTHON_VERSIONS); echo debian:bookworm-slim; } \
		| grep -v '^sandpod/' | sort -u | xargs -P 4 -n 1 docker pull --quiet

docker-build: .need-buildx web-build ## Build the base, backend (with the web page) and cert-generator images (docker buildx bake --load; on the local engine with local bases, no registry: scripts/bake.sh)
	@cd $(ROOT) && docker buildx bake --file docker-bake.hcl --print >/dev/null  # the HCL parses
	@$(ROOT)/scripts/bake.sh $(BAKE_FLAGS)

docker-scan: .need-docker install ## Trivy on each image: CRITICAL or HIGH findings with a fix fail
	@status=0; for image in $(IMAGES); do \
		echo "trivy image $$image"; \
		$(UV_RUN) trivy image --severity CRITICAL,HIGH --ignore-unfixed --exit-code 1 --no-progress $$image || status=1; \
	done; exit $$status

docker-smoke: .need-docker web-build ## Build base + backend from a locally made Python image, wait for the HEALTHCHECK (root; no registry needed)
	@$(ROOT)/scripts/docker_smoke.sh

compose-ci: ## Write docker-compose.ci.yaml (yq: SASL off, no host data mounts, test credentials, no telemetry)
	@$(ROOT)/scripts/compose_ci.sh

up: .need-docker install k3s-up docker-build runtime-images k3s-import ## Build the images and start the whole stack, waiting until it is healthy
	@$(COMPOSE) up --detach --wait --wait-timeout $(STACK_WAIT)

down: .need-docker install ## Stop the stack (VOLUMES=1 also deletes its volumes)
	@$(COMPOSE) down --remove-orphans $(if $(VOLUMES),--volumes)

logs: .need-docker install ## Follow the stack's logs (SERVICE=name for one)
	@$(COMPOSE) logs --follow --tail 200 $(SERVICE)

k3s-install: ## Install k3s with its official installer (CI runners; needs the k3s downloads)
	@$(ROOT)/scripts/k3s.sh install

k3s-up: .need-k3s ## Start k3s if needed, wait for a Ready node, write .k3s/kubeconfig.yaml
	@$(ROOT)/scripts/k3s.sh up

k3s-import: .need-docker .need-k3s ## Copy the runtime images (make runtime-images) into k3s for the executor pods
	@$(ROOT)/scripts/k3s.sh import $(addprefix sandpod-runtime-python:,$(RUNTIME_PYTHON_VERSIONS))

k3s-down: ## Stop a k3s that k3s-up started
	@$(ROOT)/scripts/k3s.sh down

test-integration: .need-buildx .need-k3s install ## Full stack: k3s, CI compose file, images, stack healthy, pytest; logs to artifacts/
	@$(MAKE) k3s-up compose-ci docker-build runtime-images k3s-import
	@$(ROOT)/scripts/test_integration.sh

# ---------------------------------------------------------------- kubernetes (runner: runtime images, manifests)
# One runtime image per Python in the runtime catalogue (sandpod-runtime-python:<version>), built from
# runtimes/python/Dockerfile; the context is the kubernetes adapter folder (only entrypoint.py is
# copied). Import them into k3s for the pods, e.g. `docker save IMAGE | k3s ctr images import -`.
# Where python:<version>-slim cannot be pulled: RUNTIME_BASE=my/python:{version}-local (the
# "{version}" is replaced by each version).
.PHONY: runtime-images k8s-validate
RUNTIME_PYTHON_VERSIONS ?= 3.11 3.12 3.13
RUNTIME_BASE ?=
# Runtimes whose toolchain comes from Debian bookworm's packages (runtimes/<name>/Dockerfile).
RUNTIME_LOCAL ?= bash c ruby node typescript go java java-25 rust python-data

runtime-images: ## Build the Kubernetes runner's runtime images on local bases (no registry): Python per version, and RUNTIME_LOCAL (every other runtime folder)
	@RUNTIME_PYTHON_VERSIONS="$(RUNTIME_PYTHON_VERSIONS)" $(ROOT)/scripts/images.sh runtimes
	@$(ROOT)/scripts/images.sh runtime $(RUNTIME_LOCAL)

k8s-validate: install ## Validate deploy/*.yaml and the generated pod/ConfigMap/NetworkPolicy offline (strict schemas)
	@$(UV_RUN) kubernetes-validate --strict --quiet $(ROOT)/deploy/*.yaml
	@$(UV_RUN) pytest tests/integration/test_k8s_manifests_validate.py -q

# ---------------------------------------------------------------- local Kubernetes cluster
# k3s where it is installed; otherwise a single node built from the Kubernetes Go module (cached in
# ~/.cache/sandpod) on Debian's etcd, containerd and CNI plugins, all on 127.0.0.1 (scripts/cluster/).
.PHONY: cluster-deps cluster-up cluster-down cluster-kubeconfig cluster-status cluster-images cluster-clean
CLUSTER := $(ROOT)/scripts/cluster/cluster.sh
CLUSTER_TEST_PYTHONS ?= 3.11 3.12 3.13
CLUSTER_TEST_RUNTIMES ?= c bash ruby node typescript go java java-25 rust python-data
# classic: the engine's classic builder (scripts/images.sh); bake: docker buildx bake of the same
# Dockerfiles (scripts/bake.sh; needs `scripts/install-tools.sh buildx`). make test keeps classic:
# on a fresh machine bake adds ~6 min (building buildx, slower cold builds).
CLUSTER_IMAGES_BUILDER ?= classic

cluster-deps: ## Install the local cluster's Debian packages (etcd, containerd, runc, CNI plugins, docker.io, debootstrap)
	@$(ROOT)/scripts/install-system-deps.sh --cluster

cluster-up: cluster-deps ## Start the local Kubernetes cluster (builds it the first time, ~15 min) and wait for a Ready node
	@$(CLUSTER) up

cluster-down: ## Stop the local cluster: no process, mount, link or namespace is left (state kept)
	@$(CLUSTER) down

cluster-kubeconfig: ## Print the local cluster's admin kubeconfig path (make -s cluster-kubeconfig)
	@$(CLUSTER) kubeconfig

cluster-status: ## Say whether the local cluster's API server is ready (exit 1 if not)
	@$(CLUSTER) status

cluster-images: cluster-up ## Build the runtime images the tests use and import them into the cluster (CLUSTER_IMAGES_BUILDER=classic|bake)
ifeq ($(CLUSTER_IMAGES_BUILDER),bake)
	@RUNTIME_PYTHON_VERSIONS="$(CLUSTER_TEST_PYTHONS)" $(ROOT)/scripts/bake.sh runtimes python $(CLUSTER_TEST_RUNTIMES)
else
	@RUNTIME_PYTHON_VERSIONS="$(CLUSTER_TEST_PYTHONS)" $(ROOT)/scripts/images.sh runtimes
	@$(ROOT)/scripts/images.sh runtime $(CLUSTER_TEST_RUNTIMES)
endif
	@$(CLUSTER) import $(addprefix sandpod-runtime-python:,$(CLUSTER_TEST_PYTHONS)) \
		$$($(ROOT)/scripts/images.sh tags $(CLUSTER_TEST_RUNTIMES))
	@$(ROOT)/scripts/images.sh engine-down

cluster-clean: ## Stop the local cluster and delete its state (etcd data, images, certificates)
	@$(CLUSTER) clean

# ---------------------------------------------------------------- housekeeping
.PHONY: clean
clean: ## Remove caches, build output and test artifacts
	@rm -rf artifacts site .pytest_cache .mypy_cache .ruff_cache $(WEB_STATIC)
	@find . -name __pycache__ -type d -prune -exec rm -rf {} +
	@cd $(BACKEND) && rm -rf .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.* coverage.xml
	@cd $(SDK) && rm -rf .pytest_cache .mypy_cache .ruff_cache
