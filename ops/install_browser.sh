#!/usr/bin/env bash
# Install Debian's chromium (and a CJK font, so Chinese text renders in the
# screenshots) for the browser test in tests/web/.
# Idempotent: does nothing when /usr/bin/chromium and the font already exist.
# Playwright drives this binary through executable_path; we never run
# `playwright install` (no browser downloads).
set -euo pipefail

CHROMIUM=/usr/bin/chromium
CJK_FONT=/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

if [ -x "$CHROMIUM" ] && [ -f "$CJK_FONT" ]; then
    echo "chromium already installed: $CHROMIUM"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "ops/install_browser.sh: need root (or sudo) to run: apt-get install -y chromium" >&2
        exit 1
    fi
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ops/install_browser.sh: apt-get not found; install Debian's 'chromium' package so that $CHROMIUM exists" >&2
    exit 1
fi

echo "installing Debian chromium (apt-get) ..."
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk
echo "installed: $CHROMIUM"
