# What every reading command refuses, and how it says it: records longer than the cap
# (--max-record-bytes; /dev/zero under a memory limit), directories, ids that are not UTF-8.
# Each error names the file (and line), exits 1, and leaves the output directory as it was.
source "$(dirname "$0")/lib.sh"

SAMPLE="$SOURCE_DIR/data/sample/playlists.csv"
OUTDIR="$WORK/out"
mkdir -p "$OUTDIR"
echo keep >"$OUTDIR/existing.txt"

# expect_untouched WHAT: the output directory holds only what it held before.
expect_untouched() {
  CHECKS=$((CHECKS + 1))
  local entries
  entries=$(ls -A "$OUTDIR")
  [[ "$entries" == "existing.txt" ]] || fail "$1 left files behind: $entries"
}

# expect_no_internal_text WHAT: no C++ runtime or JSON-library text in the message.
expect_no_internal_text() {
  CHECKS=$((CHECKS + 1))
  if [[ "$ERR" == *bad_alloc* || "$ERR" == *json.exception* || "$ERR" == *"std::"* ]]; then
    fail "$1: internal text reached the user: $ERR"
  fi
}

# --- The record cap -------------------------------------------------------------------
# A file with one long record (1 song of 11 features is about 100 bytes; 200 songs ~ 20 KB).
python3 - "$WORK/long.csv" <<'PY'
import sys
song = "[0.5, 0.5, 0.5, 0.0, 5, 0.1, -7.0, 1, 0.05, 120.0, 0.4]"
with open(sys.argv[1], "w") as f:
    f.write(",moods_states,features\n")
    f.write('short,"[[1]]","[' + song + ']"\n')
    f.write('long,"[[1]]","[' + ", ".join([song] * 200) + ']"\n')
PY
expect_rc 1 --max-record-bytes 10K info "$WORK/long.csv"
expect_contains "$ERR" "$WORK/long.csv:3: record longer than the limit of 10240 bytes" "cap on info"
expect_rc 0 --max-record-bytes 64K info "$WORK/long.csv"
expect_rc 0 info --max-record-bytes 65536 "$WORK/long.csv"      # after the command name too
expect_rc 1 augment --max-record-bytes 10K "$WORK/long.csv" -o "$OUTDIR/aug.csv" -q
expect_contains "$ERR" "$WORK/long.csv:3: record longer than the limit" "cap on augment"
expect_untouched "augment over the cap"
expect_rc 1 fit-pca --max-record-bytes 10K "$WORK/long.csv" -o "$OUTDIR/m.json" -q
expect_contains "$ERR" "$WORK/long.csv:3: record longer" "cap on fit-pca"
expect_untouched "fit-pca over the cap"
expect_rc 2 --max-record-bytes 0 info "$WORK/long.csv"
expect_rc 2 --max-record-bytes lots info "$WORK/long.csv"

# /dev/zero has no line break: the reader stops at the default cap (256 MiB), quickly and
# within a memory limit far below what an unbounded buffer would take.
# (A sanitizer build reserves terabytes of address space and cannot start under ulimit -v.)
if [[ -r /dev/zero ]] && { (ulimit -v 1500000; exec "$PLAYAUG" --version) >/dev/null 2>&1; } 2>/dev/null; then
  for cmd in info augment; do
    args=("$cmd" /dev/zero)
    [[ $cmd == augment ]] && args+=(-o "$OUTDIR/zero.csv" -q --threads 2)
    CHECKS=$((CHECKS + 1))
    set +e
    start=$(date +%s)
    (ulimit -v 1500000; exec "$PLAYAUG" "${args[@]}") >"$WORK/stdout" 2>"$WORK/stderr"
    RC=$?
    elapsed=$(($(date +%s) - start))
    set -e
    ERR=$(cat "$WORK/stderr")
    [[ $RC -eq 1 ]] || fail "$cmd /dev/zero under ulimit -v exited $RC, expected 1: $ERR"
    expect_contains "$ERR" "/dev/zero:1: record longer than the limit of 268435456 bytes" "$cmd /dev/zero"
    expect_no_internal_text "$cmd /dev/zero"
    CHECKS=$((CHECKS + 1))
    [[ $elapsed -lt 30 ]] || fail "$cmd /dev/zero took ${elapsed}s"
  done
  expect_untouched "augment /dev/zero"
  # Above the memory there is: running out is reported with the file and line, not as
  # std::bad_alloc.
  CHECKS=$((CHECKS + 1))
  set +e
  (ulimit -v 700000; exec "$PLAYAUG" --max-record-bytes 4G info /dev/zero) >"$WORK/stdout" 2>"$WORK/stderr"
  RC=$?
  set -e
  ERR=$(cat "$WORK/stderr")
  [[ $RC -eq 1 ]] || fail "info /dev/zero out of memory exited $RC, expected 1: $ERR"
  expect_contains "$ERR" "/dev/zero:1: out of memory growing the read buffer" "out of memory names file and line"
  expect_no_internal_text "info /dev/zero out of memory"
