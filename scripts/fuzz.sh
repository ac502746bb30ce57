#!/usr/bin/env bash
# Runs the fuzz targets in fuzz/ (cargo fuzz, libFuzzer with AddressSanitizer), each for a
# bounded time: `scripts/fuzz.sh 30` in CI, `scripts/fuzz.sh 3600 render` by hand.
#   $1  seconds per target (default 60)
#   $2… targets (default: all of render, config, message_options, caption)
# Seeds: tests/fixtures (photos) and short texts. Findings land in fuzz/artifacts/<target>/;
# turn each into a regression test (tests/hostile.rs for photos) before fixing it.
# cargo fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain take them.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(render config message_options caption)
if [[ $(cargo fuzz --version 2>/dev/null) != *"0.13.2"* ]]; then
  cargo install cargo-fuzz --version 0.13.2 --locked --quiet
fi
export RUSTC_BOOTSTRAP=1
# The same versions of every dependency as the frame itself builds with.
[[ -f fuzz/Cargo.lock ]] || cp Cargo.lock fuzz/Cargo.lock
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$corpus/$t"
  case $t in
    render)
      # The small fixtures: the huge-header ones are refused at once and teach little.
      find tests/fixtures -type f -size -200k -exec cp {} "$corpus/$t/" \; ;;
    config) cp config.toml "$corpus/$t/" ;;
    message_options)
      printf '%s' 'Sunday at the lake --fit cover --duration 5m' >"$corpus/$t/1"
      printf '%s' '"quoted caption" --duration=90s --fit=contain' >"$corpus/$t/2" ;;
    caption)
      printf '%s' 'Grandma'"'"'s 90th birthday, with everyone there 🎂' >"$corpus/$t/1" ;;
  esac
done
for t in "${targets[@]}"; do
  echo "fuzzing $t for ${seconds}s"
  # -rss_limit_mb: the render target's budget is 32 MB, so 512 MB means a limit was bypassed.
  log="$corpus/$t.log"
  if ! cargo fuzz run --release "$t" "$corpus/$t" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=512 -max_len=1048576 \
      -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz: $t failed (a crash is in fuzz/artifacts/$t/)" >&2
    exit 1
  fi
  grep -E "^stat::(number_of_executed_units|peak_rss_mb)" "$log" | tr '\n' ' '
  echo
  if compgen -G "fuzz/artifacts/$t/*" >/dev/null; then
    echo "fuzz: $t found a failure: fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
