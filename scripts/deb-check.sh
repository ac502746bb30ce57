#!/usr/bin/env bash
# The Debian packages a Raspberry Pi installs: builds both arm64 .debs (discord-frame for a
# desktop, discord-frame-kiosk for Raspberry Pi OS Lite) and checks what they hold: files and
# modes, conffiles, dependencies, that the packaged aarch64 binary runs (under qemu) and needs
# no newer glibc than the package promises. Installing, upgrading and purging them on a real
# systemd is scripts/vm-test.sh's job.
#
# Needs cargo-deb (cargo install cargo-deb), dpkg-deb, qemu-user, binutils (objdump) and the
# aarch64 release build (cargo-deb rebuilds it if it is stale).
# Usage: scripts/deb-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  echo "deb-check: FAILED: $*" >&2
  exit 1
}
check() { echo "  ok: $*"; }

version=$(cargo metadata --no-deps --format-version 1 \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["packages"][0]["version"])')

unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT

# The newest glibc symbol version the packaged binary uses must not be newer than what the
# hand-written Depends promises (dpkg-shlibdeps cannot read an arm64 binary here).
glibc_within_depends() {
  local deb=$1 dir=$2 promised newest
  promised=$(dpkg-deb --field "$deb" Depends | sed -n 's/.*libc6 (>= \([0-9.]*\)).*/\1/p')
  newest=$(objdump -T "$dir/usr/bin/discord-frame" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' \
    | sort -V | tail -n 1)
  [[ -n $promised && -n $newest ]] || fail "cannot read the glibc versions of $deb"
  [[ $(printf '%s\n%s\n' "$newest" "$promised" | sort -V | tail -n 1) == "$promised" ]] \
    || fail "$deb's binary needs glibc $newest, but the package depends on libc6 >= $promised"
  check "newest glibc symbol $newest, Depends: libc6 (>= $promised)"
}

# check_package VARIANT PATH... : builds the variant's arm64 package and checks that it holds
# exactly the common files and PATH..., with a runnable binary and the config as a conffile;
# leaves the package's path in $built.
check_package() {
  local variant=$1 deb contents dir
  shift
  local flags=(--target aarch64-unknown-linux-gnu)
  [[ -n $variant ]] && flags+=(--variant "$variant")
  echo "# the arm64 package${variant:+ ($variant)}"
  deb=$(cargo deb "${flags[@]}" | tail -n 1)
  [[ -f $deb ]] || fail "cargo deb printed no package path (got '$deb')"
  echo "  $deb ($(du -h "$deb" | cut -f1))"
  [[ $(dpkg-deb --field "$deb" Architecture) == arm64 ]] || fail "$deb is not an arm64 package"
  contents=$(dpkg-deb --contents "$deb")
  echo "$contents" | sed 's/^/    /'
  local expected=(./usr/bin/discord-frame ./etc/discord-frame/config.toml
                  ./usr/share/doc/discord-frame/README.md ./usr/share/doc/discord-frame/BENCHMARKS.md "$@")
  for path in "${expected[@]}"; do
    grep -q " $path\$" <<<"$contents" || fail "$deb does not contain $path"
  done
  local files
  files=$(awk '$1 !~ /^d/ {print $NF}' <<<"$contents" | grep -v '^./usr/share/doc/.*/changelog\|copyright$' \
    | sort)
  [[ $files == $(printf '%s\n' "${expected[@]}" | sort) ]] \
    || fail "$deb holds other files than expected:\n$files"
  grep -q '^-rwxr-xr-x .* ./usr/bin/discord-frame$' <<<"$contents" \
    || fail "the binary in $deb is not mode 755"
  check "$(wc -l <<<"$files") files, as expected"
  dpkg-deb --info "$deb" conffiles | grep -qx /etc/discord-frame/config.toml \
    || fail "/etc/discord-frame/config.toml is not a conffile: an upgrade would overwrite edits"
  check "the config is a conffile"
  echo "    Depends: $(dpkg-deb --field "$deb" Depends)"
  dir=$unpacked/${variant:-desktop}
  mkdir -p "$dir"
  dpkg-deb --extract "$deb" "$dir"
  file "$dir/usr/bin/discord-frame" | grep -q "ARM aarch64" \
    || fail "the packaged binary is not an aarch64 program"
  qemu-aarch64 -L /usr/aarch64-linux-gnu "$dir/usr/bin/discord-frame" --version \
    | grep -qx "discord-frame $version" || fail "the packaged aarch64 binary does not run"
  check "the packaged aarch64 binary runs under qemu"
  glibc_within_depends "$deb" "$dir"
  built=$deb
}

check_package "" ./usr/lib/systemd/user/discord-frame.service \
  ./etc/xdg/autostart/discord-frame.desktop
desktop-file-validate "$unpacked/desktop/etc/xdg/autostart/discord-frame.desktop"
check "the autostart entry is valid"

check_package kiosk ./usr/lib/systemd/system/discord-frame-kiosk.service
deb=$built
for dep in cage xwayland seatd; do
  dpkg-deb --field "$deb" Depends | tr ',' '\n' | grep -qw "$dep" \
    || fail "the kiosk package does not depend on $dep"
done
for field in Conflicts Replaces; do
  [[ $(dpkg-deb --field "$deb" "$field") == discord-frame ]] \
    || fail "the kiosk package's $field is not discord-frame"
done
check "the kiosk package depends on cage, xwayland and seatd, and replaces discord-frame"
echo "deb-check: all good"
