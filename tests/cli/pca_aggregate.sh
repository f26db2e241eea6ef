# fit-pca --per-playlist --aggregate: the options' rules, the model transform reads, the
# table (skipped playlists counted, principal angles to the global model), and the errors.
source "$(dirname "$0")/lib.sh"
SAMPLE="$SOURCE_DIR/data/sample/playlists.csv"

# The options' rules: usage errors (exit 2) before anything is written.
expect_rc 2 fit-pca "$SAMPLE" --per-playlist --aggregate projector -o "$WORK/m.json" --device cpu
expect_contains "$ERR" "--aggregate projector needs the rank of every playlist's projector" "projector needs a rank"
expect_rc 2 fit-pca "$SAMPLE" --per-playlist --aggregate average -k 2 -o "$WORK/m.json"
expect_contains "$ERR" "--aggregate must be one of projector, pooled" "the methods"
expect_rc 2 fit-pca "$SAMPLE" --aggregate pooled -o "$WORK/m.json"
expect_contains "$ERR" "--per-playlist" "--aggregate needs --per-playlist"
expect_rc 2 fit-pca "$SAMPLE" --per-playlist --weight songs -o "$WORK/m.json"
expect_contains "$ERR" "--aggregate" "--weight needs --aggregate"
expect_rc 2 fit-pca "$SAMPLE" --per-playlist --aggregate pooled --weight lots -o "$WORK/m.json"
expect_rc 2 fit-pca "$SAMPLE" --per-playlist -k 3 -o "$WORK/m.json"
expect_contains "$ERR" "--components and --variance apply to its --aggregate" "-k without --aggregate"
expect_rc 2 fit-pca "$SAMPLE" --per-playlist --aggregate pooled --standardize -o "$WORK/m.json"
expect_rc 2 fit-pca "$SAMPLE" --per-playlist --aggregate projector -k 12 -o "$WORK/m.json" --device cpu
expect_contains "$ERR" "--components must be at most the number of features, 11" "-k above d"
expect_rc 2 fit-pca "$SAMPLE" --per-playlist --aggregate projector -k 2 --variance 0.9 -o "$WORK/m.json"
CHECKS=$((CHECKS + 1))
[[ ! -e "$WORK/m.json" ]] || fail "a usage error left a model behind"

# A model transform reads, with the method and weight keys.
expect_rc 0 fit-pca "$SAMPLE" --per-playlist --aggregate projector -k 3 -o "$WORK/proj.json" --device cpu
expect_contains "$OUT" "PCA aggregate (projector average, weight: playlists) of " "the table's title"
expect_contains "$OUT" "300 playlists: " "every playlist counted"
expect_contains "$OUT" " skipped with too few songs, 0 skipped of too low a rank, 6 empty" "skips counted"
expect_contains "$OUT" "agreement" "projector eigenvalues are agreement"
expect_contains "$OUT" "principal angles to the global PCA's top 3 components (degrees):" "the angles"
expect_contains "$(cat "$WORK/proj.json")" '"method": "projector",' "the method key"
expect_contains "$(cat "$WORK/proj.json")" '"weight": "playlists",' "the weight key"
expect_contains "$(cat "$WORK/proj.json")" '"n_components": 3,' "k"
expect_rc 0 transform "$SAMPLE" --model "$WORK/proj.json" -o "$WORK/coords.csv" --quiet --device cpu
expect_rc 0 transform "$WORK/coords.csv" --model "$WORK/proj.json" -o "$WORK/back.csv" --inverse --quiet --device cpu
expect_rc 0 info "$WORK/coords.csv" --json
expect_contains "$OUT" '"features": 3' "transform projects onto the aggregate's 3 components"

expect_rc 0 fit-pca "$SAMPLE" --per-playlist --aggregate pooled --weight songs --variance 0.9 -o "$WORK/pooled.json" \
  --device cpu --chunk-songs 100
expect_contains "$OUT" "PCA aggregate (pooled covariance average, weight: songs)" "pooled title"
expect_contains "$OUT" "eigenvalue" "pooled eigenvalues"
expect_contains "$(cat "$WORK/pooled.json")" '"method": "pooled",' "the pooled method key"

# -o -: the model alone on standard output, the table on standard error.
expect_rc 0 fit-pca "$SAMPLE" --per-playlist --aggregate projector --variance 0.9 -o - --device cpu
CHECKS=$((CHECKS + 1))
[[ "$OUT" == "{"*"}" && "$OUT" != *"principal angles"* ]] || fail "-o - mixed the table into the model"
expect_contains "$ERR" "principal angles" "the table goes to stderr with -o -"
expect_rc 0 fit-pca "$SAMPLE" --per-playlist --aggregate projector -k 2 -o "$WORK/q.json" -q --device cpu
CHECKS=$((CHECKS + 1))
[[ -z "$OUT" && -z "$ERR" ]] || fail "--quiet printed: $OUT $ERR"

# Nothing to aggregate: a data error naming the file.
printf ',moods_states,features\na,[[1]],"[[1, 2], [3, 5]]"\nb,[[2]],[null]\nc,[[3]],"[[0, 1]]"\n' >"$WORK/tiny.csv"
expect_rc 1 fit-pca "$WORK/tiny.csv" --per-playlist --aggregate projector -k 2 -o "$WORK/t.json" --device cpu
expect_contains "$ERR" "playaug: error: $WORK/tiny.csv: no playlist to aggregate: 2 have too few songs (at least 3 needed)" \
  "too few songs for the rank"
expect_rc 0 fit-pca "$WORK/tiny.csv" --per-playlist --aggregate pooled -o "$WORK/t.json" --device cpu
expect_contains "$OUT" "3 playlists: 1 aggregated (2 songs), 1 skipped with too few songs, 0 skipped of too low a rank, 1 empty" \
  "pooled takes the 2-song playlist"
printf ',moods_states,features\na,[[1]],[null]\n' >"$WORK/none.csv"
expect_rc 1 fit-pca "$WORK/none.csv" --per-playlist --aggregate pooled -o "$WORK/n.json" --device cpu
expect_contains "$ERR" "no songs to fit" "no songs at all"
finish
