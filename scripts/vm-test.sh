#!/usr/bin/env bash
# The Pi install, proven on a real systemd: a Debian 12 virtual machine (qemu, software
# emulation) boots with systemd, the frame's packages are installed into it and it is driven as
# an owner would drive a Raspberry Pi: the kiosk package, enable, a photo on the VM's screen,
# reboot, the watchdog, a bad config, the token as a credential, a clip in the sandbox, upgrade
# and purge; then, on a second machine, the desktop package under sway with autologin. Every
# check prints a line; any failure exits 1. What is checked, and why, is in scripts/vm/drive.py.
#
#   scripts/vm-test.sh [--arch amd64|arm64] [--only kiosk|desktop]
#
# Needs root, qemu-system-x86 (qemu-system-arm for arm64), qemu-utils, mmdebstrap, e2fsprogs,
# imagemagick, ffmpeg, python3 and cargo-deb. The machine image is built from the Debian archive
# once and cached in $DISCORD_FRAME_CACHE (default /var/cache/discord-frame-ci), keyed by the
# script that builds it: it is rebuilt when that script changes or the image is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=amd64
only=()
while (($#)); do
  case $1 in
    --arch) arch=$2; shift 2 ;;
    --only) only=(--only "$2"); shift 2 ;;
    *) echo "usage: scripts/vm-test.sh [--arch amd64|arm64] [--only kiosk|desktop]" >&2; exit 2 ;;
  esac
done
case $arch in
  amd64) qemu_arch=x86_64; target=() ;;
  arm64) qemu_arch=aarch64; target=(--target aarch64-unknown-linux-gnu) ;;
  *) echo "vm-test: --arch is amd64 or arm64" >&2; exit 2 ;;
esac
start=$SECONDS
say() { printf '[%4ds] %s\n' "$((SECONDS - start))" "$*"; }

cache=${DISCORD_FRAME_CACHE:-/var/cache/discord-frame-ci}
key=$(cat scripts/vm/build-image.sh | sha256sum | cut -c1-12)
image=$cache/vm-$arch-$key
if [[ -f $image/disk.img && -f $image/vmlinuz && -f $image/initrd.img ]]; then
  say "machine image: $image (cached)"
else
  say "machine image: building $image from the Debian archive"
  rm -rf "$cache"/vm-"$arch"-*
  scripts/vm/build-image.sh "$image" "$arch"
  say "machine image built"
fi

# The packages under test: the same metadata, units and maintainer scripts as the Pi's, built
# for this machine; and a -2 of each, as an upgrade would bring.
say "building the packages (cargo deb)"
debs=target/debian/vm
rm -rf "$debs"
for variant in "" kiosk; do
  flags=("${target[@]}")
  [[ -n $variant ]] && flags+=(--variant "$variant")
  cargo deb "${flags[@]}" --fast --output "$debs/1" | tail -n 1
  cargo deb "${flags[@]}" --fast --no-build --deb-revision 2 --output "$debs/2" | tail -n 1
done

share=$(mktemp -d /tmp/discord-frame-vm.XXXXXX)
work=$share.work
cleanup() {
  local rc=$?
  if ((rc)); then
    echo "vm-test: the machines' consoles and screens are in $work and $share/out"
  else
    rm -rf "$share" "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
mkdir -p "$share/out" "$work"
cp -r "$debs/1" "$debs/2" "$share/"
mkdir -p "$share/debs" && mv "$share/1" "$share/2" "$share/debs/"
cp tests/fixtures/ladybird.jpg "$share/photo.jpg"
# A short clip for the kiosk's sandbox: small, because the machine is emulated.
ffmpeg -loglevel error -f lavfi -i testsrc2=size=320x240:rate=10 -t 4 -c:v libx264 \
  -pix_fmt yuv420p "$share/clip.mp4"

say "booting the machine(s)"
python3 scripts/vm/drive.py --image "$image" --share "$share" --work "$work" \
  --arch "$qemu_arch" "${only[@]}"
say "vm-test: done"
