#!/usr/bin/env python3
"""The frame when its card fails under it: I/O errors injected into the running process.

    scripts/io-faults.py [--bin target/release/discord-frame] [--check]

A tmpfs can be filled (tests/faults.rs does), but it never answers EIO, and it cannot make the
index's writes fail while the photo's succeed. strace can: it attaches to the running frame and
makes chosen system calls fail, then detaches, as a card that recovers would.

  1. every fsync/fdatasync fails with EIO (a dying card): an upload is refused in words, nothing
     half-stored is left (no row, no file, no .part), status and the screen carry on;
  2. SQLite's writes (pwrite64) fail with ENOSPC while the photo's file is written: the upload
     gets 507 disk_full, and the photo file written before the failed commit is removed;
  3. strace detaches: the next upload is stored, and after a restart every acknowledged photo is
     there, byte for byte.

Prints what each step answered. With --check, exits 1 when any expectation fails. Needs strace
and ptrace (root, or a kernel that allows attaching to a child).
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, FIXTURES, Frame  # noqa: E402


class Injection:
    """strace attached to every thread of `pid`, failing `calls` with `error`."""

    def __init__(self, pid, calls, error):
        self.proc = subprocess.Popen(
            ["strace", "-f", "-p", str(pid), "-o", "/dev/null", "-e", f"trace={calls}",
             "-e", f"inject={calls}:error={error}"],
            stderr=subprocess.PIPE, text=True)
        # strace says "Process N attached" for each thread; one line is enough to go on once the
        # others have had a moment.
        self.proc.stderr.readline()
        time.sleep(0.5)

    def detach(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def files(data):
    """The originals (name: SHA-256 of the bytes) and any .part files, as another program
    would see them."""
    photos, parts = {}, []
    for folder, _, names in os.walk(data):
        for name in names:
            path = os.path.join(folder, name)
            if name.endswith(".part"):
                parts.append(path)
            elif os.path.relpath(path, data).startswith("photos" + os.sep):
                photos[name] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return photos, parts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=BIN)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if not shutil.which("strace"):
        raise SystemExit("io-faults.py needs strace (apt install strace)")
    photo = open(os.path.join(FIXTURES, "ladybird.jpg"), "rb").read()
    variant = lambda n: photo + b"\0" + str(n).encode()  # noqa: E731
    failures = []

    def expect(ok, what):
        print(("ok:   " if ok else "FAIL: ") + what)
        if not ok:
            failures.append(what)

    root = tempfile.mkdtemp()
    data = os.path.join(root, "data")
    frame = Frame(binary=args.bin, data_dir=data)
    acknowledged = []
    for n in range(2):
        status, body = frame.request("POST", "/api/photos", variant(n))
        expect(status == 201, f"before any fault, upload {n} is stored ({status})")
        acknowledged.append(json.loads(body)["photos"][0]["sha256"])
    before, _ = files(data)

    # 1. A dying card: every fsync fails.
    fault = Injection(frame.proc.pid, "fsync,fdatasync", "EIO")
    status, body = frame.request("POST", "/api/photos", variant(10))
    error = json.loads(body or b"{}").get("error", {})
    print(f"      fsync EIO: {status} {error.get('code')}: {error.get('message')}")
    expect(status == 500 and error.get("code") == "storage_failed"
           and "card" in error.get("message", ""),
           "an upload that cannot be made durable is refused, naming the card")
    fault.detach()
    after, parts = files(data)
    expect(after == before and not parts, "nothing half-stored: the same originals, no .part file")
    status, body = frame.request("GET", "/api/status")
    expect(status == 200 and json.loads(body)["photos"] == 2, "status answers, 2 photos")

    # 2. The index cannot be written (the disk filled between the photo and its row).
    fault = Injection(frame.proc.pid, "pwrite64", "ENOSPC")
    status, body = frame.request("POST", "/api/photos", variant(11))
    error = json.loads(body or b"{}").get("error", {})
    print(f"      SQLite ENOSPC: {status} {error.get('code')}: {error.get('message')}")
    expect(status == 507 and error.get("code") == "disk_full", "a full disk is 507 disk_full")
    fault.detach()
    after, parts = files(data)
    expect(after == before and not parts, "the photo written before the failed commit is removed")

    # 3. The card recovers.
    status, body = frame.request("POST", "/api/photos", variant(12))
    expect(status == 201, f"after the faults, an upload is stored ({status})")
    if status == 201:
        acknowledged.append(json.loads(body)["photos"][0]["sha256"])
    frame.stop()
    again = Frame(binary=args.bin, data_dir=data)
    status, body = again.request("GET", "/api/photos")
    listed = sorted(p["sha256"] for p in json.loads(body)["photos"])
    again.stop()
    expect(listed == sorted(acknowledged), f"after a restart, the {len(acknowledged)} "
           "acknowledged photos are listed")
    stored, _ = files(data)
    expect(sorted(stored.values()) == sorted(acknowledged), "each original is intact, byte for byte")
    shutil.rmtree(root, ignore_errors=True)
    if failures and args.check:
        print(f"{len(failures)} expectation(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
