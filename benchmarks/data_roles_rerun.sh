#!/usr/bin/env bash
# Idempotent re-run time of the postgresql and redis roles together on one
# container of the local image (docker connection, pipelining on).
# Target: under 8 s. Reference: geerlingguy.postgresql + geerlingguy.redis take
# about 15 s for the equivalent work on the same image and connection (measured
# on this kind of machine before this project; Galaxy is unreachable here, so
# this script does not re-measure them).
# Usage: benchmarks/data_roles_rerun.sh [RUNS]   (needs: make setup image)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH

runs=${1:-5}
name=onlywave-bench-data
dir=benchmarks/data_roles
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT

docker rm -f "$name" >/dev/null 2>&1 || true
docker run -d --name "$name" --cap-add SYS_ADMIN --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
  -v /sys/fs/cgroup:/sys/fs/cgroup:ro "${HOST_IMAGE:-onlywave/host:bookworm}" /lib/systemd/systemd >/dev/null
docker exec "$name" systemctl is-system-running --wait >/dev/null || true

play() {
  ansible-playbook -i "$dir/inventory.yml" "$dir/playbook.yml" >"/tmp/$name.log" 2>&1 || {
    tail -30 "/tmp/$name.log" >&2
    exit 1
  }
}

start=$(date +%s.%N)
play
first=$(echo "$(date +%s.%N) - $start" | bc)
printf 'first converge: %.1f s\n' "$first"

times=()
for i in $(seq 1 "$runs"); do
  start=$(date +%s.%N)
  play
  t=$(echo "$(date +%s.%N) - $start" | bc)
  grep -q 'changed=0 ' "/tmp/$name.log" || { echo "re-run $i changed something" >&2; exit 1; }
  printf 're-run %d: %.2f s (changed=0)\n' "$i" "$t"
  times+=("$t")
done

median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
printf 'median idempotent re-run: %.2f s over %d runs\n' "$median" "$runs"
printf 'target 8 s: %s (ratio %.2f)\n' "$(echo "$median < 8" | bc | sed 's/1/met/; s/0/MISSED/')" "$(echo "$median / 8" | bc -l)"
printf 'vs geerlingguy pair (15 s reference): %.2fx faster\n' "$(echo "15 / $median" | bc -l)"
