.DEFAULT_GOAL := help
PY := .venv/bin/python

help: ## Show this help
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: ## Install what is missing, start private PostGIS + Redis under var/, migrate
	bash scripts/bootstrap.sh

run: ## Set up, import the demo town, start a worker and serve on http://127.0.0.1:8000 (HOST=0.0.0.0: the LAN; HTTPS=1: Caddy, port 8443)
	bash scripts/run.sh

test: ## Set up, then lint and run the whole test suite (what CI runs)
	bash scripts/test.sh

test-e2e: ## Only the browser tests (Playwright + Debian chromium)
	bash scripts/test.sh tests/e2e

lint: ## ruff lint and format check, mypy type check (strict on the pure modules), the JS linter (ESLint)
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy && npm run --silent lint

fmt: ## Format the code
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

messages: ## Update the catalogues from the code and locale/fr_strings/*.json, then compile
	$(PY) scripts/translations.py

bench: ## Run every benchmark and print the comparison tables (long; `make bench-quick` for a short run)
	bash scripts/bootstrap.sh && $(PY) bench/run.py

bench-quick: ## Every benchmark in its short mode
	bash scripts/bootstrap.sh && $(PY) bench/run.py --quick

stop: ## Stop the private PostgreSQL, Redis and worker
	bash scripts/stop.sh

.PHONY: help setup run test test-e2e lint fmt messages bench bench-quick stop
