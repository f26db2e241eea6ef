# Outputs never hurt the user's files: an output that is one of the inputs is refused
# before any work (exit 2), special files are written through, symbolic links stay links,
# an existing file keeps its mode, and `fit-pca -o -` prints the model alone on stdout.
source "$(dirname "$0")/lib.sh"

SAMPLE="$SOURCE_DIR/data/sample/playlists.csv"
CATALOG="$SOURCE_DIR/tests/fixtures/requery/synthetic_catalog.csv"
cd "$WORK"

# check CONDITION MESSAGE: one check of a shell condition.
check() {
  CHECKS=$((CHECKS + 1))
  if ! eval "$1"; then fail "$2"; fi
}

# ---- output equal to an input -----------------------------------------------------------
mkdir in
cp "$SAMPLE" in/data.csv
cp "$CATALOG" in/catalog.csv
expect_rc 0 fit-pca in/data.csv -o in/model.json -q
sum_of() { cksum <"$1"; }
DATA_SUM=$(sum_of in/data.csv)
MODEL_SUM=$(sum_of in/model.json)
CATALOG_SUM=$(sum_of in/catalog.csv)
ln in/data.csv in/hardlink.csv
ln -s data.csv in/symlink.csv
mkdir in/sub
ls -a in >listing.before

# expect_refused WHAT ARGS...: exit 2, a message naming the problem, no file changed.
expect_refused() {
  local what=$1
  shift
  expect_rc 2 "$@"
  expect_contains "$ERR" "is the same file as the input" "$what"
  check '[[ -z "$OUT" ]]' "$what: printed on stdout: $OUT"
  check '[[ "$(sum_of in/data.csv)" == "$DATA_SUM" ]]' "$what: the dataset changed"
  check '[[ "$(sum_of in/model.json)" == "$MODEL_SUM" ]]' "$what: the model changed"
  check '[[ "$(sum_of in/catalog.csv)" == "$CATALOG_SUM" ]]' "$what: the catalog changed"
  ls -a in >listing.after
  check 'cmp -s listing.before listing.after' "$what: the directory changed: $(diff listing.before listing.after)"
}

expect_refused "fit-pca into its input" fit-pca in/data.csv -o in/data.csv
expect_refused "fit-pca into its second input" fit-pca "$SAMPLE" in/data.csv -o in/data.csv
expect_refused "fit-pca --per-playlist" fit-pca --per-playlist in/data.csv -o in/data.csv
expect_refused "augment via a hard link" augment in/data.csv -o in/hardlink.csv
expect_refused "augment via another spelling" augment in/data.csv -o ./in/sub/../data.csv
expect_refused "augment via a symlink" augment in/symlink.csv -o in/data.csv
expect_refused "augment into the symlink's target" augment in/data.csv -o in/symlink.csv
expect_refused "transform into its model" transform in/data.csv --model in/model.json -o in/model.json
expect_refused "transform into its input" transform in/data.csv -m in/model.json -o "$WORK/in/data.csv"
expect_refused "requery into its catalog" requery in/data.csv --catalog in/catalog.csv -o in/catalog.csv
expect_refused "requery into its input" requery in/data.csv --catalog in/catalog.csv -o in/hardlink.csv
# A copy is another file: allowed.
cp in/data.csv copy.csv
expect_rc 0 augment in/data.csv -o copy.csv -q
check '[[ "$(sum_of copy.csv)" != "$DATA_SUM" ]]' "augment into a copy did not write it"

# ---- special files ----------------------------------------------------------------------
expect_rc 0 augment "$SAMPLE" -o plain.csv -q --seed 3
# As root a regression would replace the real /dev/null: root writes to a copy of its
# device node instead (same major/minor numbers), other users to /dev/null itself (they
# could not replace it).
NULL_DEV=/dev/null
if [[ $(id -u) -eq 0 ]]; then
  NULL_DEV="$WORK/null"
  if ! mknod -m 666 "$NULL_DEV" c 1 3 2>/dev/null || ! : >"$NULL_DEV" 2>/dev/null; then
    echo "SKIP: cannot make a usable device node in $WORK (nodev?): character device checks skipped"
    rm -f "$NULL_DEV"
    NULL_DEV=""
  fi
fi
if [[ -n "$NULL_DEV" ]]; then
  check '[[ -c "$NULL_DEV" ]]' "$NULL_DEV is not a character device before the test"
  expect_rc 0 augment "$SAMPLE" -o "$NULL_DEV" -q --seed 3
  check '[[ -c "$NULL_DEV" ]]' "augment -o $NULL_DEV replaced the device"
  expect_rc 0 fit-pca "$SAMPLE" -o "$NULL_DEV" -q
  check '[[ -c "$NULL_DEV" ]]' "fit-pca -o $NULL_DEV replaced the device"
  expect_rc 0 synth -o "$NULL_DEV" --playlists 10 -q
  check '[[ -c "$NULL_DEV" && ! -s "$NULL_DEV" ]]' "synth -o $NULL_DEV replaced the device"
