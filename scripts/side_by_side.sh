# Sourced by scripts/molecule.sh, scripts/integration.sh and scripts/test.sh:
# two groups of tests at once, one per core.
#
# side_by_side LABEL OUT BACKGROUND FOREGROUND
# runs the command BACKGROUND (plain words, split on spaces) with its output
# into the file OUT, beside the command FOREGROUND in this terminal. When both
# have ended, it prints OUT under LABEL and sets background_status and
# foreground_status to their exit codes.
side_by_side() {
  local label=$1 out=$2 background=$3 foreground=$4 pid
  echo "$label in the background (output: $out)"
  # shellcheck disable=SC2086 # the commands are words to split
  ($background) >"$out" 2>&1 &
  pid=$!
  foreground_status=0
  # shellcheck disable=SC2086
  ($foreground) || foreground_status=$?
  background_status=0
  wait "$pid" || background_status=$?
  echo "$label, its output:"
  cat "$out"
}
