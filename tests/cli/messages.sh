# Messages: control characters escaped and long ids cut, range errors without DBL_MAX,
# one prefix and the options' own spelling, the CPU note only after parsing, help texts,
# and synth --device.
source "$(dirname "$0")/lib.sh"
SAMPLE="$SOURCE_DIR/data/sample/playlists.csv"
ESC=$'\x1b'

# expect_no_raw_controls WHAT: stderr holds no ESC, BEL or other C0 byte but the newlines.
expect_no_raw_controls() {
  CHECKS=$((CHECKS + 1))
  if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$WORK/stderr"; then
    fail "$1: raw control characters on stderr: $(od -c "$WORK/stderr" | head -5)"
  fi
}

# expect_prefixed WHAT: every line of stderr starts with "playaug: ".
expect_prefixed() {
  CHECKS=$((CHECKS + 1))
  local line
  while IFS= read -r line; do
    [[ "$line" == "playaug: "* ]] || fail "$1: a line without the 'playaug: ' prefix: $line"
  done <"$WORK/stderr"
}

# --- escaping and cutting -----------------------------------------------------------------
printf ',moods_states,features\nok1,"[[1]]","[[0.5, 2]]"\n%s,"[[1]]","[[0.5, oops]]"\n' \
  "evil${ESC}[2J${ESC}[31mred"$'\a' >"$WORK/escape.csv"
expect_rc 1 info "$WORK/escape.csv"
expect_no_raw_controls "an id with escape sequences"
expect_contains "$ERR" "(playlist 'evil\\e[2J\\e[31mred\\x07')" "the id is shown escaped"
expect_prefixed "data error"