fi
rm -f "$WORK/null"

mkfifo fifo
timeout 60 cat fifo >from_fifo &  # bounded: a regression would leave no writer
READER=$!
expect_rc 0 augment "$SAMPLE" -o fifo -q --seed 3
wait "$READER" || true
check '[[ -p fifo ]]' "augment -o FIFO replaced the FIFO"
check 'cmp -s from_fifo plain.csv' "the FIFO's reader did not receive the output"

# A symbolic link stays a link; its target is replaced (and keeps its mode).
mkdir targets
echo old >targets/real.csv
chmod 600 targets/real.csv
ln -s targets/real.csv link.csv
expect_rc 0 augment "$SAMPLE" -o link.csv -q --seed 3
check '[[ -L link.csv && "$(readlink link.csv)" == targets/real.csv ]]' "the symbolic link was replaced"
check 'cmp -s targets/real.csv plain.csv' "the link's target does not hold the output"
check '[[ "$(stat -c %a targets/real.csv)" == 600 ]]' "the link's target lost its mode"
check '[[ "$(ls -A targets)" == real.csv ]]' "something was left beside the target: $(ls -A targets)"
ln -s targets/created.csv dangling.csv
expect_rc 0 augment "$SAMPLE" -o dangling.csv -q --seed 3
check '[[ -L dangling.csv ]] && cmp -s targets/created.csv plain.csv' "a dangling link's target was not created"

# ---- permissions ------------------------------------------------------------------------
for mode in 600 640 604 755; do
  echo old >perm.csv
  chmod "$mode" perm.csv
  expect_rc 0 augment "$SAMPLE" -o perm.csv -q --seed 3
  check '[[ "$(stat -c %a perm.csv)" == "$mode" ]]' "overwriting a $mode file left it $(stat -c %a perm.csv)"
  check 'cmp -s perm.csv plain.csv' "the $mode file was not rewritten"
  expect_rc 0 fit-pca "$SAMPLE" -o perm.csv -q
  check '[[ "$(stat -c %a perm.csv)" == "$mode" ]]' "fit-pca over a $mode file left it $(stat -c %a perm.csv)"
done
(umask 027 && "$PLAYAUG" synth -o umask.csv --playlists 5 -q)
check '[[ "$(stat -c %a umask.csv)" == 640 ]]' "a new file under umask 027 is $(stat -c %a umask.csv)"
(umask 077 && "$PLAYAUG" augment "$SAMPLE" -o umask2.csv -q)
check '[[ "$(stat -c %a umask2.csv)" == 600 ]]' "a new file under umask 077 is $(stat -c %a umask2.csv)"

# ---- results on standard output, notes on standard error --------------------------------
if command -v python3 >/dev/null; then
  JSON_OK='import json, sys; m = json.load(sys.stdin); sys.exit(0 if m["format"].startswith("playaug-pca") else 1)'
  expect_rc 0 fit-pca "$SAMPLE" -o -
  check 'python3 -c "$JSON_OK" <"$WORK/stdout"' "fit-pca -o - is not one JSON model: $OUT"
  expect_contains "$ERR" "PCA of" "fit-pca -o - prints its table on stderr"
  expect_rc 0 fit-pca --per-playlist "$SAMPLE" -o -
  check 'python3 -c "$JSON_OK" <"$WORK/stdout"' "fit-pca --per-playlist -o - is not valid JSON"
  expect_rc 0 fit-pca "$SAMPLE" -o "$WORK/m2.json"
  expect_contains "$OUT" "PCA of" "fit-pca -o FILE prints its table on stdout"
else
  echo "python3 not found: JSON checks skipped"
fi
expect_rc 0 augment "$SAMPLE" -o - --seed 3
check 'cmp -s "$WORK/stdout" plain.csv' "augment -o - wrote something else than the CSV on stdout"
expect_rc 0 synth -o - --playlists 4
check '[[ "$OUT" == ,moods_states,features* && "$ERR" == *"wrote 4 playlists"* ]]' "synth -o -: CSV on stdout, note on stderr"
expect_rc 0 transform "$SAMPLE" -m in/model.json -o -
check '[[ "$OUT" == ,moods_states,features* && "$ERR" == *"projected"* ]]' "transform -o -: CSV on stdout, note on stderr"
expect_rc 0 requery "$SAMPLE" --catalog "$CATALOG" -o -
check '[[ "$OUT" == ,moods_states,features,track_ids* && "$OUT" != *playaug:* ]]' "requery -o -: CSV alone on stdout"

expect_rc 0 --help
expect_contains "$OUT" ".NAME.tmp-PID-N" "--help says where temporaries live"
check '[[ -z "$(find "$WORK" -name ".*.tmp-*")" ]]' "temporaries left: $(find "$WORK" -name '.*.tmp-*')"
finish
