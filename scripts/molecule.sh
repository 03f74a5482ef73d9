#!/usr/bin/env bash
# Run molecule scenarios (all of them, those named, or a group with
# --group aws|cluster|hosts) and print each scenario's time. Stops at the first failing
# scenario and then prints that scenario's failed tasks last, so that a log cut
# to its tail (CI) still shows why it failed; --failed-tasks NAME prints them
# again. Full logs: .cache/molecule-logs/<scenario>.log
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/side_by_side.sh

log_dir=$PWD/.cache/molecule-logs
mkdir -p "$log_dir"

# Each failed task of an ansible log: its TASK line and its result, without
# the log's timestamp prefix.
failed_tasks() {
  awk '{ sub(/^[0-9-]+ [0-9:,]+ p=[0-9]+ u=[^|]*\| /, "") }
       /^(TASK|PLAY|RUNNING HANDLER) \[|^PLAY RECAP/ { task = $0; printing = 0 }
       /^(fatal|failed): \[|^\[ERROR\]/ { print task; printing = 1 }
       printing { print substr($0, 1, 300) }' "$1"
}

# The scenarios of a group: aws (the aws_* ones, which use only this machine),
# cluster (patroni: three host containers on a network of their own, long, so
# make test runs it in the controller lane to even out the lanes' lengths) or
# hosts (the other host-container scenarios).
cluster_scenario=patroni
scenarios_of() {
  case "$1" in
    aws) ls molecule/*/molecule.yml | cut -d/ -f2 | grep '^aws_' ;;
    cluster) echo "$cluster_scenario" ;;
    *) ls molecule/*/molecule.yml | cut -d/ -f2 | grep -v '^aws_' | grep -vx "$cluster_scenario" ;;
  esac
}

# One group, stopping at its first failure. The aws group runs against an
# emulator of its own (port 5001: its scenarios reset it), the hosts group
# against the default one.
run_group() {
  local scenarios
  mapfile -t scenarios < <(scenarios_of "$1")
  if [ "$1" = aws ]; then
    AWS_EMULATOR_PORT=5001 scripts/aws.sh start >/dev/null
    trap 'AWS_EMULATOR_PORT=5001 scripts/aws.sh stop >/dev/null' EXIT
    export AWS_EMULATOR_URL=$(AWS_EMULATOR_PORT=5001 scripts/aws.sh url)
  else
    scripts/aws.sh start >/dev/null
    export AWS_EMULATOR_URL=${AWS_EMULATOR_URL:-$(scripts/aws.sh url)}
  fi
  "$PWD/scripts/molecule.sh" "${scenarios[@]}"
}

hosts_then_cluster() {
  run_group hosts && run_group cluster
}

# All scenarios: the two groups at once; the aws group's output is printed
# after the hosts group's, then the failed tasks of any failed scenario.
run_all() {
  local scenario
  rm -f "$log_dir/failed"
  side_by_side "molecule: the aws_* scenarios" "$log_dir/aws-group.out" "run_group aws" hosts_then_cluster
  local aws_status=$background_status host_status=$foreground_status
  [ "$aws_status" -eq 0 ] && [ "$host_status" -eq 0 ] && return 0
  while read -r scenario; do
    echo "molecule: scenario $scenario failed; its failed tasks:"
    failed_tasks "$log_dir/$scenario.log" | tail -n 120
  done <"$log_dir/failed"
  return 1
}

if [ $# -eq 0 ] || [ -z "$1" ]; then
  run_all
  exit
fi
if [ "$1" = --group ]; then
  run_group "$2"
  exit
fi
if [ "$1" = --failed-tasks ]; then
  failed_tasks "$log_dir/$2.log"
  exit
fi

for scenario in "$@"; do
  echo "molecule: scenario $scenario"
  start=$(date +%s)
  export ANSIBLE_LOG_PATH=$log_dir/$scenario.log
  rm -f "$ANSIBLE_LOG_PATH"
  # Start from a fresh ephemeral state of the scenario's own: molecule keeps
  # "prepared: true" after a run on the default (unmanaged) driver, and a later
  # run would then skip its prepare step, which makes the AWS prerequisites.
  # (Not `molecule reset`: it stops every molecule container, also those of the
  # scenario running beside.)
  export MOLECULE_EPHEMERAL_DIRECTORY=$PWD/.cache/molecule-state/$scenario
  rm -rf "$MOLECULE_EPHEMERAL_DIRECTORY"
  if ! molecule test -s "$scenario"; then
    echo "molecule: scenario $scenario failed after $(( $(date +%s) - start )) s; its failed tasks:"
    failed_tasks "$ANSIBLE_LOG_PATH" | tail -n 120
    echo "molecule: full log: $ANSIBLE_LOG_PATH"
    echo "$scenario" >>"$log_dir/failed"
    exit 1
  fi
  echo "== molecule scenario $scenario passed in $(( $(date +%s) - start )) s"
done
