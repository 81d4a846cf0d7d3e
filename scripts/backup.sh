#!/usr/bin/env bash
# Back up Cartoparty: the database (pg_dump custom format) and the files under var/ that cannot be
# rebuilt (media, exports with the printed editions; tiles only with --with-tiles: they are a cache).
#
#   scripts/backup.sh [--with-tiles] [DEST_DIR]        (default DEST_DIR: var/backups)
#
# Writes DEST_DIR/cartoparty-YYYYmmdd-HHMMSS/{database.dump,files.tar.gz,SHA256SUMS} and prints the
# directory. The database: DATABASE_URL when set, else the private cluster under var/run.
# See docs/backup.md.
set -euo pipefail
cd "$(dirname "$0")/.."
VAR=${CARTOPARTY_VAR_DIR:-$(pwd)/var}
with_tiles=0
if [[ ${1:-} == --with-tiles ]]; then with_tiles=1; shift; fi
DEST=${1:-$VAR/backups}
OUT="$DEST/cartoparty-$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"

# libpq understands postgresql:// URLs (a socket directory may be percent-encoded as the host).
if [[ -n ${DATABASE_URL:-} ]]; then
  DB_ARGS=(--dbname="postgresql://${DATABASE_URL#*://}")
else
  DB_ARGS=(-h "$VAR/run" -p 5433 -U cartoparty -d cartoparty)
fi
pg_dump --format=custom --compress=6 --no-owner --file="$OUT/database.dump" "${DB_ARGS[@]}"

dirs=()
for d in media exports; do [[ -d $VAR/$d ]] && dirs+=("$d"); done
if ((with_tiles)) && [[ -d $VAR/tiles ]]; then dirs+=(tiles); fi
# Build directories of exports in progress are not data.
tar -C "$VAR" --exclude='.build-*' -czf "$OUT/files.tar.gz" "${dirs[@]}"

(cd "$OUT" && sha256sum database.dump files.tar.gz >SHA256SUMS)
echo "$OUT"
