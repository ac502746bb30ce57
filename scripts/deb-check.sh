#!/usr/bin/env bash
# The Debian package. Builds the arm64 .deb a Raspberry Pi installs and checks what it holds;
# then installs an x86-64 build of the same package on this machine (same files, same
# maintainer scripts), upgrades it, reinstalls it and purges it, checking at each step what
# the Pi's owner relies on: the binary runs, the units verify, the kiosk user and the token
# file exist, and the owner's config edits, token and photos survive.
#
# Needs root, cargo-deb (cargo install cargo-deb), dpkg-deb, apt-get, qemu-user,
# desktop-file-utils, systemd (systemd-analyze), cage, and the
# release builds for both targets (cargo-deb rebuilds them if they are stale). Leaves the
# machine as it found it, even when a check fails.
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

echo "# the arm64 package"
arm=$(cargo deb --target aarch64-unknown-linux-gnu | tail -n 1)
[[ -f $arm ]] || fail "cargo deb printed no package path (got '$arm')"
echo "  $arm ($(du -h "$arm" | cut -f1))"
[[ $(dpkg-deb --field "$arm" Architecture) == arm64 ]] || fail "$arm is not an arm64 package"
contents=$(dpkg-deb --contents "$arm")
echo "$contents" | sed 's/^/    /'
for path in ./usr/bin/discord-frame \
            ./usr/lib/systemd/system/discord-frame-kiosk.service \
            ./usr/lib/systemd/user/discord-frame.service \
            ./etc/discord-frame/config.toml \
            ./etc/xdg/autostart/discord-frame.desktop \
            ./usr/share/doc/discord-frame/README.md; do
  grep -q " $path\$" <<<"$contents" || fail "$arm does not contain $path"
done
grep -q '^-rwxr-xr-x .* ./usr/bin/discord-frame$' <<<"$contents" \
  || fail "the binary in $arm is not mode 755"
check "binary, both units, autostart entry, config and README are in the package"
dpkg-deb --info "$arm" conffiles | grep -qx /etc/discord-frame/config.toml \
  || fail "/etc/discord-frame/config.toml is not a conffile: an upgrade would overwrite edits"
check "the config is a conffile"
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
dpkg-deb --extract "$arm" "$unpacked"
file "$unpacked/usr/bin/discord-frame" | grep -q "ARM aarch64" \
  || fail "the packaged binary is not an aarch64 program"
# The packaged binary itself (as cargo-deb left it, stripped or not) runs, under qemu.
qemu-aarch64 -L /usr/aarch64-linux-gnu "$unpacked/usr/bin/discord-frame" --version \
  | grep -qx "discord-frame $version" || fail "the packaged aarch64 binary does not run"
check "the packaged aarch64 binary runs under qemu"
# The Depends line is written by hand (dpkg-shlibdeps cannot read an arm64 binary here): the
# newest glibc symbol version a packaged binary uses must not be newer than what it promises.
glibc_within_depends() {
  local deb=$1 dir promised newest
  dir=$(mktemp -d)
  dpkg-deb --extract "$deb" "$dir"
  promised=$(dpkg-deb --field "$deb" Depends | sed -n 's/.*libc6 (>= \([0-9.]*\)).*/\1/p')
  newest=$(objdump -T "$dir/usr/bin/discord-frame" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' \
    | sort -V | tail -n 1)
  rm -rf "$dir"
  [[ -n $promised && -n $newest ]] || fail "cannot read the glibc versions of $deb"
  [[ $(printf '%s\n%s\n' "$newest" "$promised" | sort -V | tail -n 1) == "$promised" ]] \
    || fail "$deb's binary needs glibc $newest, but the package depends on libc6 >= $promised"
  check "$(dpkg-deb --field "$deb" Architecture): newest glibc symbol $newest, Depends: libc6 (>= $promised)"
}
glibc_within_depends "$arm"

echo "# install, upgrade, reinstall and purge (the x86-64 build of the same package)"
# Each in its own directory: cargo-deb replaces an older build of a package in its output
# directory.
first=$(cargo deb --output target/debian/install | tail -n 1)
# A later build of the same package, as an upgrade would bring.
second=$(cargo deb --no-build --deb-revision 2 --output target/debian/upgrade | tail -n 1)
[[ -f $first && -f $second ]] || fail "cargo deb made no host package"
glibc_within_depends "$first"

user_existed=no
getent passwd frame >/dev/null && user_existed=yes
library_existed=no
[[ -e /var/lib/discord-frame ]] && library_existed=yes
cleanup() {
  rm -rf "$unpacked"
  if dpkg-query -W discord-frame >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq discord-frame >/dev/null 2>&1 || true
  fi
  [[ $user_existed == no ]] && { deluser --quiet frame >/dev/null 2>&1 || true; }
  [[ $library_existed == no ]] && rm -rf /var/lib/discord-frame
  return 0
}
trap cleanup EXIT

# No --force-conf* options, and no terminal: a conffile question would fail the install
# instead of being answered for the owner.
apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null
}
installed_version() { dpkg-query -W -f '${Status} ${Version}' discord-frame; }

