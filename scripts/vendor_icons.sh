#!/usr/bin/env bash
# Vendor the map icons the cartographic style uses (Maki, CC0) into static/vendor/maki@<version>/.
# Pinned version; only the icons listed in exports/printing/style.py (POI_ICONS) plus the licence.
# Re-run after changing the list:  bash scripts/vendor_icons.sh
set -euo pipefail
VERSION=8.2.0
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/static/vendor/maki@$VERSION"
ICONS=$(cd "$ROOT" && .venv/bin/python -c "
import ast, pathlib
tree = ast.parse(pathlib.Path('exports/printing/style.py').read_text())
for node in ast.walk(tree):
    if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', '') == 'ICON_NAMES':
        print(' '.join(ast.literal_eval(node.value)))
")
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack --silent "@mapbox/maki@$VERSION" >/dev/null && tar xzf "mapbox-maki-$VERSION.tgz")
rm -rf "$DEST" && mkdir -p "$DEST"
cp "$TMP/package/LICENSE.txt" "$DEST/LICENSE.txt"
for icon in $ICONS; do
  cp "$TMP/package/icons/$icon.svg" "$DEST/$icon.svg"
done
echo "Vendored $(ls "$DEST" | grep -c '\.svg$') Maki $VERSION icons into ${DEST#"$ROOT"/}"
