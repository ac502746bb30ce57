#!/usr/bin/env bash
# Renders each photo with the x86-64 and the aarch64 release builds (the latter under qemu, so
# that libjpeg-turbo's and fast_image_resize's NEON paths run) and checks the slides agree:
# identical, or at worst 45 dB PSNR apart.
#   scripts/compare-aarch64.sh PHOTO...
# Needs both release builds, qemu-user, libc6-dev-arm64-cross and imagemagick.
set -euo pipefail
x86=target/release/discord-frame
arm=target/aarch64-unknown-linux-gnu/release/discord-frame
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
for photo in "$@"; do
  for fit in contain cover; do
    "$x86" render "$photo" --size 1920x1080 --fit "$fit" --out "$out/x86.ppm"
    qemu-aarch64 -L /usr/aarch64-linux-gnu "$arm" render "$photo" --size 1920x1080 --fit "$fit" --out "$out/arm.ppm"
    if cmp -s "$out/x86.ppm" "$out/arm.ppm"; then
      echo "$photo ($fit): aarch64 and x86-64 slides identical"
    else
      # `compare` prints the PSNR on stderr and exits 1 when the images differ at all.
      psnr=$(compare -metric PSNR "$out/x86.ppm" "$out/arm.ppm" null: 2>&1 || true)
      if python3 -c "import sys; sys.exit(0 if float('$psnr') >= 45 else 1)" 2>/dev/null; then
        echo "$photo ($fit): aarch64 and x86-64 slides differ slightly: $psnr dB"
      else
        echo "$photo ($fit): aarch64 and x86-64 slides DIFFER: PSNR $psnr dB" >&2
        status=1
      fi
    fi
  done
done
exit $status
