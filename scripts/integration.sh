#!/usr/bin/env bash
# The integration tests, in three groups at once:
#   - the dev environment's whole-stack test, against the default emulator;
#   - the prod rehearsal (test_rehearsal.py), against an emulator of its own on
#     the prod VPC network's gateway (scripts/rehearsal.sh starts it);
#   - the AWS layer, backup rotation and inventory preflight tests, which use
#     only this machine, against an emulator of their own (they reset it).
# The dev group prints as it goes; the other two groups' output follows it.
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p .cache
AWS_EMULATOR_PORT=5001 scripts/aws.sh start >/dev/null
trap 'AWS_EMULATOR_PORT=5001 scripts/aws.sh stop >/dev/null' EXIT

declare -A pids
background() {
  local name=$1
  shift
  echo "integration: the $name group in the background (output: .cache/integration-$name.out)"
  "$@" >".cache/integration-$name.out" 2>&1 &
  pids[$name]=$!
}
background rehearsal pytest -q -s tests/integration/test_rehearsal.py
background aws env AWS_EMULATOR_PORT=5001 pytest -q -s tests/integration/test_aws_layer.py \
  tests/integration/test_backup_rotate.py tests/integration/test_inventory_preflight.py

status=0
failed=()
pytest -q -s tests/integration/test_dev_environment.py 2>&1 | tee .cache/integration-dev.out || failed+=(dev)
for name in rehearsal aws; do
  wait "${pids[$name]}" || failed+=("$name")
  echo "integration: the $name group's output:"
  cat ".cache/integration-$name.out"
done
for name in "${failed[@]}"; do
  echo "integration: the $name group failed; its summary again:"
  sed -n '/short test summary/,$p' ".cache/integration-$name.out"
  status=1
done
echo "integration: failed groups: ${failed[*]:-none}"
exit "$status"