{
  printf ',moods_states,features\n'
  head -c 10000000 /dev/zero | tr '\0' 'a'
  printf ',"[[1]]","[[0.5, oops]]"\n'
} >"$WORK/long.csv"
expect_rc 1 info "$WORK/long.csv"
CHECKS=$((CHECKS + 1))
[[ ${#ERR} -lt 300 ]] || fail "a 10 MB id gave a message of ${#ERR} bytes"
expect_contains "$ERR" "... (10000000 bytes)')" "the cut id says how long it was"

printf ',moods_states,features\n\xff\xfeid,"[[1]]","[[0.5, oops]]"\n' >"$WORK/latin.csv"
expect_rc 1 info "$WORK/latin.csv"
# Ids must be UTF-8 (the reader refuses others, docs/data-format.md); the message itself
# never carries the raw bytes.
expect_contains "$ERR" "latin.csv:2: the playlist id is not valid UTF-8" "an invalid UTF-8 id is refused with file and line"
CHECKS=$((CHECKS + 1))
[[ "$ERR" != *$'\xff'* ]] || fail "the raw invalid byte was echoed: $ERR"

# The command line is echoed escaped too, CLI11's own errors included.
expect_rc 2 augment "$SAMPLE" -o "$WORK/x.csv" --device "${ESC}[2Jgpu"
expect_no_raw_controls "a bad --device"
expect_contains "$ERR" "--device must be one of auto, cpu, cuda, got '\\e[2Jgpu'" "--device message"
expect_rc 2 info "$SAMPLE" "${ESC}[2Jextra"
expect_no_raw_controls "an extra argument"
expect_prefixed "CLI11 parse error"
expect_rc 1 info "$WORK/no${ESC}[2Jsuch.csv"
expect_no_raw_controls "a missing file with an escape in its name"
expect_contains "$ERR" "no\\e[2Jsuch.csv" "the file name is shown escaped"

# requery's messages quote the id escaped and the value as the CSV writes numbers.
printf ',moods_states,features\n%s,"[[1]]","[[0.5, 0.5, 0.5, 0.0, 5, 0.1, -8.0, 1, 0.05, 1e30, 0.5]]"\n' \
  "far${ESC}[2J" >"$WORK/far.csv"
expect_rc 1 requery "$WORK/far.csv" -o "$WORK/far-out.csv" -p 0 --allow-repeats --device cpu --quiet \
  --catalog "$SOURCE_DIR/tests/fixtures/requery/synthetic_catalog.csv"
expect_no_raw_controls "requery"
expect_contains "$ERR" "playlist 'far\\e[2J' song 1: tempo = 1e+30 is too far" "requery's message"

# --- range errors -------------------------------------------------------------------------
# expect_usage MESSAGE ARGS...: exit 2, MESSAGE on stderr, no DBL_MAX digits, short.
expect_usage() {
  local want=$1
  shift
  expect_rc 2 "$@"
  expect_contains "$ERR" "playaug: error: $want" "playaug $*"
  CHECKS=$((CHECKS + 1))
  [[ "$ERR" != *1797693* && ${#ERR} -lt 300 ]] || fail "playaug $*: an unreadable message: $ERR"
  expect_prefixed "playaug $*"
}
U64=18446744073709551615
expect_usage "--seed must be an integer in [0, $U64], got '-1'" synth -o "$WORK/s.csv" --playlists 3 --seed -1
expect_usage "--seed must be an integer in [0, $U64], got '18446744073709551616'" \
  synth -o "$WORK/s.csv" --playlists 3 --seed 18446744073709551616
expect_usage "--playlists must be an integer in [0, 4294967296], got '99999999999999999999'" \
  synth -o "$WORK/s.csv" --playlists 99999999999999999999
expect_usage "--playlists must be an integer in [0, 4294967296], got '-5'" synth -o "$WORK/s.csv" --playlists -5
expect_usage "--playlists must be an integer in [0, 4294967296], got 'five'" synth -o "$WORK/s.csv" --playlists five
expect_usage "--threads must be an integer in [0, 4096], got '-2'" synth -o "$WORK/s.csv" --playlists 3 --threads -2
expect_usage "--threads must be an integer in [0, 4096], got '-2'" augment "$SAMPLE" -o "$WORK/a.csv" --threads -2
expect_usage "--min-songs must be an integer in [1, 100000], got '0'" synth -o "$WORK/s.csv" --playlists 3 --min-songs 0
expect_usage "--max-songs (3) is below --min-songs (9)" synth -o "$WORK/s.csv" --playlists 3 --min-songs 9 --max-songs 3
expect_usage "--empty-fraction must be a number in [0, 1], got '1.5'" \
  synth -o "$WORK/s.csv" --playlists 3 --empty-fraction 1.5
expect_usage "--components must be an integer in [1, 1048576], got '0'" fit-pca "$SAMPLE" -o "$WORK/m.json" -k 0
expect_usage "--variance must be a number in (0, 1), got '1'" fit-pca "$SAMPLE" -o "$WORK/m.json" --variance 1
expect_usage "--components must be at most the number of features, 11, got '12'" \
  fit-pca "$SAMPLE" -o "$WORK/m.json" -k 12 --device cpu
expect_usage "--chunk-songs must be an integer in [1, 1073741824], got '0'" \
  fit-pca "$SAMPLE" -o "$WORK/m.json" --chunk-songs 0
expect_usage "--phi must be a number in [0, 1], got '1.5'" augment "$SAMPLE" -o "$WORK/a.csv" --phi 1.5
expect_usage "--phi must be a number in [0, 1], got 'nan'" augment "$SAMPLE" -o "$WORK/a.csv" --phi nan
expect_usage "--protuberance must be a number in [0, 1), got '1'" augment "$SAMPLE" -o "$WORK/a.csv" -p 1
expect_usage "--copies must be an integer in [0, 16777215], got '-1'" augment "$SAMPLE" -o "$WORK/a.csv" -k -1
expect_usage "--seed must be an integer in [0, $U64], got '1e3'" augment "$SAMPLE" -o "$WORK/a.csv" --seed 1e3
expect_usage "--spotify-timeout must be a number in [0.001, 3600], got 'inf'" \
  requery "$SAMPLE" -o "$WORK/r.csv" --spotify --genre edm --spotify-timeout inf
CHECKS=$((CHECKS + 1))
for f in s.csv m.json a.csv r.csv; do
  [[ ! -e "$WORK/$f" ]] || fail "a usage error left $WORK/$f behind"
done
# The largest seed is a seed like any other.
expect_rc 0 synth -o "$WORK/big-seed.csv" --playlists 2 --seed $U64 --quiet

# --- one style ----------------------------------------------------------------------------
expect_rc 2 synth --playlists 5
expect_contains "$ERR" "playaug: error: --output is required" "a missing option"
expect_contains "$ERR" "playaug: see 'playaug synth --help'" "where to read more"
expect_prefixed "a missing option"
expect_rc 2 no-such-command
expect_prefixed "an unknown command"
expect_rc 1 info "$WORK/does-not-exist.csv"
expect_prefixed "a missing file"
expect_contains "$ERR" "playaug: error: " "a runtime error"
CHECKS=$((CHECKS + 1))
[[ "$ERR" != *min_songs* && "$ERR" != *fit_pca* ]] || fail "library spellings in: $ERR"

# The CPU note comes after the arguments are checked: a usage error prints no note.
expect_rc 2 augment "$SAMPLE" -o "$WORK/a.csv" --device auto --phi 2
CHECKS=$((CHECKS + 1))
[[ "$ERR" != *"using the CPU"* ]] || fail "a note before a usage error: $ERR"
expect_rc 2 requery "$SAMPLE" -o "$WORK/r.csv" --spotify --device auto
expect_contains "$ERR" "--spotify needs at least one --genre" "requery usage error"
CHECKS=$((CHECKS + 1))
[[ "$ERR" != *"using the CPU"* ]] || fail "a note before a usage error: $ERR"

# --- help texts ---------------------------------------------------------------------------
for cmd in info fit-pca transform augment requery; do
  expect_rc 0 "$cmd" --help
  expect_contains "$OUT" "FILE" "$cmd --help names its input FILE"
  expect_contains "$OUT" "'-' for standard input" "$cmd --help says where '-' is accepted"
done
for cmd in synth fit-pca transform augment requery; do
  expect_rc 0 "$cmd" --help
  expect_contains "$OUT" "'-' for standard output" "$cmd --help says -o accepts '-'"
  expect_contains "$OUT" "--device" "$cmd takes --device"
done
expect_rc 0 fit-pca --help
expect_contains "$OUT" "FILE ..." "fit-pca takes several files"

# --- synth --device -----------------------------------------------------------------------
expect_rc 0 synth -o "$WORK/plain.csv" --playlists 50 --seed 3 --quiet
for dev in auto cpu cuda; do
  expect_rc 0 synth -o "$WORK/dev-$dev.csv" --playlists 50 --seed 3 --quiet --device "$dev"
  CHECKS=$((CHECKS + 1))
  cmp -s "$WORK/plain.csv" "$WORK/dev-$dev.csv" || fail "synth --device $dev changed the output"
done
expect_usage "--device must be one of auto, cpu, cuda, got 'gpu'" synth -o "$WORK/s.csv" --playlists 3 --device gpu

# --- binary inputs: a Parquet or gzip file is named as such, not as a CSV quoting error ------
printf 'PAR1\x15\x04\x15\x10' >"$WORK/data.parquet"
expect_rc 1 info "$WORK/data.parquet"
expect_contains "$ERR" "data.parquet: this is a Parquet file" "a Parquet input is recognised"
expect_contains "$ERR" "playaug.convert" "and the conversion is named"
gzip -c "$SAMPLE" >"$WORK/sample.csv.gz"
expect_rc 1 fit-pca "$WORK/sample.csv.gz" -o "$WORK/never.json"
expect_contains "$ERR" "sample.csv.gz: this is a gzip-compressed file" "a gzip input is recognised"
CHECKS=$((CHECKS + 1))
[[ ! -e "$WORK/never.json" ]] || fail "a rejected gzip input left an output"

finish
