# fit-synth and synth --model / --like: the two-step and one-step paths give the same bytes,
# the output depends on the seed and not on --threads, rule-based options are refused with
# a learned model, and a bad model is named with its key.
source "$(dirname "$0")/lib.sh"

DATA="$SOURCE_DIR/data/sample/playlists.csv"

expect_rc 0 fit-synth "$DATA" -o "$WORK/m.json" --clusters 6 --types 4 --threads 1
expect_contains "$ERR" "fitted 6 song clusters and 4 playlist types on 300 playlists" "fit-synth note"
expect_contains "$(head -c 200 "$WORK/m.json")" '"format": "playaug-synth"' "model format"
expect_rc 0 fit-synth "$DATA" -o "$WORK/m2.json" --clusters 6 --types 4 --threads 2 -q
CHECKS=$((CHECKS + 1))
cmp -s "$WORK/m.json" "$WORK/m2.json" || fail "fit-synth depends on --threads"

expect_rc 0 synth --model "$WORK/m.json" -o "$WORK/a.csv" --playlists 700 --seed 3 --threads 1 --device cpu
expect_contains "$ERR" "wrote 700 playlists" "synth --model note"
expect_rc 0 synth --model "$WORK/m.json" -o "$WORK/b.csv" --playlists 700 --seed 3 --threads 2 -q
expect_rc 0 synth --model "$WORK/m.json" -o "$WORK/c.csv" --playlists 700 --seed 4 -q --device cpu
expect_rc 0 synth --like "$DATA" --clusters 6 --types 4 -o "$WORK/d.csv" --playlists 700 --seed 3 -q --device cpu
expect_rc 0 synth --model "$WORK/m.json" -o "$WORK/small.csv" --playlists 50 --seed 3 -q --device cpu
CHECKS=$((CHECKS + 1))
cmp -s "$WORK/a.csv" "$WORK/b.csv" || fail "synth --model depends on --threads"
CHECKS=$((CHECKS + 1))
cmp -s "$WORK/a.csv" "$WORK/c.csv" && fail "seeds 3 and 4 gave identical files"
CHECKS=$((CHECKS + 1))
cmp -s "$WORK/a.csv" "$WORK/d.csv" || fail "synth --like differs from fit-synth + synth --model"
CHECKS=$((CHECKS + 1))
cmp -s "$WORK/small.csv" <(head -n 51 "$WORK/a.csv") || fail "the first 50 playlists differ from a 50-playlist run"
expect_contains "$(sed -n 2p "$WORK/a.csv")" "syn000001," "ids"
# The output reads back, with the model's 11 features.
expect_rc 0 info --json "$WORK/a.csv"
expect_contains "$OUT" '"playlists": 700' "info of the output"
expect_contains "$OUT" '"features": 11' "info of the output"

# Rule-based options do not apply to a learned model; --model and --like exclude each other.
expect_rc 2 synth --model "$WORK/m.json" -o "$WORK/x.csv" --playlists 5 --min-songs 3
expect_contains "$ERR" "--min-songs applies to rule-based generation only" "--min-songs refused"
expect_rc 2 synth --like "$DATA" -o "$WORK/x.csv" --playlists 5 --empty-fraction 0.1
expect_contains "$ERR" "--empty-fraction applies to rule-based generation only" "--empty-fraction refused"
expect_rc 2 synth --model "$WORK/m.json" --like "$DATA" -o "$WORK/x.csv" --playlists 5
expect_contains "$ERR" "exclude each other" "--model with --like"
expect_rc 2 synth --model "$WORK/m.json" --clusters 3 -o "$WORK/x.csv" --playlists 5
expect_contains "$ERR" "--clusters applies to --like only" "--clusters without --like"
expect_rc 2 synth --model "$WORK/m.json" -o "$WORK/m.json" --playlists 5
[[ -e "$WORK/x.csv" ]] && fail "a refused run wrote its output"

# Bad models: the message names the file and the key; nothing is written.
sed 's/"version": 2/"version": 7/' "$WORK/m.json" >"$WORK/v7.json"
expect_rc 1 synth --model "$WORK/v7.json" -o "$WORK/x.csv" --playlists 5
expect_contains "$ERR" "playaug: error: $WORK/v7.json" "bad version names the file"
expect_contains "$ERR" 'unsupported "version"' "bad version"
sed 's/"version": 2/"version": 1/' "$WORK/m.json" >"$WORK/v1.json"
expect_rc 1 synth --model "$WORK/v1.json" -o "$WORK/x.csv" --playlists 5
expect_contains "$ERR" "refitted with playaug fit-synth" "a version 1 model is refused with advice"
sed 's/"type_weights": \[/"type_weights": [-1, /' "$WORK/m.json" >"$WORK/tw.json"
expect_rc 1 synth --model "$WORK/tw.json" -o "$WORK/x.csv" --playlists 5
expect_contains "$ERR" '"type_weights"' "bad type weights"
printf '{"format": "playaug-synth"' >"$WORK/trunc.json"
expect_rc 1 synth --model "$WORK/trunc.json" -o "$WORK/x.csv" --playlists 5
expect_contains "$ERR" "not valid JSON" "truncated model"
expect_rc 1 synth --model "$WORK/missing.json" -o "$WORK/x.csv" --playlists 5
expect_contains "$ERR" "missing.json" "missing model file"
[[ -e "$WORK/x.csv" ]] && fail "a bad model wrote an output"
finish
