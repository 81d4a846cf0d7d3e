#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into a NEW database and the var/ directory.
#
#   scripts/restore.sh BACKUP_DIR [DATABASE_NAME]     (default DATABASE_NAME: cartoparty)
#
# Refuses to restore over an existing database (drop it or choose another name first), checks the
# SHA256SUMS, restores with pg_restore (the PostGIS extension comes with the dump) and unpacks the
# files into CARTOPARTY_VAR_DIR (default var/). The server connection: DATABASE_URL's server when
# set, else the private cluster under var/run. See docs/backup.md.
set -euo pipefail
cd "$(dirname "$0")/.."
VAR=${CARTOPARTY_VAR_DIR:-$(pwd)/var}
SRC=${1:?usage: scripts/restore.sh BACKUP_DIR [DATABASE_NAME]}
NAME=${2:-cartoparty}
(cd "$SRC" && sha256sum --check --quiet SHA256SUMS)

if [[ -n ${DATABASE_URL:-} ]]; then
  url="postgresql://${DATABASE_URL#*://}"
  server=${url%/*}
  ADMIN=(--dbname="$server/postgres")
  TARGET=(--dbname="$server/$NAME")
else
  ADMIN=(-h "$VAR/run" -p 5433 -U cartoparty -d postgres)
  TARGET=(-h "$VAR/run" -p 5433 -U cartoparty -d "$NAME")
fi
exists=$(psql "${ADMIN[@]}" -qtAX -v name="$NAME" <<<"SELECT 1 FROM pg_database WHERE datname = :'name'")
if [[ $exists == 1 ]]; then
  echo "Database $NAME exists: drop it or restore under another name." >&2
  exit 1
fi
psql "${ADMIN[@]}" -q -v ON_ERROR_STOP=1 -v name="$NAME" <<<'CREATE DATABASE :"name"'
pg_restore --no-owner --exit-on-error "${TARGET[@]}" "$SRC/database.dump"

mkdir -p "$VAR"
tar -C "$VAR" -xzf "$SRC/files.tar.gz"
echo "Restored $SRC into database $NAME and $VAR"
