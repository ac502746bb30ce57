#!/usr/bin/env python3
"""The checks of scripts/vm-test.sh: the frame's packages installed into a Debian 12 virtual
machine booted with systemd, and used as an owner would. Each check prints one line; the first
failure stops the run with exit status 1 and what the machine said.

  drive.py --image DIR --share DIR --work DIR [--arch x86_64|aarch64] [--only kiosk|desktop]

DIR of --share holds what the guest needs (debs/1 and debs/2, photo.jpg); the guest mounts it
over 9p at /mnt/host and writes its screenshots to out/ there.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qemu import Vm, VmError  # noqa: E402

PORT = 8080
API = f"http://127.0.0.1:{PORT}"
KIOSK = "discord-frame-kiosk"
# The library's originals and their checksums: what a reboot, an upgrade and a purge must keep.
LIBRARY = "cd /var/lib/discord-frame/photos && find . -type f | sort | xargs sha256sum"
# The screen must match /api/screenshot.png at least this well (PSNR, dB).
PSNR_FLOOR = 40.0


class CheckFailed(Exception):
    pass


class Run:
    def __init__(self, args):
        self.args = args
        self.started = time.monotonic()
        self.vm = None
        self.out = os.path.join(args.share, "out")
        os.makedirs(self.out, exist_ok=True)

    # -- reporting -----------------------------------------------------------------------------

    def say(self, text):
        print(f"[{time.monotonic() - self.started:6.0f}s] {text}", flush=True)

    def ok(self, check, text):
        self.say(f"ok {check}: {text}")

    def fail(self, check, text):
        raise CheckFailed(f"FAILED {check}: {text}")

    # -- the guest -----------------------------------------------------------------------------

    def sh(self, script, timeout=180):
        return self.vm.sh(script, timeout=timeout)

    def must(self, check, script, timeout=180):
        r = self.sh(script, timeout)
        if not r.ok:
            self.fail(check, f"`{script}` exited {r.code}:\n{r.out}{r.err}")
        return r.out

    def boot(self, name):
        self.vm = Vm(self.args.image, os.path.join(self.args.work, name), self.args.share,
                     arch=self.args.arch)
        t = time.monotonic()
        self.vm.start()
        self.vm.wait_for_agent(600)
        self.must("boot", "systemctl is-system-running --wait >/dev/null || systemctl --failed "
                  "--no-legend; mkdir -p /mnt/host && mount -t 9p -o trans=virtio,version=9p2000.L "
                  "host /mnt/host", timeout=600)
        self.say(f"{name}: booted, the guest agent answers ({time.monotonic() - t:.0f} s)")

    def reboot(self, check):
        t = time.monotonic()
        self.vm.sh_nowait("systemctl reboot")
        # The agent goes away, then comes back with the new boot.
        boot_id = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            time.sleep(2)
            try:
                if not self.vm.agent.sync(timeout=3):
                    continue
                r = self.vm.sh("cat /proc/sys/kernel/random/boot_id", timeout=30)
                boot_id = r.out.strip()
                if boot_id and boot_id != self.boot_id:
                    break
            except (OSError, VmError, TimeoutError):
                continue
        else:
            self.fail(check, "the machine did not come back from the reboot:\n"
                      + self.vm.serial_tail())
        self.boot_id = boot_id
        self.must(check, "systemctl is-system-running --wait >/dev/null; mkdir -p /mnt/host && "
                  "mount -t 9p -o trans=virtio,version=9p2000.L host /mnt/host", timeout=600)
        return time.monotonic() - t

    def api(self, path, check, method="GET", data=None, timeout=60):
        cmd = f"curl -fsS -m {timeout} -X {method} {API}{path}"
        if data:
            cmd += f" --data-binary @{data}"
        out = self.must(check, cmd, timeout + 10)
        return json.loads(out)

    def wait(self, check, what, probe, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = probe()
                if last:
                    return last
            except (CheckFailed, ValueError) as e:
                last = e
            time.sleep(1)
        self.fail(check, f"{what}: not within {timeout} s (last: {last})")

    def unit(self, props, user=None):
        prefix = f"runuser -u {user} -- env XDG_RUNTIME_DIR=/run/user/$(id -u {user}) " \
                 "systemctl --user" if user else "systemctl"
        unit = "discord-frame.service" if user else f"{KIOSK}.service"
        r = self.sh(f"{prefix} show {unit} -p {','.join(props)}")
        return dict(line.split("=", 1) for line in r.out.splitlines() if "=" in line)

    def journal(self, since=None):
        cmd = f"journalctl -u {KIOSK} --no-pager -o cat"
        if since:
            cmd += f" --since {shlex.quote(since)}"
        return self.sh(cmd, timeout=60).out

    def guest_now(self):
        return self.sh("date '+%Y-%m-%d %H:%M:%S'").out.strip()

    def frame_pid(self):
        r = self.sh("pgrep -u frame -x discord-frame")
        pids = r.out.split()
        return int(pids[0]) if len(pids) == 1 else None

    # -- the screen ----------------------------------------------------------------------------

    def screen_matches(self, check, name):
        """The VM's screen (QMP screendump of the KMS scanout) against /api/screenshot.png."""
        api_png = os.path.join(self.out, f"{name}-api.png")
        screen = os.path.join(self.out, f"{name}-screen.ppm")
        self.must(check, f"curl -fsS -o /mnt/host/out/{name}-api.png {API}/api/screenshot.png")
        self.vm.screendump(screen)
        size = lambda p: subprocess.run(["identify", "-format", "%wx%h", p], check=True,
                                        capture_output=True, text=True).stdout
        if size(api_png) != size(screen):
            self.fail(check, f"the screen is {size(screen)}, the frame's slide {size(api_png)}"
                      f" ({screen})")
        r = subprocess.run(["compare", "-metric", "PSNR", api_png, screen, "null:"],
                           capture_output=True, text=True)
        value = r.stderr.strip().split()[0] if r.stderr.strip() else "?"
        psnr = float("inf") if value in ("inf", "1.#INF") else float(value)
        if psnr < PSNR_FLOOR:
            self.fail(check, f"the screen is not the frame's slide: PSNR {psnr:.1f} dB < "
                      f"{PSNR_FLOOR} ({screen} against {api_png})")
        return f"screen {size(screen)} = /api/screenshot.png " + (
            "exactly" if psnr == float("inf") else f"(PSNR {psnr:.1f} dB)")

    # -- the kiosk -----------------------------------------------------------------------------

    def kiosk(self):
        self.boot("kiosk")
        self.boot_id = self.sh("cat /proc/sys/kernel/random/boot_id").out.strip()
        # A journal that survives the reboot, for what the machine says if a check fails.
        self.must("boot", "mkdir -p /var/log/journal && systemctl restart systemd-journald")

        # 1. The package, offline: dependencies from bookworm's lists and the image's cache.
        out = self.must("1", "cd /mnt/host/debs/1 && DEBIAN_FRONTEND=noninteractive apt-get "
                        "install -y --no-install-recommends ./discord-frame-kiosk_*.deb 2>&1",
                        timeout=600)
        pulled = sorted(set(re.findall(r"^Setting up ([a-z0-9.+-]+)", out, re.M)))
        for dep in ("cage", "xwayland", "seatd"):
            if dep not in pulled:
                self.fail("1", f"apt did not install {dep}:\n{out}")
        passwd = self.must("1", "getent passwd frame").strip().split(":")
        if passwd[5] != "/var/lib/discord-frame":
            self.fail("1", f"frame's home is {passwd[5]}")
        groups = self.must("1", "id -nG frame").split()
        if "video" not in groups:
            self.fail("1", f"frame is not in video (seatd's group): {groups}")
        token = self.must("1", "stat -c '%U %a %s' /etc/credstore/discord-frame.token && "
                          "stat -c '%U %a' /etc/credstore").split("\n")
        state = self.must("1", "stat -c '%U %a' /var/lib/discord-frame").strip()
        config = self.must("1", "stat -c '%U:%G %a' /etc/discord-frame "
                           "/etc/discord-frame/config.toml").split("\n")
        if token[:2] != ["root 600 0", "root 700"] or state != "frame 700" \
                or config[:2] != ["root:frame 775", "root:frame 640"]:
            self.fail("1", f"token file, credstore: {token}; state directory: {state}; "
                      f"config folder and file: {config}")
        seatd = self.sh("systemctl is-active seatd").out.strip()
        self.ok("1", f"apt installed the kiosk package offline with {len(pulled)} packages from "
                f"bookworm (cage, xwayland, seatd among them); user frame (home "
                f"/var/lib/discord-frame, groups {' '.join(groups)}); token root 600 empty in "
                f"/etc/credstore (700); /etc/discord-frame root:frame 775, config.toml 640; "
                f"state dir frame 700; seatd {seatd}")

        # The VM's GPU has no 3D: cage's GL renderer (llvmpipe) crashes there, so this machine
        # gets the pixman renderer, as an owner would with `systemctl edit` (README).
        self.must("2", f"mkdir -p /etc/systemd/system/{KIOSK}.service.d && printf "
                  "'[Service]\\nEnvironment=WLR_RENDERER=pixman\\n' > "
                  f"/etc/systemd/system/{KIOSK}.service.d/vm.conf && systemctl daemon-reload")

        # 2. Enabled and started: active (running) means READY=1 arrived.
        t = time.monotonic()
        r = self.sh(f"systemctl enable --now {KIOSK} 2>&1", timeout=240)
        took = time.monotonic() - t
        props = self.unit(["ActiveState", "SubState", "MainPID", "NRestarts"])
        if not r.ok or props.get("SubState") != "running":
            self.fail("2", f"enable --now: {r.out}{r.err}\n{props}\n" + self.journal())
        cage = int(props["MainPID"])
        owner = self.must("2", f"ps -o user=,comm= -p {cage}").split()
        frame = self.frame_pid()
        parent = self.sh(f"ps -o ppid= -p {frame}").out.strip() if frame else None
        vt = self.must("2", "cat /sys/class/tty/tty0/active").strip()
        kms = self.sh(f"ls -l /proc/{cage}/fd | grep -c /dev/dri/card").out.strip()
        if owner != ["frame", "cage"] or not frame or parent != str(cage) or vt != "tty1" \
                or kms in ("", "0"):
            self.fail("2", f"cage: {owner}, frame pid {frame} (parent {parent}), active VT {vt},"
                      f" DRM fds {kms}\n" + self.journal())
        status = self.api("/api/status", "2")
        display = status["display"]
        shot = self.screen_matches("2", "welcome")
        self.ok("2", f"enable --now returned after {took:.0f} s with the unit active (running): "
                f"READY=1 arrived; cage (pid {cage}) runs as frame on {vt} holding the KMS "
                f"device, the frame its child; {display['backend']} "
                f"{display['width']}x{display['height']}; welcome slide: {shot}")
        journal = self.journal()
        if "HTTP endpoint on" not in journal:
            self.fail("2", f"`journalctl -u {KIOSK}` lacks the frame's log:\n{journal}")
        self.ok("2", f"`journalctl -u {KIOSK}` has the frame's log "
                f"({journal.count(chr(10))} lines)")

        # 3. A photo uploaded inside the VM is on the VM's screen.
        added = self.api("/api/photos", "3", "POST", "/mnt/host/photo.jpg")
        photo = added["photos"][0]["id"]
        self.wait("3", f"photo {photo} on screen",
                  lambda: self.api("/api/status", "3")["current"] and
                  self.api("/api/status", "3")["current"]["id"] == photo, 60)
        time.sleep(3)  # the crossfade
        shot = self.screen_matches("3", "photo")
        library = self.must("3", LIBRARY)
        self.ok("3", f"photo {photo} uploaded in the VM is on its screen: {shot}")

        # 4. Reboot: the kiosk starts by itself, on the same photo, the library intact.
        took = self.reboot("4")
        self.wait("4", "the kiosk active after the reboot",
                  lambda: self.unit(["SubState"]).get("SubState") == "running", 240)
        uptime = float(self.must("4", "cut -d' ' -f1 /proc/uptime"))
        current = self.wait("4", "the frame answering", lambda: self.api("/api/status", "4"), 120)
        if not current["current"] or current["current"]["id"] != photo:
            self.fail("4", f"after the reboot the frame shows {current['current']}:\n"
                      + self.sh(f"journalctl -b -1 -u {KIOSK} --no-pager").out
                      + self.sh(f"journalctl -b 0 -u {KIOSK} --no-pager").out
                      + self.sh(f"curl -s {API}/api/photos; ls -laR /var/lib/discord-frame").out)
        if self.must("4", LIBRARY) != library:
            self.fail("4", "the library changed across the reboot")
        time.sleep(3)
        shot = self.screen_matches("4", "reboot")
        self.ok("4", f"rebooted in {took:.0f} s; the kiosk came up by itself ({uptime:.0f} s of "
                f"guest uptime) with photo {photo} and the library intact; {shot}")

        # 5. Watchdog: a frozen frame is restarted by systemd; so is a dead one.
        before = int(self.unit(["NRestarts"])["NRestarts"])
        frame = self.frame_pid()
        since = self.guest_now()
        t = time.monotonic()
        self.must("5", f"kill -STOP {frame}")
        self.wait("5", "systemd's watchdog firing",
                  lambda: "Watchdog timeout" in self.journal(since), 90)
        fired = time.monotonic() - t
        self.wait("5", "the kiosk restarted after the watchdog",
                  lambda: int(self.unit(["NRestarts"])["NRestarts"]) > before
                  and self.unit(["SubState"])["SubState"] == "running", 180)
        back = self.wait("5", "the photo back", lambda: (self.api("/api/status", "5")["current"]
                                                           or {}).get("id") == photo, 120)
        restarted = time.monotonic() - t
        time.sleep(3)
        shot = self.screen_matches("5", "watchdog")
        self.ok("5", f"kill -STOP: the watchdog fired after {fired:.0f} s (WatchdogSec=30s), the"
                f" unit restarted and photo {photo} was back {restarted:.0f} s after the freeze; "
                f"{shot}")
        before = int(self.unit(["NRestarts"])["NRestarts"])
        frame = self.frame_pid()
        t = time.monotonic()
        self.must("5", f"kill -9 {frame}")
        self.wait("5", "the kiosk restarted after kill -9",
                  lambda: int(self.unit(["NRestarts"])["NRestarts"]) > before
                  and self.unit(["SubState"])["SubState"] == "running", 180)
        self.wait("5", "the photo back", lambda: (self.api("/api/status", "5")["current"]
                                                   or {}).get("id") == photo, 120)
        self.ok("5", f"kill -9: restarted by Restart=, photo {photo} back after "
                f"{time.monotonic() - t:.0f} s")
        since = self.guest_now()
        t = time.monotonic()
        self.must("5", f"systemctl stop {KIOSK}", timeout=60)
        took = time.monotonic() - t
        props = self.unit(["ActiveState", "Result", "ExecMainStatus", "ExecMainCode"])
        said = self.journal(since)
        if took > 5 or props["Result"] != "success" or props["ExecMainStatus"] != "0" \
                or "stopped" not in said:
            self.fail("5", f"systemctl stop took {took:.1f} s: {props}\n{said}")
        self.ok("5", f"systemctl stop: exit status 0 in {took:.1f} s, the frame said "
                "\"stopped\"")

        # 6. A bad config key: exit status 2, not restarted, and the journal says what to fix.
        self.must("6", "cp /etc/discord-frame/config.toml /root/config.good && sed -i "
                  "'s/^\\[display\\]$/[display]\\nintervall = \"5s\"/' /etc/discord-frame/config.toml")
        since = self.guest_now()
        # A start by hand counts restarts from 0 again.
        before = 0
        self.sh(f"systemctl start {KIOSK}", timeout=120)
        time.sleep(15)  # three times RestartSec: a restart would have happened
        props = self.unit(["ActiveState", "Result", "ExecMainStatus", "NRestarts"])
        said = self.journal(since)
        if props["ActiveState"] != "failed" or props["ExecMainStatus"] != "2" \
                or int(props["NRestarts"]) != before or "intervall" not in said:
            self.fail("6", f"{props}\n{said}")
        line = next((l for l in said.splitlines() if "unknown field" in l), "intervall")
        self.ok("6", f"a bad key: exit status 2, not restarted ({props['NRestarts']} restarts), "
                f"the journal says: {line.strip()[:120]}")
        self.must("6", "cp /root/config.good /etc/discord-frame/config.toml && "
                  f"systemctl reset-failed {KIOSK}")

        # 7. The token reaches the frame as a credential, and never the journal.
        # The token travels through the shared folder, never on a command line (the guest
        # agent logs the commands it runs).
        token = "vm-test-token-" + os.urandom(8).hex()
        with open(os.path.join(self.args.share, "token"), "w") as f:
            f.write(token + "\n")
        self.must("7", "install -m 600 /mnt/host/token /etc/credstore/discord-frame.token && "
                  "sed -i "
                  "'s|^# api_url = .*|api_url = \"http://127.0.0.1:9\"|' "
                  "/etc/discord-frame/config.toml && grep -q '^api_url' "
                  "/etc/discord-frame/config.toml")
        self.must("7", f"systemctl start {KIOSK}", timeout=180)
        discord = self.wait("7", "Discord not disabled",
                            lambda: (lambda d: d if d["state"] not in ("disabled",) else None)(
                                self.api("/api/status", "7")["discord"]), 60)
        leaks = self.sh("journalctl -b --no-pager | grep -c -F -f /mnt/host/token").out.strip()
        env = self.sh("grep -c -F -f /mnt/host/token "
                      "/proc/$(pgrep -u frame -x discord-frame)/environ").out.strip()
        if leaks != "0" or env not in ("0", ""):
            self.fail("7", f"the token is in the journal ({leaks} lines) or the environment: "
                      + self.sh("journalctl -b --no-pager | grep -F -f /mnt/host/token").out)
        self.ok("7", f"with a token in /etc/credstore/discord-frame.token, Discord is {discord['state']}: "
                f"{discord.get('message', '')[:90]}…; the token is in neither the journal nor "
                "the environment")

        # 11. A setting changed on the page is saved into root's config.toml, comments kept:
        # the package makes /etc/discord-frame writable by the group frame, and the unit lets
        # the frame write that folder alone in /etc. The token is out of the frame's reach.
        before = self.must("11", "cat /etc/discord-frame/config.toml")
        r = self.sh("curl -sS -m 30 -X PATCH -H 'Content-Type: application/json' "
                    f"--data '{{\"interval\": \"2m\"}}' {API}/api/settings")
        after = self.must("11", "cat /etc/discord-frame/config.toml")
        live = self.api("/api/settings", "11")["live"]
        changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
        if live["interval"] != "2m" or len(before.splitlines()) != len(after.splitlines()) \
                or len(changed) != 1 or not changed[0][1].startswith("interval = \"2m\""):
            self.fail("11", f"PATCH /api/settings on the kiosk: {r.out}{r.err}\nlive: {live}\n"
                      f"lines changed: {changed}")
        owner = self.must("11", "stat -c '%U:%G %a' /etc/discord-frame/config.toml").strip()
        reach = self.sh("runuser -u frame -- cat /etc/credstore/discord-frame.token; "
                        "runuser -u frame -- touch /etc/credstore/x; "
                        "runuser -u frame -- touch /etc/discord-frame-x")
        if reach.ok or owner not in ("frame:frame 640", "root:frame 640") \
                or reach.err.count("Permission denied") != 3:
            self.fail("11", f"config.toml after the save: {owner}; the frame's user and the "
                      f"token: {reach.out}{reach.err}")
        self.ok("11", f"a setting from the page on the kiosk: live interval {live['interval']}, "
                f"config.toml changed on one line ({changed[0][0].strip()} -> "
                f"{changed[0][1].strip()}), every comment kept, the file {owner}; the frame's "
                "user can neither read the token nor write elsewhere in /etc")

        # 12. A clip plays inside the kiosk's sandbox. The package recommends GStreamer, which
        # `apt install` brings by default (check 1 installed without it, to prove the
        # dependencies alone suffice): the list is read from the installed package itself.
        # The child runs in the unit's cgroup as `frame`, under its system-call filter, its
        # private /tmp (the socket) and its read-only system (/dev/shm stays writable).
        recommends = self.must("12", "dpkg-query -W -f '${Recommends}' discord-frame-kiosk")
        wanted = [name.strip() for name in recommends.split(",") if name.strip()]
        if not any(name.startswith("gstreamer1.0-plugins-bad") for name in wanted):
            self.fail("12", f"the kiosk package does not recommend shmsink's plugins: {wanted}")
        self.must("12", "DEBIAN_FRONTEND=noninteractive apt-get install -y "
                  f"--no-install-recommends {' '.join(map(shlex.quote, wanted))} 2>&1 | "
                  "tail -n 1", timeout=900)
        videos = self.api("/api/status", "12")["videos"]
        if not videos["playable"]:
            self.fail("12", f"GStreamer installed, the frame still says: {videos}")
        since = self.guest_now()
        added = self.api("/api/photos", "12", "POST", "/mnt/host/clip.mp4", timeout=120)
        clip = added["photos"][0]
        if clip.get("kind") != "video":
            self.fail("12", f"the clip was stored as {clip}")
        self.wait("12", f"clip {clip['id']} on screen",
                  lambda: (self.api("/api/status", "12")["current"] or {}).get("id")
                  == clip["id"], 60)

        # A clip this short starts a new child each time round: its id, cgroup and arguments
        # are read in one go, and again if it ended in between.
        def child():
            r = self.sh("pid=$(pgrep -u frame -x gst-launch-1.0) && echo \"$pid\" && "
                        "cat /proc/$pid/cgroup && tr '\\0' ' ' < /proc/$pid/cmdline")
            if not r.ok:
                return None
            pid, rest = r.out.split("\n", 1)
            return pid, rest
        pid, seen = self.wait("12", "the clip's GStreamer child running", child, 60)
        cgroup, _, args = seen.rpartition("\n")
        if f"{KIOSK}.service" not in cgroup or "shmsink" not in args:
            self.fail("12", f"the child {pid}: cgroup {cgroup!r}, arguments {args!r}")
        time.sleep(3)  # the crossfade onto the clip
        first = os.path.join(self.out, "clip-1.ppm")
        second = os.path.join(self.out, "clip-2.ppm")
        self.vm.screendump(first)
        time.sleep(1.5)
        self.vm.screendump(second)
        # `compare` exits 0 when alike, 1 when not, 2 when it could not compare; the count of
        # differing pixels is the first word it prints.
        r = subprocess.run(["compare", "-metric", "AE", first, second, "null:"],
                           capture_output=True, text=True)
        try:
            changed = int(float(r.stderr.split()[0]))
        except (IndexError, ValueError):
            changed = None
        if r.returncode > 1 or changed is None:
            self.fail("12", f"cannot compare the two screens: {r.stderr.strip()}")
        said = self.journal(since)
        trouble = [line for line in said.splitlines()
                   if "shared memory failed" in line or "the clip stopped" in line
                   or "cannot play" in line]
        if changed == 0 or trouble:
            self.fail("12", f"{changed} pixels changed on the screen in 1.5 s; the journal:\n"
                      f"{said}")
        # The library the purge must keep now holds the clip too.
        library = self.must("12", LIBRARY)
        self.ok("12", f"with the {len(wanted)} recommended packages, clip {clip['id']} plays in "
                f"the sandbox: its child gst-launch-1.0 (pid {pid}) runs in {KIOSK}.service "
                f"through shared memory (shmsink), and {changed} pixels of the screen changed "
                "in 1.5 s")

        # 10. The kiosk unit's exposure, by the machine's own systemd.
        exposure = self.must("10", f"systemd-analyze security {KIOSK}.service | tail -n 1")
        self.kiosk_exposure = exposure.strip()
        self.ok("10", f"systemd-analyze security {KIOSK}.service: {self.kiosk_exposure}")

        # 9. Upgrade over the running kiosk, then purge. Root's own edit of the file the frame
        # saved (Debian's fs.protected_regular would refuse it in a sticky folder). The upgrade
        # is from the layout earlier versions had: the token beside config.toml, the folder
        # root's; the new package moves the token to /etc/credstore.
        self.must("9", "echo '# the owner was here' >> /etc/discord-frame/config.toml")
        self.must("9", "mv /etc/credstore/discord-frame.token /etc/discord-frame/token && "
                  "chown root:root /etc/discord-frame && chmod 755 /etc/discord-frame")
        props = self.unit(["MainPID", "ExecMainStartTimestampMonotonic"])
        old_pid = props["MainPID"]
        count = len(self.api("/api/photos", "9")["photos"])
        self.must("9", "cd /mnt/host/debs/2 && DEBIAN_FRONTEND=noninteractive apt-get install -y "
                  "--no-install-recommends ./discord-frame-kiosk_*.deb </dev/null 2>&1",
                  timeout=600)
        version = self.must("9", "dpkg-query -W -f '${Version}' discord-frame-kiosk").strip()
        self.wait("9", "the kiosk restarted on the new binary",
                  lambda: (lambda p: p["SubState"] == "running" and p["MainPID"] != old_pid)(
                      self.unit(["SubState", "MainPID"])), 180)
        exe = self.must("9", "readlink /proc/$(pgrep -u frame -x discord-frame)/exe").strip()
        status = self.wait("9", "the frame answering", lambda: self.api("/api/status", "9"), 120)
        kept = self.sh("grep -qx '# the owner was here' /etc/discord-frame/config.toml && "
                       "grep -q '^interval = \"2m\"' /etc/discord-frame/config.toml && "
                       "cmp -s /mnt/host/token /etc/credstore/discord-frame.token && "
                       "test ! -e /etc/discord-frame/token && "
                       "test \"$(stat -c '%U:%G %a' /etc/discord-frame)\" = 'root:frame 775'").ok
        live = self.api("/api/settings", "9")["live"]
        discord = self.wait("9", "Discord not disabled",
                            lambda: (lambda d: d if d["state"] != "disabled" else None)(
                                self.api("/api/status", "9")["discord"]), 60)
        if exe != "/usr/bin/discord-frame" or status["photos"] != count or not kept \
                or not version.endswith("-2") or live["interval"] != "2m":
            self.fail("9", f"after the upgrade: version {version}, exe {exe}, "
                      f"{status['photos']} photos (was {count}), edits, setting and token "
                      f"kept, token moved: {kept}; interval {live['interval']}")
        self.ok("9", f"upgraded to {version} over the running kiosk: restarted on the new binary "
                f"(pid {old_pid} -> {self.unit(['MainPID'])['MainPID']}), {count} photos, "
                "root's config edit and the page's interval (2m) kept; the token moved from "
                f"/etc/discord-frame to /etc/credstore (Discord {discord['state']})")
        self.must("9", "DEBIAN_FRONTEND=noninteractive apt-get purge -y discord-frame-kiosk "
                  "</dev/null 2>&1", timeout=300)
        gone = self.sh("test ! -e /usr/bin/discord-frame && test ! -e /etc/discord-frame && "
                       "test ! -e /etc/credstore/discord-frame.token && "
                       f"! systemctl cat {KIOSK} >/dev/null 2>&1").ok
        after = self.sh(LIBRARY).out
        if not gone or after != library:
            self.fail("9", f"after purge: program/config/token gone: {gone}; photos kept: "
                      f"{after == library}\nbefore:\n{library}after:\n{after}")
        self.ok("9", f"apt purge: program, config and token gone; the {count} photos kept in "
                "/var/lib/discord-frame")
        self.vm.stop()

    # -- the desktop ---------------------------------------------------------------------------

    def desktop(self):
        self.boot("desktop")
        self.boot_id = self.sh("cat /proc/sys/kernel/random/boot_id").out.strip()
        # The desktop Raspberry Pi OS has: a Wayland compositor started by an autologin on tty1,
        # polkit (logind activates the session through it), Mesa, Xwayland, and something
        # that runs XDG autostart entries at login (there lxsession-xdg-autostart, here dex).
        # The compositor is sway 1.7, not wayfire (which Raspberry Pi OS Bookworm shipped
        # before labwc): wayfire 0.7.4 segfaults on its first output in this VM, with Mesa's
        # llvmpipe and with pixman alike, and it has no CPU renderer of its own; sway draws
        # with wlroots' pixman renderer, which the VM's GPU (no 3D) needs.
        self.must("8", "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends"
                  " sway dex polkitd libgl1-mesa-dri xwayland 2>&1 | tail -n 1", timeout=900)
        self.must("8", r"""
set -e
mkdir -p /etc/systemd/system/getty@tty1.service.d
printf '[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin pi --noclear %%I $TERM\n' \
  > /etc/systemd/system/getty@tty1.service.d/autologin.conf
echo 'if [ "$(tty)" = /dev/tty1 ]; then WLR_RENDERER=pixman exec sway >>/tmp/sway.log 2>&1; fi' \
  > /home/pi/.bash_profile
mkdir -p /home/pi/.config/sway
echo 'exec dex --autostart --environment sway' > /home/pi/.config/sway/config
chown -R pi:pi /home/pi
""")
        out = self.must("8", "cd /mnt/host/debs/1 && DEBIAN_FRONTEND=noninteractive apt-get "
                        "install -y --no-install-recommends ./discord-frame_*.deb 2>&1",
                        timeout=600)
        # The owner, as README step 4a says (the user manager runs once pi is logged in).
        self.must("8", "systemctl start user@1000.service")
        self.must("8", r"""
set -e
runuser -u pi -- sh -c '
  export XDG_RUNTIME_DIR=/run/user/1000
  mkdir -p ~/.config/discord-frame
  cp /etc/discord-frame/config.toml ~/.config/discord-frame/
  install -m 600 /dev/null ~/.config/discord-frame/env
  systemctl --user enable discord-frame
'""")
        took = self.reboot("8")

        def running():
            props = self.unit(["SubState"], user="pi")
            return props.get("SubState") == "running"
        self.wait("8", "the user unit running after autologin", running, 300)
        status = self.wait("8", "the frame answering", lambda: self.api("/api/status", "8"), 120)
        display = status["display"]
        if display["backend"] == "headless":
            self.fail("8", f"the desktop frame runs headless: {status}\n" + self.sh(
                "journalctl -b --no-pager | grep -v kernel: | tail -n 150; tail -n 40 /tmp/sway.log | cut -c1-200; "
                "runuser -u pi -- env XDG_RUNTIME_DIR=/run/user/1000 systemctl --user "
                "show-environment").out)
        time.sleep(3)  # the crossfade from the first frame
        shot = self.screen_matches("8", "desktop")
        session = self.sh("loginctl list-sessions --no-legend").out.strip()
        self.ok("8", f"autologin on tty1 -> sway -> XDG autostart started the enabled user "
                f"unit: {display['backend']} {display['width']}x{display['height']} fullscreen; "
                f"{shot} (session: {session})")
        exposure = self.must("10", "runuser -u pi -- env XDG_RUNTIME_DIR=/run/user/1000 "
                             "systemd-analyze --user security discord-frame.service | tail -n 1")
        self.ok("10", f"systemd-analyze --user security discord-frame.service: {exposure.strip()}")
        self.vm.stop()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--image", required=True)
    p.add_argument("--share", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--arch", default="x86_64")
    p.add_argument("--only", choices=["kiosk", "desktop"])
    args = p.parse_args()
    run = Run(args)
    try:
        if args.only in (None, "kiosk"):
            run.kiosk()
        if args.only in (None, "desktop"):
            run.desktop()
    except (CheckFailed, VmError, TimeoutError) as e:
        print(e, flush=True)
        if run.vm is not None:
            print("--- the guest's console, last lines:\n" + run.vm.serial_tail(60))
            run.vm.stop(timeout=30)
        sys.exit(1)
    run.say("all checks passed")


if __name__ == "__main__":
    main()
