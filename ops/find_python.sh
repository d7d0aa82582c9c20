#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter (Rasa 3.6.21 needs < 3.11):
# python3.10 on PATH, else a pyenv 3.10.x; otherwise explains what to install.
set -u
ok() { "$1" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; }
if command -v python3.10 >/dev/null 2>&1 && ok python3.10; then
  command -v python3.10
  exit 0
fi
root=""
if command -v pyenv >/dev/null 2>&1; then root=$(pyenv root 2>/dev/null); fi
[ -n "$root" ] || root="${PYENV_ROOT:-$HOME/.pyenv}"
for candidate in $(ls -d "$root"/versions/3.10.* 2>/dev/null | sort -V -r); do
  if ok "$candidate/bin/python"; then
    echo "$candidate/bin/python"
    exit 0
  fi
done
cat >&2 <<'MSG'
error: no Python 3.10 interpreter found.
Rasa 3.6.21 runs on Python 3.10 (it does not support 3.11 or newer).
Install one of:
  - Debian/Ubuntu: apt-get install python3.10 python3.10-venv
  - pyenv:         pyenv install 3.10.13
then run the make command again.
MSG
exit 1
