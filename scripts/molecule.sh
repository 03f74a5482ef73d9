#!/usr/bin/env bash
# Run molecule scenarios one by one (all of them, or those named) and print
# each scenario's time. Stops at the first failing scenario.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -gt 0 ] && [ -n "$1" ]; then
  scenarios=("$@")
else
  mapfile -t scenarios < <(ls molecule/*/molecule.yml | cut -d/ -f2)
fi

for scenario in "${scenarios[@]}"; do
  echo "molecule: scenario $scenario"
  start=$(date +%s)
  molecule test -s "$scenario"
  echo "== molecule scenario $scenario passed in $(( $(date +%s) - start )) s"
done
