# Interrupted outputs leave nothing behind: SIGINT, SIGTERM, SIGHUP, SIGXFSZ and SIGPIPE
# in the middle of `augment` remove the temporary file and end with the usual status
# (128 + signal); after a SIGKILL, the next run into the same directory removes the stale
# temporary.
source "$(dirname "$0")/lib.sh"
set -m  # background jobs get their own process group, and SIGINT is not ignored for them

cd "$WORK"
mkdir data run
# Big enough that augment runs for a while (about 45 MB of output at --copies 3).
"$PLAYAUG" synth -o data/in.csv --playlists 40000 --seed 7 -q

snapshot() { (cd run && ls -A | sort); }

# wait_for_temporary PID [NAME]: until process PID's temporary for run/NAME (out.csv)
# exists, at most 60 s; fails when the process ends first.
wait_for_temporary() {
  local i
  for ((i = 0; i < 1200; i++)); do
    if compgen -G "run/.${2:-out.csv}.tmp-$1-*" >/dev/null; then return 0; fi
    if ! kill -0 "$1" 2>/dev/null; then return 1; fi
    sleep 0.05
  done
  return 1
}

# interrupt SIGNAL STATUS: start augment, send SIGNAL once its temporary exists, check the
# exit status and that run/ holds what it held before.
interrupt() {
  local sig=$1 want=$2
  echo previous >run/out.csv
  local before
  before=$(snapshot)
  "$PLAYAUG" augment data/in.csv -o run/out.csv --copies 3 --threads 1 -q &
  local pid=$!
  CHECKS=$((CHECKS + 1))
  if ! wait_for_temporary "$pid"; then
    fail "SIG$sig: no temporary appeared before augment ended"
    wait "$pid" || true
    return
  fi
  kill -s "$sig" "$pid"
  local rc=0
  wait "$pid" || rc=$?
  CHECKS=$((CHECKS + 1))
  [[ $rc -eq $want ]] || fail "augment interrupted by SIG$sig exited $rc, expected $want"
  CHECKS=$((CHECKS + 1))
  [[ "$(snapshot)" == "$before" ]] || fail "SIG$sig left: $(snapshot)"
  CHECKS=$((CHECKS + 1))
  [[ "$(cat run/out.csv)" == previous ]] || fail "SIG$sig changed the previous output"
  rm -f run/.out.csv.tmp-*  # after a failure, the next case starts clean
}

interrupt INT 130
interrupt TERM 143
interrupt HUP 129

# SIGXFSZ: the file size limit is exceeded while the output is written.
before=$(snapshot)
rc=0
(ulimit -f 2048 && exec "$PLAYAUG" augment data/in.csv -o run/out.csv --copies 3 -q) || rc=$?
CHECKS=$((CHECKS + 1))
[[ $rc -eq 153 ]] || fail "augment past the file size limit exited $rc, expected 153"
CHECKS=$((CHECKS + 1))
[[ "$(snapshot)" == "$before" ]] || fail "SIGXFSZ left: $(snapshot)"
rm -f run/.out.csv.tmp-*

# SIGPIPE: the reader of standard output goes away; the status is the usual 141.
before=$(snapshot)
set +o pipefail
"$PLAYAUG" augment data/in.csv -o - --copies 3 -q | head -c 1000 >/dev/null
rc=${PIPESTATUS[0]}
set -o pipefail
CHECKS=$((CHECKS + 1))
[[ $rc -eq 141 ]] || fail "augment -o - into a closed pipe exited $rc, expected 141"
CHECKS=$((CHECKS + 1))
[[ "$(snapshot)" == "$before" ]] || fail "SIGPIPE left: $(snapshot)"

# A signal ignored by whoever started playaug (nohup) stays ignored: the run completes.
rc=0
(trap '' HUP && exec "$PLAYAUG" augment data/in.csv -o run/ignored.csv --copies 1 --threads 1 -q) &
pid=$!
if wait_for_temporary "$pid" ignored.csv; then kill -s HUP "$pid"; fi
wait "$pid" || rc=$?
CHECKS=$((CHECKS + 1))
[[ $rc -eq 0 && -s run/ignored.csv ]] || fail "augment with SIGHUP ignored exited $rc"
rm -f run/ignored.csv

# SIGKILL cannot be caught: the temporary stays, and the next run into run/ removes it.
"$PLAYAUG" augment data/in.csv -o run/out.csv --copies 3 --threads 1 -q &
pid=$!
if wait_for_temporary "$pid"; then
  kill -s KILL "$pid"
  wait "$pid" || true
  CHECKS=$((CHECKS + 1))
  compgen -G "run/.out.csv.tmp-$pid-*" >/dev/null || fail "no temporary left by SIGKILL (test is void)"
  # A temporary of a live process (this shell) is not touched.
  echo live >"run/.out.csv.tmp-$$-0"
  "$PLAYAUG" augment "$SOURCE_DIR/data/sample/playlists.csv" -o run/out.csv -q
  CHECKS=$((CHECKS + 1))
  [[ "$(snapshot)" == "$(printf '%s\n' ".out.csv.tmp-$$-0" out.csv)" ]] ||
    fail "after SIGKILL and a new run, run/ holds: $(snapshot)"
  rm -f "run/.out.csv.tmp-$$-0"
else
  fail "SIGKILL: no temporary appeared"
fi
finish