else
  echo "note: /dev/zero under a memory limit skipped (no /dev/zero, or a sanitizer build)" >&2
  expect_rc 1 --max-record-bytes 1M info /dev/zero
  expect_contains "$ERR" "/dev/zero:1: record longer than the limit of 1048576 bytes" "info /dev/zero"
fi

# --- Directories ----------------------------------------------------------------------
D="$WORK/a-directory"
mkdir -p "$D"
expect_rc 1 info "$D"
expect_contains "$ERR" "$D: is a directory" "info DIR"
expect_rc 1 augment "$D" -o "$OUTDIR/aug.csv" -q
expect_contains "$ERR" "$D: is a directory" "augment DIR"
expect_rc 1 fit-pca "$D" -o "$OUTDIR/m.json" -q
expect_contains "$ERR" "$D: is a directory" "fit-pca DIR"
expect_rc 1 transform "$SAMPLE" --model "$D" -o "$OUTDIR/t.csv" -q
expect_contains "$ERR" "$D: is a directory" "transform --model DIR"
expect_rc 1 requery "$SAMPLE" --catalog "$D" -o "$OUTDIR/r.csv" -q
expect_contains "$ERR" "$D: is a directory" "requery --catalog DIR"
expect_rc 1 requery "$SAMPLE" --spotify --genres "$D" --genre pop -o "$OUTDIR/r.csv" -q
expect_contains "$ERR" "$D: is a directory" "requery --genres DIR"
expect_untouched "commands given a directory"

# --- Ids that are not UTF-8: the same error from every command --------------------------
printf ',moods_states,features\nok,"[[1]]","[[0.5, 0.25], [0.1, 0.2]]"\nbad\xff,"[[1]]","[[0.5, 0.25], [0.3, 0.1]]"\n' \
  >"$WORK/latin1.csv"
want="$WORK/latin1.csv:3: the playlist id is not valid UTF-8 (invalid UTF-8 byte 0xff at column 4)"
expect_rc 1 info "$WORK/latin1.csv"
expect_contains "$ERR" "$want" "info non-UTF-8 id"
expect_rc 1 augment "$WORK/latin1.csv" -o "$OUTDIR/aug.csv" -q
expect_contains "$ERR" "$want" "augment non-UTF-8 id"
expect_rc 1 fit-pca "$WORK/latin1.csv" -o "$OUTDIR/m.json" -q
expect_contains "$ERR" "$want" "fit-pca non-UTF-8 id"
expect_rc 1 fit-pca --per-playlist "$WORK/latin1.csv" -o "$OUTDIR/m.json" -q
expect_contains "$ERR" "$want" "fit-pca --per-playlist non-UTF-8 id"
expect_no_internal_text "fit-pca --per-playlist non-UTF-8 id"
expect_untouched "commands given a non-UTF-8 id"
# UTF-8 ids pass through every command unchanged.
printf ',moods_states,features\ncaf\xc3\xa9,"[[1]]","[[0.5, 0.25], [0.1, 0.2]]"\n' >"$WORK/utf8.csv"
expect_rc 0 fit-pca --per-playlist "$WORK/utf8.csv" -o "$WORK/pp.json" -q
expect_contains "$(cat "$WORK/pp.json")" "\"id\": \"caf"$'\xc3\xa9'"\"" "per-playlist keeps the UTF-8 id"
expect_rc 0 augment "$WORK/utf8.csv" -o "$WORK/aug.csv" -q
expect_contains "$(cat "$WORK/aug.csv")" "caf"$'\xc3\xa9'"#aug1," "augment keeps the UTF-8 id"

finish
