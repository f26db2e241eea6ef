# --version, --help, and --help of every command the tool lists.
source "$(dirname "$0")/lib.sh"

expect_rc 0 --version
CHECKS=$((CHECKS + 1))
[[ "$OUT" =~ ^playaug\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version printed '$OUT'"

expect_rc 0 --help
expect_contains "$OUT" "Usage" "playaug --help"
# The commands listed under "Subcommands:".
mapfile -t commands < <(printf '%s\n' "$OUT" | awk '/^Subcommands:/{on=1; next} on && /^  [a-z]/{print $1}')
CHECKS=$((CHECKS + 1))
[[ ${#commands[@]} -ge 6 ]] || fail "expected at least 6 commands in --help, found: ${commands[*]:-none}"
for c in info synth; do
  CHECKS=$((CHECKS + 1))
  [[ " ${commands[*]} " == *" $c "* ]] || fail "command $c is not listed in --help"
done
for c in "${commands[@]}"; do
  expect_rc 0 "$c" --help
  expect_contains "$OUT" "Usage" "playaug $c --help"
  CHECKS=$((CHECKS + 1))
  [[ -z "$ERR" ]] || fail "playaug $c --help wrote to stderr: $ERR"
done

expect_rc 0 info --help
expect_contains "$OUT" "--json" "info --help"
expect_rc 0 synth --help
for opt in --output --playlists --min-songs --max-songs --seed --empty-fraction; do
  expect_contains "$OUT" "$opt" "synth --help"
done
finish
