# The README's examples that show exact output (the malformed-file message and the
# transform example) still print what the README says, run from a scratch directory.
source "$(dirname "$0")/lib.sh"

readme="$SOURCE_DIR/README.md"
mkdir -p "$WORK/out"
cd "$WORK"
cp "$SOURCE_DIR/data/sample/playlists.csv" "$WORK/sample.csv"

# block_after PROMPT: the lines the README shows after "$ PROMPT", up to the next "$ " or fence.
block_after() {
  awk -v cmd="\$ $1" '
    $0 == cmd { on = 1; next }
    on && (/^\$ / || /^```/) { exit }
    on { print }' "$readme"
}

# 1. The malformed file: its contents and the message.
bad=$(block_after "cat out/bad.csv")
CHECKS=$((CHECKS + 1))
[[ -n "$bad" ]] || fail "README has no 'cat out/bad.csv' example"
printf '%s\n' "$bad" >out/bad.csv
want=$(block_after "build/playaug info out/bad.csv")
expect_rc 1 info out/bad.csv
CHECKS=$((CHECKS + 1))
[[ "$ERR" == "$want" ]] || fail "README's bad.csv message: README says '$want', playaug says '$ERR'"

# 2. fit-pca then transform: the first 100 characters of the output's first two lines.
expect_rc 0 fit-pca sample.csv -o out/model.json --variance 0.99 --device cpu
expect_rc 0 transform sample.csv --model out/model.json -o out/coords.csv --device cpu
want=$(block_after "head -n 2 out/coords.csv | cut -c 1-100")
got=$(head -n 2 out/coords.csv | cut -c 1-100)
CHECKS=$((CHECKS + 1))
[[ -n "$want" && "$got" == "$want" ]] || fail "README's transform example: README says '$want', playaug wrote '$got'"

finish
