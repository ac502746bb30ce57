#!/usr/bin/env bash
# Builds the Debian 12 (bookworm) virtual machine that scripts/vm-test.sh installs the frame's
# package into: a minimal system booted by systemd, as a raw ext4 disk image made without loop
# mounts (mkfs.ext4 -d), with the image's own kernel and initrd beside it.
#   scripts/vm/build-image.sh OUT_DIR [amd64]
# OUT_DIR receives disk.img, vmlinuz and initrd.img. Needs root, mmdebstrap and e2fsprogs, and
# the Debian archive (the only network it uses).
#
# What the image holds, and why:
# - systemd as PID 1, dbus, logind (libpam-systemd), udev, a kernel with its DRM drivers
#   (virtio-gpu) and initramfs: what Raspberry Pi OS Lite boots into.
# - qemu-guest-agent: the test drives the machine through it, as an owner at a shell would.
# - apt's package lists and the .debs of everything the frame's packages depend on (cage,
#   xwayland, seatd), of what the kiosk package recommends (GStreamer, for clips) and of the
#   desktop (sway, dex, polkitd, Mesa), downloaded but not installed: the
#   machine has no network, so `apt install ./discord-frame*.deb` inside it must resolve its
#   dependencies from bookworm's lists alone, as on a Pi.
# - a desktop user `pi` (autologin on tty1 when the desktop check asks for it).
set -euo pipefail
out=${1:?usage: build-image.sh OUT_DIR [amd64]}
arch=${2:-amd64}
if [[ $arch != amd64 ]]; then
  echo "build-image.sh: only amd64 images are built here (this machine runs no foreign binaries)" >&2
  exit 2
fi
mkdir -p "$out"
work=$(mktemp -d "${out%/}/build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Installed now: the base system. Downloaded only: what the frame's packages and the desktop
# check will install inside the machine.
base=systemd,systemd-sysv,dbus,libpam-systemd,linux-image-amd64,initramfs-tools,kmod,udev,procps,curl,ca-certificates,qemu-guest-agent,iproute2,less,e2fsprogs
later="cage xwayland seatd sway dex polkitd libgl1-mesa-dri"
later+=" gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-libav"
later+=" gstreamer1.0-plugins-base-apps gstreamer1.0-plugins-bad"

mmdebstrap --variant=minbase --include="$base" \
  --skip=cleanup/apt \
  --customize-hook='chroot "$1" apt-get install -y -qq --download-only '"$later" \
  --customize-hook='echo frame-vm >"$1/etc/hostname"' \
  --customize-hook='printf "/dev/vda / ext4 rw,errors=remount-ro 0 1\n" >"$1/etc/fstab"' \
  --customize-hook='chroot "$1" systemctl mask serial-getty@ttyS0.service' \
  --customize-hook='chroot "$1" useradd --create-home --shell /bin/bash --groups video,render,input pi' \
  --customize-hook='printf "127.0.0.1 localhost frame-vm\n" >"$1/etc/hosts"' \
  bookworm "$work/root" http://deb.debian.org/debian

cp "$work"/root/boot/vmlinuz-* "$work/vmlinuz"
cp "$work"/root/boot/initrd.img-* "$work/initrd.img"
chmod 644 "$work/vmlinuz" "$work/initrd.img"
# 6 GB, sparse: the system takes ~1 GB, the rest is room for the packages and photos.
mkfs.ext4 -q -F -L frame-vm -d "$work/root" "$work/disk.img" 6G
mv "$work/disk.img" "$work/vmlinuz" "$work/initrd.img" "$out/"
echo "image: $out/disk.img ($(du -h --apparent-size "$out/disk.img" | cut -f1), $(du -h "$out/disk.img" | cut -f1) used)"
