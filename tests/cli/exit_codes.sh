# Exit codes: 0 success, 1 data or runtime error, 2 usage error; no partial output.
source "$(dirname "$0")/lib.sh"

# Usage errors.
expect_rc 2                                        # no command
expect_rc 2 no-such-command
expect_rc 2 --no-such-flag
expect_rc 2 info                                   # missing FILE
expect_rc 2 info a.csv b.csv
expect_rc 2 info "$SOURCE_DIR/data/sample/playlists.csv" --no-such-flag
expect_rc 2 synth --playlists 5                    # missing -o
expect_rc 2 synth -o "$WORK/x.csv"                 # missing --playlists
expect_rc 2 synth -o "$WORK/x.csv" --playlists five
expect_rc 2 synth -o "$WORK/x.csv" --playlists -5
expect_rc 2 synth -o "$WORK/x.csv" --playlists 5 --seed -1
expect_rc 2 synth -o "$WORK/x.csv" --playlists 5 --min-songs 0
expect_rc 2 synth -o "$WORK/x.csv" --playlists 5 --min-songs 9 --max-songs 3
expect_rc 2 synth -o "$WORK/x.csv" --playlists 5 --empty-fraction 1.5
CHECKS=$((CHECKS + 1))
[[ ! -e "$WORK/x.csv" ]] || fail "a failed synth left $WORK/x.csv behind"

# Data errors.
expect_rc 1 info "$WORK/does-not-exist.csv"
expect_contains "$ERR" "does-not-exist.csv" "missing file message"
printf ',moods_states,features\nok1,"[[1]]","[[0.5, 2]]"\nbad2,"[[1]]","[[0.5, oops]]"\n' >"$WORK/bad.csv"
expect_rc 1 info "$WORK/bad.csv"
expect_contains "$ERR" "$WORK/bad.csv:3: " "bad input names file and line"
expect_contains "$ERR" "(playlist 'bad2')" "bad input names the playlist"
CHECKS=$((CHECKS + 1))
[[ -z "$OUT" ]] || fail "info wrote to stdout despite the error: $OUT"
expect_rc 1 info --json "$WORK/bad.csv"
CHECKS=$((CHECKS + 1))
[[ -z "$OUT" ]] || fail "info --json wrote to stdout despite the error: $OUT"
expect_rc 1 synth -o "$WORK/no-such-dir/x.csv" --playlists 3

# Success.
expect_rc 0 synth -o "$WORK/ok.csv" --playlists 3 --quiet
CHECKS=$((CHECKS + 1))
[[ -z "$OUT" && -z "$ERR" ]] || fail "synth --quiet printed something: $OUT $ERR"
expect_rc 0 info "$WORK/ok.csv"
finish
