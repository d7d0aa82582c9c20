#!/usr/bin/env bash
# Install what the production profile (`make run-prod`) runs on: Debian's PostgreSQL 15, Redis and haproxy.
# Idempotent: does nothing when the binaries are already there.  Services do not start on install
# (Debian's policy-rc.d in containers; we never use the packaged units anyway): ops/prod/ starts its own
# PostgreSQL cluster, Redis and haproxy under var/ and stops them with the rest of the profile.
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
missing=()
[ -x "$PG_BIN/postgres" ] || missing+=(postgresql-15)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)

if [ ${#missing[@]} -eq 0 ]; then
    echo "production parts already installed: PostgreSQL 15, redis-server, haproxy"
    exit 0
fi
"$(dirname "$0")/../apt_install.sh" ops/prod/install_prod.sh "${missing[@]}"
haproxy -v | head -1
