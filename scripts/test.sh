#!/usr/bin/env bash
# `make test`: the same bootstrap as `make run` (which also compiles the catalogues), the linters
# (ruff, mypy, ESLint), the JS unit tests (Node's own runner), the migration check, then the whole
# Python suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy  # what and how strictly: [tool.mypy] in pyproject.toml
npm run --silent lint
npm test --silent
.venv/bin/python manage.py makemigrations --check --dry-run -v 0
# --create-db: one pass with real migrations, as CI does.
exec .venv/bin/pytest --create-db "$@"
