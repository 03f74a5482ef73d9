#!/usr/bin/env bash
# Create .venv with the pinned Python dependencies. Re-runs only when
# requirements.txt changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
stamp=$venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup: $venv is up to date"
  exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
  if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup: Python 3.11 or newer is needed (found $(python3 --version 2>&1))" >&2
    exit 1
  fi
  echo "setup: creating $venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
      echo "setup: installing Debian's python3-venv"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 python3-venv
      python3 -m venv "$venv"
    else
      echo "setup: 'python3 -m venv' failed; install your distribution's venv package" >&2
      exit 1
    fi
  fi
fi

echo "setup: installing the pinned dependencies into $venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q -r requirements.txt
echo "$want" >"$stamp"
echo "setup: done"
