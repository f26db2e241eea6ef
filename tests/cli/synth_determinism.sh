# synth: the same seed gives the same bytes whatever the thread count; seeds matter.
source "$(dirname "$0")/lib.sh"

expect_rc 0 synth -o "$WORK/a.csv" --playlists 3000 --seed 5 --threads 1
expect_contains "$ERR" "wrote 3000 playlists" "synth note on stderr"
CHECKS=$((CHECKS + 1))
[[ -z "$OUT" ]] || fail "synth wrote to stdout: $OUT"
expect_rc 0 synth -o "$WORK/b.csv" --playlists 3000 --seed 5 --threads 2 -q
expect_rc 0 synth -o "$WORK/c.csv" --playlists 3000 --seed 6 -q
expect_rc 0 synth -o "$WORK/d.csv" --playlists 3000 -q
expect_rc 0 synth -o "$WORK/e.csv" --playlists 3000 --seed 0 -q
CHECKS=$((CHECKS + 1))
cmp -s "$WORK/a.csv" "$WORK/b.csv" || fail "same seed, different thread counts: files differ"
CHECKS=$((CHECKS + 1))
cmp -s "$WORK/a.csv" "$WORK/c.csv" && fail "seeds 5 and 6 gave identical files"
CHECKS=$((CHECKS + 1))
cmp -s "$WORK/d.csv" "$WORK/e.csv" || fail "the default seed is not 0"

# A prefix of playlists is the same whatever the total.
expect_rc 0 synth -o "$WORK/small.csv" --playlists 100 --seed 5 -q
CHECKS=$((CHECKS + 1))
cmp -s "$WORK/small.csv" <(head -n 101 "$WORK/a.csv") || fail "the first 100 playlists differ from a 100-playlist run"

# Overwriting replaces the file whole.
expect_rc 0 synth -o "$WORK/a.csv" --playlists 10 --seed 5 -q
CHECKS=$((CHECKS + 1))
cmp -s "$WORK/a.csv" <(head -n 11 "$WORK/small.csv") || fail "rewriting a.csv did not replace it"
finish
