#!/usr/bin/env bash
# Make sure a Docker engine answers. On Debian as root with no engine running,
# install Debian's docker.io and start dockerd in the background (log in a file).
set -euo pipefail

log=${DOCKERD_LOG:-/var/log/onlywave-dockerd.log}

if docker info >/dev/null 2>&1; then
  echo "engine: a Docker engine already answers"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
    echo "engine: no Docker engine answers; install and start Docker, then re-run" >&2
    exit 1
  fi
  echo "engine: installing Debian's docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q docker.io
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "engine: dockerd is installed but not running, and starting it needs root" >&2
    exit 1
  fi
  echo "engine: starting dockerd in the background (log: $log)"
  nohup dockerd >"$log" 2>&1 &
fi

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "engine: Docker engine answers"
    exit 0
  fi
  sleep 1
done
echo "engine: dockerd did not answer within 60 s; see $log" >&2
exit 1
