#!/usr/bin/env bash
# Times `discord-frame render` against libvips' `vipsthumbnail` on the same photos, in the same
# run, whole process (start-up included for both), and prints the ratio and peak RSS.
#   scripts/bench-vs-libvips.sh [RUNS]        (default 10 runs each, in each of 3 rounds)
# Installs libvips-tools, hyperfine and GNU time if missing; builds the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
need=()
command -v vipsthumbnail >/dev/null || need+=(libvips-tools)
command -v hyperfine >/dev/null || need+=(hyperfine)
[[ -x /usr/bin/time ]] || need+=(time)
# mozjpeg's x86 SIMD is assembled by nasm; without it the decoder is built without SIMD.
command -v nasm >/dev/null || need+=(nasm)
if ((${#need[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
scripts/make-bench-photos.sh bench-photos >/dev/null
cargo build --release --quiet
bin=$PWD/target/release/discord-frame
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

rss_mb() { # peak RSS of one run of "$@", in MB
  /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ { printf "%.0f", $2 / 1024 }'
}

printf '| input → 1920×1080 | discord-frame | vipsthumbnail | ratio | peak RSS discord-frame | peak RSS vipsthumbnail |\n'
printf '|---|---|---|---|---|---|\n'
# The machine is shared: a burst of load during one command's runs would skew the ratio. So
# the two commands alternate, in several rounds of hyperfine, and the medians are taken over
# every run of every round.
rounds=3
for photo in 12mp.jpg 48mp.jpg 12mp.png; do
  in=bench-photos/$photo
  ours="$bin render $in --size 1920x1080 --out $out/ours.ppm"
  vips="vipsthumbnail $in --size 1920x1080 -o $out/vips.ppm"
  for r in $(seq "$rounds"); do
    hyperfine -N --style none --warmup 2 --runs "$runs" --export-json "$out/h$r.json" "$ours" "$vips" >/dev/null
  done
  read -r t_ours t_vips < <(python3 -c '
import json, statistics, sys
times = [[], []]
for path in sys.argv[1:]:
    for i, result in enumerate(json.load(open(path))["results"]):
        times[i] += result["times"]
print(*(round(statistics.median(t) * 1000) for t in times))' "$out"/h*.json)
  rss_ours=$(rss_mb $ours)
  rss_vips=$(rss_mb $vips)
  ratio=$(python3 -c "print(f'{$t_ours / $t_vips:.2f}×')")
  printf '| %s | %s ms | %s ms | %s | %s MB | %s MB |\n' "$photo" "$t_ours" "$t_vips" "$ratio" "$rss_ours" "$rss_vips"
done
