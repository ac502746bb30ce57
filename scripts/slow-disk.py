#!/usr/bin/env python3
"""The frame on a slow SD card: how long status and next take while photos are being stored.

    scripts/slow-disk.py [--bin target/release/discord-frame] [--delay-ms 250] [--check]

Starts the release binary (headless, 1280x720) under strace, which delays every fsync and
fdatasync by --delay-ms (an SD card's commit), uploads 8 distinct photos at once, and meanwhile
asks `GET /api/status` and `POST /api/next` in turn, one at a time, until the uploads are done.
Then it asks `status` 20 times with nothing else going on (idle). Prints the median and worst
latency of each. With --check, the targets are enforced: status and next at most 50 ms median
and 400 ms worst while the uploads commit (exit 1 when missed). Needs strace (and ptrace).
"""

import argparse
import concurrent.futures
import os
import shutil
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, FIXTURES, Frame  # noqa: E402


def timed(frame, method, path):
    start = time.monotonic()
    status, _ = frame.request(method, path, timeout=60)
    ms = (time.monotonic() - start) * 1000
    return ms if status < 400 else float("inf")


def summary(values):
    return statistics.median(values), max(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=BIN)
    parser.add_argument("--delay-ms", type=int, default=250)
    parser.add_argument("--uploads", type=int, default=8)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if not shutil.which("strace"):
        raise SystemExit("slow-disk.py needs strace (apt install strace)")
    delay_us = args.delay_ms * 1000
    # --seccomp-bpf stops the frame only at the traced calls, so that nothing else is slowed.
    wrapper = ["strace", "-f", "-qq", "--seccomp-bpf", "-o", "/dev/null",
               "-e", "trace=fsync,fdatasync",
               "-e", f"inject=fsync,fdatasync:delay_enter={delay_us}"]
    frame = Frame(binary=args.bin, wrapper=wrapper)
    photo = open(os.path.join(FIXTURES, "ladybird.jpg"), "rb").read()
    # Two photos first, so that `next` has somewhere to go.
    for n in range(2):
        frame.request("POST", "/api/photos", photo + b"\0seed" + str(n).encode())

    status_ms, next_ms = [], []
    done = threading.Event()

    def poll():
        while not done.is_set():
            status_ms.append(timed(frame, "GET", "/api/status"))
            next_ms.append(timed(frame, "POST", "/api/next"))

    poller = threading.Thread(target=poll)
    start = time.monotonic()
    poller.start()
    with concurrent.futures.ThreadPoolExecutor(args.uploads) as pool:
        codes = list(pool.map(
            lambda n: frame.request("POST", "/api/photos", photo + b"\0" + str(n).encode())[0],
            range(args.uploads)))
    done.set()
    poller.join()
    busy = time.monotonic() - start
    time.sleep(1)
    idle_ms = [timed(frame, "GET", "/api/status") for _ in range(20)]
    frame.stop()

    stored = codes.count(201)
    s_med, s_max = summary(status_ms)
    n_med, n_max = summary(next_ms)
    i_med, i_max = summary(idle_ms)
    print(f"fsync +{args.delay_ms} ms; {stored}/{args.uploads} uploads stored in {busy:.1f} s")
    print(f"while storing: GET /api/status median {s_med:.1f} ms, worst {s_max:.1f} ms "
          f"({len(status_ms)} asked); POST /api/next median {n_med:.1f} ms, "
          f"worst {n_max:.1f} ms ({len(next_ms)} asked)")
    print(f"idle: GET /api/status median {i_med:.1f} ms, worst {i_max:.1f} ms")
    failed = stored != args.uploads or max(s_med, n_med) > 50 or max(s_max, n_max) > 400
    if failed and args.check:
        print("missed: status/next over 50 ms median or 400 ms worst, or an upload lost",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
