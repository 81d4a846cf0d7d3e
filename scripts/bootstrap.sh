#!/usr/bin/env bash
# Idempotent set-up shared by `make run` and `make test`:
#   1. Debian packages (installed when root, otherwise the exact apt-get line is printed);
#   2. the virtualenv in .venv (reinstalled only when pyproject.toml changes), and the JS linter in
#      node_modules (`npm ci`, again only when package-lock.json changes);
#   3. a private PostgreSQL + PostGIS cluster and a private Redis under var/ (unless DATABASE_URL /
#      CELERY_BROKER_URL point elsewhere); PostgreSQL runs as the `postgres` user when we are root;
#   4. database migrations;
#   5. the translation catalogues (.mo), compiled when a .po is newer: they are not committed, and
#      without them every page is in English whatever the browser asks for.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VAR=${CARTOPARTY_VAR_DIR:-$ROOT/var}
PG_PORT=5433
REDIS_PORT=6390

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# --- 1. Debian packages -------------------------------------------------------------------
PKGS=(postgresql-15 postgresql-15-postgis-3 gdal-bin libgdal32 libgeos-c1v5 libproj25 redis-server
      osmium-tool osm2pgsql osmosis josm chromium fonts-dejavu-core fonts-noto-core poppler-utils
      python3-venv make gettext libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
      libicu-dev pkg-config g++ wrk nodejs caddy)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# Debian's nodejs comes without npm (a package of its own); NodeSource's brings its own npm, and
# Debian's npm cannot be installed next to it.
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]]; then
    say "Installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    # Caddy is started by `make run HTTPS=1` and the HTTPS tests, in front of this app only: the
    # Debian package's own service (a default site on port 80) is not wanted on a developer machine.
    if [[ " ${missing[*]} " == *" caddy "* ]] && [[ -d /run/systemd/system ]]; then
      systemctl disable --now caddy >/dev/null 2>&1 || true
    fi
  else
    echo "Missing Debian packages. Run as root:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# --- 2. virtualenv --------------------------------------------------------------------------
PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  say "Creating virtualenv in .venv"
  "$PY" -m venv .venv
fi
stamp=".venv/.cartoparty-$(sha1sum pyproject.toml | cut -c1-12)"
if [[ ! -f $stamp ]]; then
  say "Installing Python dependencies"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  rm -f .venv/.cartoparty-*
  touch "$stamp"
fi
# The JS linter (ESLint, pinned in package-lock.json). The browser loads the modules as they are: no
# build step, so nothing from node_modules is ever served.
npm_stamp="node_modules/.cartoparty-$(sha1sum package-lock.json | cut -c1-12)"
if [[ ! -f $npm_stamp ]]; then
  say "Installing the JS linter (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$npm_stamp"
fi
# Bytecode for our own packages, even where PYTHONDONTWRITEBYTECODE is set: compiling them again at
# every start costs each command ~40 ms. Only changed files are compiled.
.venv/bin/python -m compileall -q config core mapping parties review exports >/dev/null

# --- 3. private PostgreSQL + PostGIS and Redis ----------------------------------------------
mkdir -p "$VAR"/{run,log,redis,media,tiles,exports,staticfiles}
chmod 755 "$VAR"
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [[ -z ${DATABASE_URL:-} ]]; then
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  PGDATA="$VAR/pgdata"
  if [[ $(id -u) == 0 ]]; then chown postgres "$VAR/run" "$VAR/log"; fi
  if [[ ! -f $PGDATA/PG_VERSION ]]; then
    say "Creating a private PostgreSQL cluster in $PGDATA"
    mkdir -p "$PGDATA"
    [[ $(id -u) == 0 ]] && chown postgres "$PGDATA"
    as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = ''  # socket only: several checkouts can run side by side
port = $PG_PORT
unix_socket_directories = '$VAR/run'
max_connections = 200
shared_buffers = 256MB
work_mem = 32MB
maintenance_work_mem = 256MB
max_wal_size = 2GB
shared_preload_libraries = 'postgis-3'  # loaded once, not by each new connection (~13 ms each)
CONF
  fi
  if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    say "Starting PostgreSQL on port $PG_PORT (socket in $VAR/run)"
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$VAR/log/postgres.log" -w -t 60 start >/dev/null
  fi
  psql_pg() { "$PGBIN/psql" -h "$VAR/run" -p $PG_PORT -U postgres -d postgres -qtAX "$@"; }
  if [[ $(psql_pg -c "select 1 from pg_roles where rolname='cartoparty'") != 1 ]]; then
    psql_pg -c "create role cartoparty login superuser"
  fi
  if [[ $(psql_pg -c "select 1 from pg_database where datname='cartoparty'") != 1 ]]; then
    psql_pg -c "create database cartoparty owner cartoparty"
  fi
fi
if [[ -z ${CELERY_BROKER_URL:-} ]]; then
  if ! redis-cli -p $REDIS_PORT ping >/dev/null 2>&1; then
    say "Starting Redis on port $REDIS_PORT"
    redis-server --port $REDIS_PORT --bind 127.0.0.1 --daemonize yes --save "" --appendonly no \
      --dir "$VAR/redis" --pidfile "$VAR/run/redis.pid" --logfile "$VAR/log/redis.log"
    for _ in $(seq 50); do redis-cli -p $REDIS_PORT ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
fi

# --- 4. migrations --------------------------------------------------------------------------
.venv/bin/python manage.py migrate --noinput -v 0

# --- 5. translation catalogues --------------------------------------------------------------
stale=0
while IFS= read -r po; do
  [[ -f ${po%.po}.mo && ! $po -nt ${po%.po}.mo ]] || stale=1
done < <(find locale -name '*.po')
if ((stale)); then
  say "Compiling the translation catalogues"
  .venv/bin/python manage.py compilemessages -v 0 --ignore=.venv --ignore=var
fi
