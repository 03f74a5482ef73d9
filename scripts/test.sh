#!/usr/bin/env bash
# make test: every stage, in two lanes at once:
#   controller lane: lint, unit, sanity, the prod rehearsal (its own hosts,
#                    network and emulator on port 5002: docs/rehearsal.md), the
#                    aws_* molecule scenarios, then the AWS layer, backup rotation
#                    and preflight integration tests (an emulator of their own,
#                    port 5001);
#   hosts lane:      the host-container molecule scenarios, the patroni scenario,
#                    then the dev environment test (the default emulator, port 5000).
# The lanes fill what idle CPU the host-container stages leave; on two cores
# that is little (every stage ran at 88-96 % CPU on a clean clone: README).
# Each lane stops at its first failed stage. Every stage's time and the share
# of the CPU in use while it ran are printed; the controller lane's output
# follows the hosts lane's, and a failure's summary comes last.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/side_by_side.sh
export PATH=$PWD/.venv/bin:$PATH MOLECULE_GLOB=molecule/*/molecule.yml
mkdir -p .cache

# Busy and total jiffies of all CPUs so far.
cpu_jiffies() {
  awk '/^cpu / {total = 0; for (i = 2; i <= NF; i++) total += $i; print total - $5 - $6, total}' /proc/stat
}

# stage NAME COMMAND...: runs it, then prints its time and the CPU share in use
# meanwhile (both lanes' work), also into $stages for the summary.
stage() {
  local name=$1 start busy0 total0 busy1 total1
  shift
  start=$(date +%s)
  read -r busy0 total0 < <(cpu_jiffies)
  if ! "$@"; then
    echo "== stage $name FAILED after $(( $(date +%s) - start )) s" | tee -a "$stages"
    return 1
  fi
  read -r busy1 total1 < <(cpu_jiffies)
  echo "== stage $name passed in $(( $(date +%s) - start )) s" \
    "(CPU busy $(( 100 * (busy1 - busy0) / (total1 - total0 + 1) ))%)" | tee -a "$stages"
}

controller_lane() {
  stage lint scripts/lint.sh &&
    stage unit pytest -q tests/unit &&
    stage sanity scripts/sanity.sh &&
    stage rehearsal-prod scripts/integration.sh rehearsal &&
    stage molecule-aws scripts/molecule.sh --group aws &&
    stage integration-aws scripts/integration.sh aws
}

hosts_lane() {
  stage molecule-hosts scripts/molecule.sh --group hosts &&
    stage molecule-cluster scripts/molecule.sh --group cluster &&
    stage integration-dev scripts/integration.sh dev
}

stages=.cache/test-stages
: >"$stages"
start=$(date +%s)
# What both lanes need, once, before they start. The virtualenv (pip) and the
# host image (debootstrap) need nothing of each other: on a new machine they are
# made at once (apt, which either may call, waits for the other's lock).
make --no-print-directory engine
make --no-print-directory setup &
setup_pid=$!
make --no-print-directory image
wait "$setup_pid"
make --no-print-directory aws
rm -f .cache/molecule-logs/failed

side_by_side "test: the controller lane (lint, unit, sanity, prod rehearsal, aws_* molecule, AWS integration)" \
  .cache/test-controller-lane.out controller_lane hosts_lane
controller_status=$background_status hosts_status=$foreground_status
if [ -s .cache/molecule-logs/failed ]; then
  while read -r scenario; do
    echo "test: molecule scenario $scenario failed; its failed tasks:"
    scripts/molecule.sh --failed-tasks "$scenario" | tail -n 120
  done <.cache/molecule-logs/failed
fi
echo "test: every stage, in the order they ended:"
cat "$stages"
echo "test: hosts lane exit $hosts_status; controller lane exit $controller_status; $(( $(date +%s) - start )) s in all"
[ "$hosts_status" -eq 0 ] && [ "$controller_status" -eq 0 ]
