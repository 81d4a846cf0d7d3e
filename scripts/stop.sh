#!/usr/bin/env bash
# Stop the private services started by bootstrap.sh / run.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
VAR=${CARTOPARTY_VAR_DIR:-$(pwd)/var}
[[ -f $VAR/run/celery.pid ]] && kill "$(cat "$VAR/run/celery.pid")" 2>/dev/null
# Only the Redis bootstrap.sh started for this checkout (its pid file): never another checkout's, nor a
# shared one that CELERY_BROKER_URL pointed to.
[[ -f $VAR/run/redis.pid ]] && kill "$(cat "$VAR/run/redis.pid")" 2>/dev/null
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
[[ -f $VAR/pgdata/PG_VERSION ]] || exit 0  # DATABASE_URL pointed elsewhere: no private cluster
if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$PGBIN/pg_ctl" -D "$VAR/pgdata" -m fast stop
else "$PGBIN/pg_ctl" -D "$VAR/pgdata" -m fast stop; fi
