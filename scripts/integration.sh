#!/usr/bin/env bash
# The integration tests, in two groups at once:
#   - the dev environment's whole-stack test, against the default emulator;
#   - the AWS layer, backup rotation and inventory preflight tests, which use
#     only this machine, against an emulator of their own (they reset it).
# The second group's output is printed after the first's.
set -euo pipefail
cd "$(dirname "$0")/.."

out=.cache/integration-aws-group.out
mkdir -p .cache
AWS_EMULATOR_PORT=5001 scripts/aws.sh start >/dev/null
trap 'AWS_EMULATOR_PORT=5001 scripts/aws.sh stop >/dev/null' EXIT

echo "integration: the AWS layer, backup rotation and preflight tests in the background (output: $out)"
AWS_EMULATOR_PORT=5001 pytest -q -s tests/integration/test_aws_layer.py tests/integration/test_backup_rotate.py \
  tests/integration/test_inventory_preflight.py >"$out" 2>&1 &
aws_pid=$!

dev_out=.cache/integration-dev.out
dev_status=0
pytest -q -s tests/integration/test_dev_environment.py 2>&1 | tee "$dev_out" || dev_status=$?
aws_status=0
wait "$aws_pid" || aws_status=$?
echo "integration: the background group's output:"
cat "$out"
if [ "$dev_status" -ne 0 ]; then
  echo "integration: the dev environment test failed; its summary again:"
  sed -n '/short test summary/,$p' "$dev_out"
fi
echo "integration: dev environment exit $dev_status; AWS layer, rotation and preflight exit $aws_status"
[ "$dev_status" -eq 0 ] && [ "$aws_status" -eq 0 ]
