#!/usr/bin/env bash
# The postgresql and redis roles' idempotent re-run, side by side with the
# peer pair (geerlingguy.postgresql + geerlingguy.redis, unmodified, in
# ../shared/peers) in the same run: one container of the local image each,
# the docker connection, pipelining on (ansible.cfg). Both get a cold
# converge, then RUNS re-runs taken in turns (project, peer, project, ...), so
# that a busy moment of the machine hits both. Every re-run must report
# changed=0. Prints each time, both medians and their ratio (goal: 0.5 or less).
# The peer roles are a yardstick only: they are run from where they are, never
# copied into the project.
# Usage: benchmarks/data_roles_rerun.sh [RUNS]   (needs: make setup image)
#        PEERS_DIR=<dir> for a checkout that is not next to ../shared/peers.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_FORCE_COLOR=0

runs=${1:-5}
peers=${PEERS_DIR:-$PWD/../shared/peers}
dir=benchmarks/data_roles
logs=.cache/bench-data-roles
[ -f "$peers/playbook.yml" ] || { echo "no peer playbook in $peers (set PEERS_DIR)" >&2; exit 2; }
mkdir -p "$logs"
containers=(onlywave-bench-data onlywave-bench-peer)
# Removal of containers that may not exist (yet, or any more): its error says nothing.
trap 'docker rm -f "${containers[@]}" >/dev/null 2>&1 || true' EXIT

for name in "${containers[@]}"; do
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker run -d --name "$name" --cap-add SYS_ADMIN --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
    -v /sys/fs/cgroup:/sys/fs/cgroup:ro "${HOST_IMAGE:-onlywave/host:bookworm}" /lib/systemd/systemd >/dev/null
done
# Until systemd has booted: "running", or "degraded" (a unit failed; the roles
# decide what matters), as playbooks/tasks/wait_for_systemd.yml accepts. The
# command exits non-zero for "degraded" and before the bus is up, so its answer,
# not its status, is checked, for up to 30 s.
booted() {
  local state
  for _ in $(seq 30); do
    state=$(docker exec "$1" systemctl is-system-running --wait 2>/dev/null) || :
    case $state in running | degraded) return 0 ;; esac
    sleep 1
  done
  echo "$1: systemd did not finish booting (last state: '${state:-none}')" >&2
  return 1
}
for name in "${containers[@]}"; do
  booted "$name"
done

# play SIDE LOG: one run of that side's playbook; prints its seconds.
play() {
  local side=$1 log=$logs/$2.log start
  start=$(date +%s.%N)
  if [ "$side" = project ]; then
    ansible-playbook -i "$dir/inventory.yml" "$dir/playbook.yml" >"$log" 2>&1
  else
    ANSIBLE_ROLES_PATH=$peers ansible-playbook -i "$dir/peer_inventory.yml" "$peers/playbook.yml" >"$log" 2>&1
  fi || { tail -30 "$log" >&2; echo "$side: $log" >&2; exit 1; }
  echo "$(date +%s.%N) - $start" | bc
}

median() {
  sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

for side in project peer; do
  printf '%-8s cold converge: %.1f s\n' "$side" "$(play "$side" "$side-cold")"
done

project_times=() peer_times=()
for i in $(seq 1 "$runs"); do
  for side in project peer; do
    t=$(play "$side" "$side-rerun-$i")
    grep -q 'changed=0 ' "$logs/$side-rerun-$i.log" || { echo "$side re-run $i changed something: $logs/$side-rerun-$i.log" >&2; exit 1; }
    printf '%-8s re-run %d: %.2f s (changed=0)\n' "$side" "$i" "$t"
    if [ "$side" = project ]; then project_times+=("$t"); else peer_times+=("$t"); fi
  done
done

project=$(printf '%s\n' "${project_times[@]}" | median)
peer=$(printf '%s\n' "${peer_times[@]}" | median)
printf 'median idempotent re-run over %d runs: project %.2f s, peer pair %.2f s\n' "$runs" "$project" "$peer"
ratio=$(echo "$project / $peer" | bc -l)
printf 'ratio project/peer: %.2f (goal 0.50 or less: %s)\n' "$ratio" "$(echo "$ratio <= 0.5" | bc | sed 's/1/met/; s/0/MISSED/')"
