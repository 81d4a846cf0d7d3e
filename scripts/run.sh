#!/usr/bin/env bash
# `make run`: set up, load the demo town, start a Celery worker and serve on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_DEBUG=${DJANGO_DEBUG:-1}
# Links the app prints (the demo agent's sign-in URL, QR codes, printed maps) follow PORT.
export CARTOPARTY_PUBLIC_URL=${CARTOPARTY_PUBLIC_URL:-http://127.0.0.1:${PORT:-8000}}
bash scripts/bootstrap.sh
VAR=${CARTOPARTY_VAR_DIR:-$(pwd)/var}
.venv/bin/python manage.py setup_demo
if [[ -f $VAR/run/celery.pid ]] && kill -0 "$(cat "$VAR/run/celery.pid")" 2>/dev/null; then
  echo "==> Celery worker already running (pid $(cat "$VAR/run/celery.pid"))"
else
  echo "==> Starting the Celery worker (log: $VAR/log/celery.log)"
  .venv/bin/celery -A config worker --loglevel=INFO --concurrency=2 \
    --pidfile="$VAR/run/celery.pid" --logfile="$VAR/log/celery.log" --detach
fi
echo "==> Serving Cartoparty on http://127.0.0.1:${PORT:-8000} (Ctrl-C to stop)"
exec .venv/bin/python manage.py runserver 127.0.0.1:${PORT:-8000}
