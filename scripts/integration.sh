#!/usr/bin/env bash
# The integration tests, in three groups:
#   dev:       the dev environment's whole-stack test, against the default emulator;
#   aws:       the AWS layer, backup rotation and inventory preflight tests, which
#              use only this machine, against an emulator of their own (they reset it);
#   rehearsal: the prod rehearsal's test (make rehearsal-test; docs/rehearsal.md),
#              with hosts, network and emulator of its own.
#   scripts/integration.sh [dev|aws|rehearsal]   (no argument: dev and aws at
#   once, the aws group's output printed after the dev group's)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/side_by_side.sh
mkdir -p .cache

aws_group() {
  AWS_EMULATOR_PORT=5001 scripts/aws.sh start >/dev/null
  trap 'AWS_EMULATOR_PORT=5001 scripts/aws.sh stop >/dev/null' EXIT
  AWS_EMULATOR_PORT=5001 pytest -q -s --durations=10 tests/integration/test_aws_layer.py tests/integration/test_backup_rotate.py \
    tests/integration/test_inventory_preflight.py
}

dev_group() {
  local dev_out=.cache/integration-dev.out status=0
  pytest -q -s --durations=0 tests/integration/test_dev_environment.py 2>&1 | tee "$dev_out" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "integration: the dev environment test failed; its summary again:"
    sed -n '/short test summary/,$p' "$dev_out"
  fi
  return "$status"
}

case "${1:-}" in
  dev) dev_group ;;
  aws) aws_group ;;
  rehearsal) REHEARSAL_ENV=prod pytest -q -s --durations=0 tests/integration/test_rehearsal.py ;;
  "")
    side_by_side "integration: the AWS layer, backup rotation and preflight tests" \
      .cache/integration-aws-group.out aws_group dev_group
    echo "integration: dev environment exit $foreground_status; AWS layer, rotation and preflight exit $background_status"
    [ "$foreground_status" -eq 0 ] && [ "$background_status" -eq 0 ]
    ;;
  *) echo "usage: $0 [dev|aws|rehearsal]" >&2; exit 2 ;;
esac
