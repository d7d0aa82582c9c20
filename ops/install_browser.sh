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

"$(dirname "$0")/apt_install.sh" ops/install_browser.sh chromium fonts-noto-cjk
echo "installed: $CHROMIUM"
