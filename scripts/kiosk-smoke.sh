#!/usr/bin/env bash
# The kiosk unit's command, for real: cage (headless wlroots, software rendering) runs the
# frame fullscreen as an unprivileged user, as systemd/discord-frame-kiosk.service does on a
# Pi; a photo is uploaded; what cage shows (grim) must be what /api/screenshot.png says.
#   scripts/kiosk-smoke.sh [BINARY]      (as root: it creates the user `frame-ci`)
# cage runs with `-r -r` (its output turned 180°): otherwise it scans the fullscreen client
# out directly and grim captures black. Measured with cage 0.1.4 and grim 1.4 (Debian 12):
# the capture of that output comes back sometimes upright and sometimes flipped top to bottom,
# from one run to the next; so it must equal the slide exactly in one of the orientations.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/discord-frame}")
user=frame-ci
port=18650
id -u "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
work=$(mktemp -d)
chmod 755 "$work"
install -m 755 "$bin" "$work/discord-frame"
install -d -m 700 -o "$user" "$work/run" "$work/data"
as_user() {
  runuser -u "$user" -- env XDG_RUNTIME_DIR="$work/run" WLR_BACKENDS=headless \
    WLR_RENDERER=pixman WLR_LIBINPUT_NO_DEVICES=1 "$@"
}
as_user cage -r -r -- "$work/discord-frame" --display softbuffer --port "$port" \
  --data-dir "$work/data" >"$work/log" 2>&1 &
cage_pid=$!
cleanup() {
  local rc=$?
  pkill -u "$user" 2>/dev/null || true
  wait "$cage_pid" 2>/dev/null || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.1
done
if ! curl -fs "http://127.0.0.1:$port/api/status" >"$work/status.json"; then
  echo "the frame did not start under cage:"; cat "$work/log"; exit 1
fi
grep -q '"backend":"softbuffer"' "$work/status.json" || { cat "$work/status.json"; exit 1; }
curl -fs --data-binary @tests/fixtures/ladybird.jpg "http://127.0.0.1:$port/api/photos" >/dev/null
sleep 2  # the crossfade (800 ms) and cage's next frame
curl -fs -o "$work/api.png" "http://127.0.0.1:$port/api/screenshot.png"
socket=$(find "$work/run" -maxdepth 1 -name 'wayland-*' ! -name '*.lock' -printf '%f\n' | head -1)
[ -n "$socket" ] || { echo "cage made no Wayland socket:"; ls -la "$work/run"; cat "$work/log"; exit 1; }
as_user env WAYLAND_DISPLAY="$socket" grim "$work/run/grim.png"
size=$(identify -format '%wx%h' "$work/api.png")
shot=$(identify -format '%wx%h' "$work/run/grim.png")
[ "$size" = "$shot" ] || { echo "cage shows $shot, the frame rendered $size"; exit 1; }
# softbuffer presents the slide exactly: every pixel must match, in one orientation.
for turn in "" -flip -flop "-rotate 180"; do
  # shellcheck disable=SC2086
  convert "$work/run/grim.png" $turn "$work/screen.png"
  diff=$(compare -metric AE "$work/api.png" "$work/screen.png" null: 2>&1 || true)
  if [ "$diff" = "0" ]; then
    echo "kiosk: cage output $size, the frame fullscreen on it, all pixels equal to" \
         "/api/screenshot.png (capture ${turn:-upright})"
    exit 0
  fi
done
echo "kiosk: cage's output is not the frame's slide"; cat "$work/log"; exit 1
