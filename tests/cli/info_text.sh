# playaug info: the human-readable table.
source "$(dirname "$0")/lib.sh"

expect_rc 0 info "$SOURCE_DIR/data/sample/playlists.csv"
for label in "playlists" "empty playlists" "mood segments" "songs" "features (d)" "feature" "min" "mean" "max"; do
  expect_contains "$OUT" "$label" "info table"
done
for name in acousticness danceability energy instrumentalness key liveness loudness mode speechiness tempo valence; do
  expect_contains "$OUT" "$name" "info table"
done
# One table row per feature, each with a name and three numbers.
CHECKS=$((CHECKS + 1))
rows=$(printf '%s\n' "$OUT" | awk 'NF == 4 && $2 ~ /^-?[0-9]/ && $3 ~ /^-?[0-9]/ && $4 ~ /^-?[0-9]/' | wc -l)
[[ $rows -eq 11 ]] || fail "expected 11 feature rows, found $rows in: $OUT"
# Columns are aligned: every row of the table has the same length.
CHECKS=$((CHECKS + 1))
widths=$(printf '%s\n' "$OUT" | awk '/^  feature +min/{on=1} on{print length($0)}' | sort -u | wc -l)
[[ $widths -eq 1 ]] || fail "table rows have different widths"
CHECKS=$((CHECKS + 1))
[[ -z "$ERR" ]] || fail "info wrote to stderr: $ERR"

# Standard input.
CHECKS=$((CHECKS + 1))
"$PLAYAUG" info --json - <"$SOURCE_DIR/data/sample/playlists.csv" >"$WORK/stdin.json" || fail "info - failed"
expect_rc 0 info --json "$SOURCE_DIR/data/sample/playlists.csv"
CHECKS=$((CHECKS + 1))
[[ "$(cat "$WORK/stdin.json")" == "$OUT" ]] || fail "info on stdin differs from info on the file"
finish
