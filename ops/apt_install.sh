#!/usr/bin/env bash
# ops/apt_install.sh WHO PACKAGE... — install Debian packages with apt-get (as root, or through sudo), for the
# install scripts (ops/install_browser.sh, ops/prod/install_prod.sh).  WHO names the caller in error messages.
set -euo pipefail

who=$1
shift
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "$who: need root (or sudo) to run: apt-get install -y $*" >&2
        exit 1
    fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "$who: apt-get not found; install Debian's $* yourself" >&2
    exit 1
fi

echo "installing $* (apt-get) ..."
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
