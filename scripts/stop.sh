#!/usr/bin/env bash
# Stop the private services started by bootstrap.sh / run.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
VAR=${CARTOPARTY_VAR_DIR:-$(pwd)/var}
[[ -f $VAR/run/celery.pid ]] && kill "$(cat "$VAR/run/celery.pid")" 2>/dev/null
redis-cli -p 6390 shutdown nosave 2>/dev/null
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$PGBIN/pg_ctl" -D "$VAR/pgdata" -m fast stop
else "$PGBIN/pg_ctl" -D "$VAR/pgdata" -m fast stop; fi
