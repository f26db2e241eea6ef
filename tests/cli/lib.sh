# Helpers sourced by the CLI test scripts. Each script is run by ctest as
#   bash tests/cli/<name>.sh PLAYAUG_EXECUTABLE SOURCE_DIR
set -euo pipefail

PLAYAUG=${1:?usage: $0 PLAYAUG_EXECUTABLE SOURCE_DIR}
SOURCE_DIR=${2:?usage: $0 PLAYAUG_EXECUTABLE SOURCE_DIR}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/playaug-cli-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FAILURES=0
CHECKS=0

fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}

# run ARGS...: run playaug, capturing stdout, stderr and the exit code in OUT, ERR, RC.
run() {
  set +e
  "$PLAYAUG" "$@" >"$WORK/stdout" 2>"$WORK/stderr"
  RC=$?
  set -e
  OUT=$(cat "$WORK/stdout")
  ERR=$(cat "$WORK/stderr")
}

# expect_rc CODE ARGS...: run playaug and check its exit code.
expect_rc() {
  local want=$1
  shift
  CHECKS=$((CHECKS + 1))
  run "$@"
  if [[ $RC -ne $want ]]; then
    fail "playaug $* exited $RC, expected $want; stderr: $ERR"
  fi
}

# expect_contains TEXT NEEDLE WHAT
expect_contains() {
  CHECKS=$((CHECKS + 1))
  if [[ "$1" != *"$2"* ]]; then
    fail "$3: expected to find '$2' in: $1"
  fi
}

finish() {
  if [[ $CHECKS -eq 0 ]]; then
    echo "FAIL: no check ran" >&2
    exit 1
  fi
  if [[ $FAILURES -ne 0 ]]; then
    echo "$FAILURES of $CHECKS checks failed" >&2
    exit 1
  fi
  echo "all $CHECKS checks passed"
}
