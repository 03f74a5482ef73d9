#!/usr/bin/env bash
# The local AWS emulator (moto server) for dev and tests.
#   scripts/aws.sh start|stop|url
# AWS_EMULATOR_PORT (default 5000) selects the instance: the test stages run a
# second one so that the AWS-only tests, which reset it, run beside the rest.
# It listens on the Docker bridge's gateway address, which both this machine
# and the containers reach (127.0.0.1 where no Docker bridge exists), or on
# AWS_EMULATOR_HOST (the prod rehearsal: its VPC network's gateway). The
# emulator's own settings pass through the environment (MOTO_AMIS_PATH).
set -euo pipefail
cd "$(dirname "$0")/.."

port=${AWS_EMULATOR_PORT:-5000}
pidfile=.cache/moto-$port.pid
log=.cache/moto-$port.log
mkdir -p .cache

host=${AWS_EMULATOR_HOST:-$(ip -4 -o addr show docker0 2>/dev/null | awk '{split($4, a, "/"); print a[1]}')}
host=${host:-127.0.0.1}
url="http://$host:$port"

answers() {
  .venv/bin/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
    "$url/moto-api/" 2>/dev/null
}

case "${1:-}" in
  start)
    if answers; then
      echo "aws: the emulator already answers at $url"
      exit 0
    fi
    echo "aws: starting the emulator at $url (log: $log)"
    nohup .venv/bin/python scripts/emulator/moto_server.py -H "$host" -p "$port" >"$log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 30); do
      answers && { echo "aws: emulator answers at $url"; exit 0; }
      sleep 1
    done
    echo "aws: the emulator did not answer within 30 s; see $log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null; then
      echo "aws: emulator stopped"
    else
      echo "aws: no emulator was running"
    fi
    rm -f "$pidfile"
    ;;
  url)
    echo "$url"
    ;;
  *)
    echo "usage: $0 start|stop|url" >&2
    exit 2
    ;;
esac
