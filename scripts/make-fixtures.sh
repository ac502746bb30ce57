#!/usr/bin/env bash
# Makes the small test fixtures under tests/fixtures/ from real photographs (Debian's
# mate-backgrounds). Their output is committed; run this again only to change them.
# Needs: mate-backgrounds imagemagick libimage-exiftool-perl webp libheif-examples python3.
set -euo pipefail
cd "$(dirname "$0")/.."
src=/usr/share/backgrounds/mate/nature/LadyBird.jpg
out=tests/fixtures
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The reference photo: 640×400, a ladybird on a leaf (nothing in it is symmetric).
convert "$src" -resize 640x400 -strip "$tmp/base.png"
convert "$tmp/base.png" -quality 90 -sampling-factor 2x2 "$out/ladybird.jpg"
convert "$tmp/base.png" "$out/ladybird.png"
convert "$tmp/base.png" -depth 16 "PNG48:$out/ladybird-16bit.png"
convert "$tmp/base.png" -colorspace Gray -quality 90 "$out/ladybird-gray.jpg"
convert "$tmp/base.png" -colorspace CMYK -quality 90 "$out/ladybird-cmyk.jpg"
convert "$tmp/base.png" -quality 90 -interlace Plane "$out/ladybird-progressive.jpg"
# The photo as a camera would store it: its EXIF block says when it was taken (captions' date).
exiftool -q -DateTimeOriginal="2019:06:15 14:30:00" -o "$out/ladybird-dated.jpg" "$out/ladybird.jpg"
convert "$tmp/base.png" -compress LZW "$out/ladybird.tiff"
convert "$tmp/base.png" -type TrueColor "BMP3:$out/ladybird.bmp"
cwebp -quiet -q 85 "$tmp/base.png" -o "$out/ladybird.webp"
# Transparent corners: a rounded-rectangle alpha mask.
convert "$tmp/base.png" \( -size 640x400 xc:black -fill white -draw "roundrectangle 0,0 639,399 120,120" \) \
  -alpha off -compose CopyOpacity -composite "$out/ladybird-alpha.png"
# An animation whose second frame is the photo upside down: only the first may show.
convert -delay 50 "$tmp/base.png" \( "$tmp/base.png" -flip \) -colors 128 "$out/ladybird-animated.gif"
heif-enc -q 60 "$tmp/base.png" -o "$out/ladybird.heic" >/dev/null

# EXIF orientations 1-8: each file stores the pixels turned the way a camera would have
# stored them, and carries the tag that turns them upright again. Upright, all eight are the
# same 120×80 picture.
convert "$tmp/base.png" -resize 120x80! "$tmp/upright.png"
declare -A stored=(
  [1]="" [2]="-flop" [3]="-rotate 180" [4]="-flip"
  [5]="-transpose" [6]="-rotate 270" [7]="-transverse" [8]="-rotate 90"
)
for n in 1 2 3 4 5 6 7 8; do
  # shellcheck disable=SC2086
  convert "$tmp/upright.png" ${stored[$n]} -quality 95 "$out/orient-$n.jpg"
  exiftool -q -overwrite_original -n -Orientation="$n" "$out/orient-$n.jpg"
done
convert "$tmp/upright.png" "$out/orient-upright.png"

# Hostile headers: valid signatures whose dimensions claim far more than any limit allows.
python3 - "$out" <<'PY'
import struct, sys, zlib
out = sys.argv[1]
def png(w, h):
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
open(f"{out}/huge-100000x100000.png", "wb").write(png(100000, 100000))
# Under 250 MP, but 225 MP of RGBA is 900 MB: over the decode budget.
open(f"{out}/huge-15000x15000.png", "wb").write(png(15000, 15000))
# JPEG and GIF store 16-bit sides: 65000×65000 and 65535×65535 are as large as they can claim.
sof = struct.pack(">BHHB", 8, 65000, 65000, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
sos = bytes([3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0])
open(f"{out}/huge-65000x65000.jpg", "wb").write(
    b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof
    + b"\xff\xda" + struct.pack(">H", len(sos) + 2) + sos + b"\x00" * 16 + b"\xff\xd9")
open(f"{out}/huge-65535x65535.gif", "wb").write(
    b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0) + b"\x2c" + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + b"\x02\x02\x44\x01\x00\x3b")
PY
ls -la "$out"
