#!/usr/bin/env bash
# Vendor Leaflet-Geoman (MIT; drawing and reshaping with snapping) into static/vendor/leaflet-geoman@<version>/.
# Pinned version (works with the Leaflet 1.9 django-leaflet ships: peer dependency leaflet ^1.2.0);
# the minified build, its CSS and the licence. Re-run after bumping:  bash scripts/vendor_geoman.sh
set -euo pipefail
VERSION=2.20.2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/static/vendor/leaflet-geoman@$VERSION"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack --silent "@geoman-io/leaflet-geoman-free@$VERSION" >/dev/null && tar xzf "geoman-io-leaflet-geoman-free-$VERSION.tgz")
rm -rf "$DEST" && mkdir -p "$DEST"
cp "$TMP/package/LICENSE" "$DEST/LICENSE"
cp "$TMP/package/dist/leaflet-geoman.min.js" "$TMP/package/dist/leaflet-geoman.css" "$DEST/"
sed -i '/sourceMappingURL/d' "$DEST/leaflet-geoman.min.js" "$DEST/leaflet-geoman.css"
echo "Vendored Leaflet-Geoman $VERSION into ${DEST#"$ROOT"/}"
