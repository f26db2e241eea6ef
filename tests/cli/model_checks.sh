# transform checks the model against the data: feature names compared (--by-position to
# apply by position), MODEL.json validated when read, with errors that blame the model.
source "$(dirname "$0")/lib.sh"
SAMPLE="$SOURCE_DIR/data/sample/playlists.csv"

expect_rc 0 fit-pca "$SAMPLE" -o "$WORK/model.json" -k 3 --quiet --device cpu
expect_rc 0 transform "$SAMPLE" --model "$WORK/model.json" -o "$WORK/ok.csv" --quiet --device cpu

# The same 11 names in another order.
sed 's/"acousticness", "danceability"/"danceability", "acousticness"/' "$WORK/model.json" >"$WORK/swapped.json"
CHECKS=$((CHECKS + 1))
! cmp -s "$WORK/model.json" "$WORK/swapped.json" || fail "the test could not swap two feature names"
expect_rc 1 transform "$SAMPLE" --model "$WORK/swapped.json" -o "$WORK/out.csv" --quiet --device cpu
expect_contains "$ERR" "swapped.json" "the mismatch names the model"
expect_contains "$ERR" "(danceability, acousticness, energy," "the model's names"
expect_contains "$ERR" "(acousticness, danceability, energy," "the data's names"
expect_contains "$ERR" "--by-position" "the way out"
CHECKS=$((CHECKS + 1))
[[ ! -e "$WORK/out.csv" ]] || fail "a refused model left an output behind"
expect_rc 0 transform "$SAMPLE" --model "$WORK/swapped.json" -o "$WORK/out.csv" --quiet --device cpu --by-position
CHECKS=$((CHECKS + 1))
cmp -s "$WORK/ok.csv" "$WORK/out.csv" || fail "--by-position does not apply the model value by value"
# --inverse reads coordinates, which have no feature names to compare.
expect_rc 0 transform "$WORK/ok.csv" --model "$WORK/swapped.json" -o "$WORK/back.csv" --inverse --quiet --device cpu

# A scale so small that every song becomes inf: the model is to blame, when it is read.
sed -E 's/("scale": \[)[^,]*/\11e-300/' "$WORK/model.json" >"$WORK/tiny.json"
CHECKS=$((CHECKS + 1))
grep -q '"scale": \[1e-300,' "$WORK/tiny.json" || fail "the test could not edit the scale"
expect_rc 1 transform "$SAMPLE" --model "$WORK/tiny.json" -o "$WORK/tiny.csv" --quiet --device cpu
expect_contains "$ERR" "playaug: error: $WORK/tiny.json: invalid PCA model: \"scale\" entry 1 (acousticness) is 1e-300" \
  "the model is blamed"
CHECKS=$((CHECKS + 1))
[[ "$ERR" != *"cannot write playlist"* && ! -e "$WORK/tiny.csv" ]] || fail "the data was blamed: $ERR"

# A component that is not of unit length.
sed -E '0,/^    \[/s/^    \[[^,]*/    [7/' "$WORK/model.json" >"$WORK/long.json"
expect_rc 1 transform "$SAMPLE" --model "$WORK/long.json" -o "$WORK/long.csv" --quiet --device cpu
expect_contains "$ERR" "long.json: invalid PCA model: \"components\" row 1 has length" "a non-unit component"
finish
