#!/usr/bin/env bash
# Run molecule scenarios one by one (all of them, or those named) and print
# each scenario's time. Stops at the first failing scenario and then prints
# that scenario's failed tasks last, so that a log cut to its tail (CI) still
# shows why it failed. Full logs: .cache/molecule-logs/<scenario>.log
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -gt 0 ] && [ -n "$1" ]; then
  scenarios=("$@")
else
  mapfile -t scenarios < <(ls molecule/*/molecule.yml | cut -d/ -f2)
fi

# Each failed task of an ansible log: its TASK line and its result, without
# the log's timestamp prefix.
failed_tasks() {
  awk '{ sub(/^[0-9-]+ [0-9:,]+ p=[0-9]+ u=[^|]*\| /, "") }
       /^(TASK|PLAY|RUNNING HANDLER) \[|^PLAY RECAP/ { task = $0; printing = 0 }
       /^(fatal|failed): \[|^\[ERROR\]/ { print task; printing = 1 }
       printing { print substr($0, 1, 300) }' "$1"
}

log_dir=$PWD/.cache/molecule-logs
mkdir -p "$log_dir"

for scenario in "${scenarios[@]}"; do
  echo "molecule: scenario $scenario"
  start=$(date +%s)
  export ANSIBLE_LOG_PATH=$log_dir/$scenario.log
  rm -f "$ANSIBLE_LOG_PATH"
  # Start from a fresh ephemeral state: molecule keeps "prepared: true" after a
  # run of a scenario on the default (unmanaged) driver, and a later run would
  # then skip its prepare step, which makes the AWS prerequisites.
  molecule reset -s "$scenario" >/dev/null 2>&1
  if ! molecule test -s "$scenario"; then
    echo "molecule: scenario $scenario failed after $(( $(date +%s) - start )) s; its failed tasks:"
    failed_tasks "$ANSIBLE_LOG_PATH" | tail -n 120
    echo "molecule: full log: $ANSIBLE_LOG_PATH"
    exit 1
  fi
  echo "== molecule scenario $scenario passed in $(( $(date +%s) - start )) s"
done
