#!/usr/bin/env bash
# Vendor the chat page's browser assets from npm into web/static/vendor/
# (git-ignored; served locally under /static/vendor/, no CDN).
# Versions are pinned by web/package.json + web/package-lock.json (`npm ci`).
# Idempotent: skips when the vendored files match the current lock file.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WEB="$ROOT/web"
VENDOR="$WEB/static/vendor"
STAMP="$VENDOR/.lock-sha256"
FILES=(
    "socket.io-client/dist/socket.io.min.js"
    "socket.io-client/dist/socket.io.min.js.map"
    "axe-core/axe.min.js"
)

if ! command -v npm >/dev/null 2>&1; then
    echo "ops/vendor_web.sh: npm not found; install Node.js 18+ (with npm) to vendor the chat page assets" >&2
    exit 1
fi

lock_sum="$(sha256sum "$WEB/package-lock.json" | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$lock_sum" ]; then
    all_there=1
    for f in "${FILES[@]}"; do
        [ -f "$VENDOR/$(basename "$f")" ] || all_there=0
    done
    if [ "$all_there" = 1 ]; then
        echo "web assets already vendored in web/static/vendor/"
        exit 0
    fi
fi

echo "vendoring web assets from npm (npm ci in web/) ..."
npm ci --prefix "$WEB" --ignore-scripts --no-audit --no-fund --loglevel=error
mkdir -p "$VENDOR"
for f in "${FILES[@]}"; do
    cp "$WEB/node_modules/$f" "$VENDOR/"
done
echo "$lock_sum" > "$STAMP"
echo "vendored: $(cd "$VENDOR" && ls | tr '\n' ' ')"
