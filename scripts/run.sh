#!/usr/bin/env bash
# `make run`: set up, load the demo town, start a Celery worker and serve on http://127.0.0.1:8000.
#   HOST=0.0.0.0   serve the local network (an event on a laptop); the links follow the LAN address.
#   HTTPS=1        Caddy with its local CA in front, on HTTPS_PORT (8443), for phones' GPS and offline
#                  mode; implies HOST=0.0.0.0. PORT stays the development server's (on 127.0.0.1).
# Docs: README.md, docs/deploy.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_DEBUG=${DJANGO_DEBUG:-1}
# Links the app prints (the demo agent's sign-in URL, QR codes, printed maps) follow HOST, PORT, HTTPS.
source scripts/lan.sh
lan_setup
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
if [[ $HTTPS == 1 ]]; then
  caddy_start
  trap 'kill "$CADDY_PID" 2>/dev/null' EXIT
  caddy_explain
  echo "==> Serving Cartoparty on ${CARTOPARTY_PUBLIC_URL} (Ctrl-C to stop)"
  .venv/bin/python manage.py runserver "127.0.0.1:$PORT"
else
  echo "==> Serving Cartoparty on http://$HOST:$PORT (Ctrl-C to stop)"
  exec .venv/bin/python manage.py runserver "$HOST:$PORT"
fi
