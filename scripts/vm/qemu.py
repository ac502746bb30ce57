"""A Debian virtual machine under qemu, driven from the host: boot it, run commands in it
through the QEMU guest agent, capture its screen through QMP, shut it down.

Only the Python standard library: the CI machine needs no PyPI package for this.
"""

import base64
import json
import os
import select
import shlex
import socket
import subprocess
import time


class VmError(Exception):
    pass


class Qmp:
    """QEMU's machine protocol (JSON over a Unix socket): screendump, quit."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(path)
        self.buf = b""
        self._read()  # the greeting
        self.call("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise VmError("QMP closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, command, **arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                continue
            if "error" in reply:
                raise VmError(f"QMP {command}: {reply['error']}")
            return reply.get("return")


class Agent:
    """The QEMU guest agent (qemu-guest-agent in the guest, a virtio-serial port here)."""

    def __init__(self, path):
        self.path = path
        self.sock = None
        self.buf = b""
        self.sync_id = int(time.time()) & 0xFFFFFF

    def _connect(self):
        if self.sock is None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(self.path)
            self.buf = b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _read_json(self, deadline):
        while True:
            # guest-sync-delimited's answer starts with 0xFF: whatever came before it is stale.
            if b"\xff" in self.buf:
                self.buf = self.buf[self.buf.rindex(b"\xff") + 1 :]
            if b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                line = line.strip()
                if not line:
                    continue
                try:
                    return json.loads(line)
                except ValueError:
                    continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the guest agent did not answer")
            ready, _, _ = select.select([self.sock], [], [], left)
            if ready:
                chunk = self.sock.recv(65536)
                if not chunk:
                    self.close()
                    raise VmError("the guest agent's socket closed")
                self.buf += chunk

    def sync(self, timeout=5):
        """True once the agent in the guest answers (after a boot, or a reboot)."""
        try:
            self._connect()
            self.sync_id += 1
            msg = {"execute": "guest-sync-delimited", "arguments": {"id": self.sync_id}}
            self.sock.sendall(b"\xff" + json.dumps(msg).encode() + b"\n")
            deadline = time.monotonic() + timeout
            while True:
                reply = self._read_json(deadline)
                if reply.get("return") == self.sync_id:
                    return True
        except (OSError, TimeoutError, VmError):
            self.close()
            return False

    def call(self, command, timeout=60, **arguments):
        self._connect()
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        reply = self._read_json(time.monotonic() + timeout)
        if "error" in reply:
            raise VmError(f"guest agent {command}: {reply['error']}")
        return reply.get("return")


class Result:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    @property
    def ok(self):
        return self.code == 0


class Vm:
    """One machine: a disk (a copy-on-write overlay of the cached image), the image's kernel,
    a virtio GPU whose screen QMP can capture, a 9p share with the host, no network."""

    def __init__(self, image_dir, work, share, arch="x86_64", screen=(1280, 720), mem=2048,
                 gpu="virtio", cpu="max"):
        self.image_dir, self.work, self.share, self.arch = image_dir, work, share, arch
        self.screen, self.mem, self.gpu, self.cpu = screen, mem, gpu, cpu
        self.proc = None
        self.qmp = None
        self.agent = None

    def start(self):
        os.makedirs(self.work, exist_ok=True)
        overlay = os.path.join(self.work, "disk.qcow2")
        if os.path.exists(overlay):
            os.unlink(overlay)
        # The cached image is never written: each machine boots from a fresh overlay.
        subprocess.run(
            ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b",
             os.path.join(self.image_dir, "disk.img"), overlay],
            check=True,
        )
        qmp_path = os.path.join(self.work, "qmp.sock")
        qga_path = os.path.join(self.work, "qga.sock")
        for p in (qmp_path, qga_path):
            if os.path.exists(p):
                os.unlink(p)
        w, h = self.screen
        if self.arch == "x86_64":
            machine = ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-cpu", self.cpu]
            console = "ttyS0"
        else:
            machine = ["qemu-system-aarch64", "-machine", "virt", "-accel", "tcg",
                       "-cpu", "cortex-a72"]
            console = "ttyAMA0"
        cmd = machine + [
            "-m", str(self.mem), "-smp", "2",
            "-kernel", os.path.join(self.image_dir, "vmlinuz"),
            "-initrd", os.path.join(self.image_dir, "initrd.img"),
            "-append", f"root=/dev/vda rw console={console} systemd.journald.forward_to_console=0",
            "-drive", f"file={overlay},format=qcow2,if=virtio,cache=unsafe",
            *(["-device", f"virtio-gpu-pci,xres={w},yres={h}", "-vga", "none"]
              if self.gpu == "virtio" else
              ["-device", f"VGA,xres={w},yres={h},edid=on", "-vga", "none"]),
            "-display", "none",
            "-serial", "file:" + os.path.join(self.work, "serial.log"),
            "-nic", "none",
            "-qmp", f"unix:{qmp_path},server=on,wait=off",
            "-chardev", f"socket,path={qga_path},server=on,wait=off,id=qga0",
            "-device", "virtio-serial-pci",
            "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
            "-virtfs", f"local,path={self.share},mount_tag=host,security_model=none,id=host",
            "-device", "virtio-rng-pci",
        ]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=open(os.path.join(self.work, "qemu.log"), "w"),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not os.path.exists(qmp_path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise VmError("qemu did not start: " + self.qemu_log())
            time.sleep(0.1)
        self.qmp = Qmp(qmp_path)
        self.agent = Agent(qga_path)

    def qemu_log(self):
        try:
            with open(os.path.join(self.work, "qemu.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def serial_tail(self, lines=40):
        try:
            with open(os.path.join(self.work, "serial.log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def wait_for_agent(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise VmError("qemu exited: " + self.qemu_log())
            if self.agent.sync():
                return
            time.sleep(1)
        raise VmError(f"the guest agent did not answer within {timeout} s; the console said:\n"
                      + self.serial_tail())

    def sh(self, script, timeout=120, check=False):
        """Runs a shell script in the guest as root; its exit code and output."""
        pid = self.agent.call("guest-exec", path="/bin/sh", arg=["-c", script],
                              **{"capture-output": True})["pid"]
        deadline = time.monotonic() + timeout
        while True:
            status = self.agent.call("guest-exec-status", pid=pid)
            if status.get("exited"):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"in the guest, still running after {timeout} s: {script}")
            time.sleep(0.2)
        out = base64.b64decode(status.get("out-data", "")).decode(errors="replace")
        err = base64.b64decode(status.get("err-data", "")).decode(errors="replace")
        code = status.get("exitcode", -status.get("signal", 1))
        result = Result(code, out, err)
        if check and not result.ok:
            raise VmError(f"in the guest, `{script}` failed ({code}):\n{out}{err}")
        return result

    def sh_nowait(self, script):
        """Starts a script in the guest without waiting (e.g. a reboot)."""
        self.agent.call("guest-exec", path="/bin/sh", arg=["-c", script])

    def screendump(self, path):
        """The guest's screen as the monitor sees it (the virtio GPU's scanout), as PPM."""
        if os.path.exists(path):
            os.unlink(path)
        self.qmp.call("screendump", filename=path)
        deadline = time.monotonic() + 10
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.1)
        return path

    def stop(self, timeout=120):
        """Powers the guest off cleanly, or kills qemu after `timeout`."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.qmp.call("system_powerdown")
            self.proc.wait(timeout)
        except (OSError, VmError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            self.agent.close()


def quote(s):
    return shlex.quote(s)
