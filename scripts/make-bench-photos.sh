#!/usr/bin/env bash
# Makes the benchmark inputs from real photographs (Debian's mate-backgrounds): montages of
# nature photos, saved as a phone would (JPEG q90, 4:2:0, baseline).
#   12mp.jpg  4032×3024    48mp.jpg  8000×6000    12mp.png  4032×3024 (RGB, 8-bit)
# Usage: scripts/make-bench-photos.sh [DIR]   (default: bench-photos/). Installs what it needs.
set -euo pipefail
dir=${1:-bench-photos}
need=()
[[ -d /usr/share/backgrounds/mate/nature ]] || need+=(mate-backgrounds)
command -v convert >/dev/null && convert -version 2>/dev/null | grep -q ImageMagick || need+=(imagemagick)
if ((${#need[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
mkdir -p "$dir"
nature=/usr/share/backgrounds/mate/nature
if [[ ! -s $dir/12mp.jpg ]]; then
  # 2×2 photos of 2016×1512 each.
  montage "$nature"/{LadyBird,Garden,YellowFlower,TwoWings}.jpg -tile 2x2 -geometry '2016x1512!+0+0' \
    -strip -quality 90 -sampling-factor 2x2 -interlace none "$dir/12mp.jpg"
fi
if [[ ! -s $dir/48mp.jpg ]]; then
  # 4×4 photos of 2000×1500, each shrunk from a larger original so that detail stays sharp.
  abstract=/usr/share/backgrounds/mate/abstract
  montage "$nature"/*.jpg "$abstract"/Elephants*.jpg /usr/share/backgrounds/mate/desktop/GreenTraditional.jpg \
    -tile 4x4 -geometry '2000x1500!+0+0' -strip -quality 90 -sampling-factor 2x2 -interlace none "$dir/48mp.jpg"
fi
if [[ ! -s $dir/12mp.png ]]; then
  convert "$dir/12mp.jpg" -strip -type TrueColor -depth 8 "$dir/12mp.png"
fi
identify "$dir"/12mp.jpg "$dir"/48mp.jpg "$dir"/12mp.png