apt_install "./$first"
[[ $(installed_version) == "install ok installed $version-1" ]] \
  || fail "after installing $first: $(installed_version)"
/usr/bin/discord-frame --version | grep -qx "discord-frame $version" \
  || fail "/usr/bin/discord-frame does not run"
check "installed $version-1; /usr/bin/discord-frame runs"
[[ $(getent passwd frame | cut -d: -f6) == /var/lib/discord-frame ]] \
  || fail "the kiosk user frame is missing or its home is not the library"
[[ $(stat -c '%U %a' /var/lib/discord-frame) == "frame 700" ]] \
  || fail "/var/lib/discord-frame is not frame's, mode 700"
[[ $(stat -c '%U %a %s' /etc/discord-frame/token) == "root 600 0" ]] \
  || fail "/etc/discord-frame/token is not an empty root-only file"
groups=()
for group in video render input; do
  getent group "$group" >/dev/null || continue
  id -nG frame | tr ' ' '\n' | grep -qx "$group" || fail "frame is not in the group $group"
  groups+=("$group")
done
check "user frame (home /var/lib/discord-frame, in: ${groups[*]}), empty token file, mode 600"
# The installed units, with the real paths (cage is installed by CI for the kiosk smoke test).
systemd-analyze verify /usr/lib/systemd/system/discord-frame-kiosk.service
xdg=$(mktemp -d)
XDG_RUNTIME_DIR=$xdg systemd-analyze verify --user /usr/lib/systemd/user/discord-frame.service
rm -rf "$xdg"
desktop-file-validate /etc/xdg/autostart/discord-frame.desktop
check "the installed units pass systemd-analyze verify; the autostart entry is valid"

# What the owner does after installing: edit the config, paste the token; the frame stores
# photos.
echo '# the owner was here' >>/etc/discord-frame/config.toml
echo 'not-a-real-token' >/etc/discord-frame/token
echo 'a photo' >/var/lib/discord-frame/owner-photo
owner_kept() {
  grep -qx '# the owner was here' /etc/discord-frame/config.toml \
    || fail "$1 lost the owner's config edit"
  [[ $(cat /etc/discord-frame/token) == not-a-real-token ]] || fail "$1 lost the token"
  [[ -f /var/lib/discord-frame/owner-photo ]] || fail "$1 lost the photo library"
}

apt_install "./$second"
[[ $(installed_version) == "install ok installed $version-2" ]] \
  || fail "upgrade to $second: $(installed_version)"
owner_kept "the upgrade"
check "upgraded to $version-2 with the config edit, token and photos kept"

apt_install --reinstall "./$second"
[[ $(installed_version) == "install ok installed $version-2" ]] \
  || fail "reinstall: $(installed_version)"
owner_kept "the reinstall"
check "installed again over itself: nothing lost"

DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq discord-frame >/dev/null
[[ ! -e /usr/bin/discord-frame ]] || fail "purge left /usr/bin/discord-frame"
[[ ! -e /etc/discord-frame ]] || fail "purge left /etc/discord-frame"
[[ -f /var/lib/discord-frame/owner-photo ]] || fail "purge deleted the photo library"
rm /var/lib/discord-frame/owner-photo
check "purge removes the program, config and token, and keeps the photos"
echo "deb-check: all good"
