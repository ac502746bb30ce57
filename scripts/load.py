#!/usr/bin/env python3
"""The load and abuse campaign against the release binary, on loopback.

    scripts/load.py [--bin target/release/discord-frame] [--check]

Each scenario starts a fresh headless frame (1280x720) and reports wall time and the process's
peak resident memory (VmHWM):

  uploads   200 concurrent uploads of distinct real photos
  form      one multipart form of 300 tiny PNGs (100 stored, 200 refused by name)
  caption   one photo with a 1 MB caption
  slow      1100 connections that send half a header and stall, against a frame limited to
            1024 file descriptors; meanwhile /healthz is asked 50 times and a photo uploaded

With --check, the issue's targets are enforced (exit 1 when one is missed): the form and the
caption under 128 MB peak and 2 s, /healthz under 100 ms at the worst while the slow
connections are open, every upload stored. Figures go in BENCHMARKS.md.
"""

import argparse
import concurrent.futures
import os
import resource
import socket
import struct
import sys
import time
import uuid
import zlib

from harness import BIN, FIXTURES, Frame


def tiny_png(n):
    """A 1x1 PNG whose colour encodes n: 300 different files."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    raw = b"\x00" + bytes([n & 255, (n >> 8) & 255, 7])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def multipart(parts):
    """A multipart/form-data body from (name, filename or None, bytes)."""
    boundary = uuid.uuid4().hex
    out = []
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename:
            disposition += f'; filename="{filename}"'
        out.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode())
        out.append(data)
        out.append(b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def scenario_uploads(binary):
    frame = Frame(binary=binary)
    photo = open(os.path.join(FIXTURES, "ladybird.jpg"), "rb").read()
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(200) as pool:
        # Bytes after a JPEG's end marker are ignored by decoders: 200 distinct photos.
        statuses = list(pool.map(
            lambda n: frame.request("POST", "/api/photos", photo + b"\0" + str(n).encode())[0],
            range(200)))
    took = time.monotonic() - start
    stored = statuses.count(201)
    peak = frame.memory_mb("VmHWM")
    frame.stop()
    return {"stored": stored, "seconds": took, "peak_mb": peak}


def scenario_form(binary):
    frame = Frame(binary=binary)
    body, headers = multipart([("file", f"{n}.png", tiny_png(n)) for n in range(300)])
    start = time.monotonic()
    status, answer = frame.request("POST", "/api/photos", body, headers)
    took = time.monotonic() - start
    peak = frame.memory_mb("VmHWM")
    frame.stop()
    return {"status": status, "bytes": len(body), "seconds": took, "peak_mb": peak,
            "answer_ok": b'"too_many_files"' in answer}


def scenario_caption(binary):
    frame = Frame(binary=binary)
    photo = open(os.path.join(FIXTURES, "ladybird.jpg"), "rb").read()
    caption = ("a very long caption " * 52429)[:1 << 20].encode()
    body, headers = multipart([("caption", None, caption), ("file", "a.jpg", photo)])
    start = time.monotonic()
    status, _ = frame.request("POST", "/api/photos", body, headers)
    took = time.monotonic() - start
    peak = frame.memory_mb("VmHWM")
    frame.stop()
    return {"status": status, "seconds": took, "peak_mb": peak}


def scenario_slow(binary, count=1100):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, count + 512)), hard))
    frame = Frame(binary=binary, nofile=1024)
    socks = []
    for _ in range(count):
        s = socket.create_connection((frame.host, frame.port))
        s.sendall(b"POST /api/photos HTTP/1.1\r\nHost: frame\r\nContent-Le")
        socks.append(s)
    latencies = []
    for _ in range(50):
        start = time.monotonic()
        status, _ = frame.request("GET", "/healthz", timeout=10)
        latencies.append((time.monotonic() - start) * 1000)
        if status != 200:
            latencies[-1] = float("inf")
    photo = open(os.path.join(FIXTURES, "ladybird.png"), "rb").read()
    upload, _ = frame.request("POST", "/api/photos", photo, timeout=30)
    alive = frame.proc.poll() is None
    for s in socks:
        s.close()
    frame.stop()
    latencies.sort()
    return {"open": count, "healthz_median_ms": latencies[len(latencies) // 2],
            "healthz_max_ms": latencies[-1], "upload": upload, "alive": alive}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=BIN)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    failures = []
    u = scenario_uploads(args.bin)
    print(f"uploads: {u['stored']}/200 stored in {u['seconds']:.1f} s, peak {u['peak_mb']:.0f} MB")
    if u["stored"] != 200:
        failures.append("not every concurrent upload was stored")
    f = scenario_form(args.bin)
    print(f"form: 300 parts ({f['bytes'] // 1024} KB) answered {f['status']} in "
          f"{f['seconds']:.2f} s, peak {f['peak_mb']:.0f} MB")
    if f["status"] != 201 or not f["answer_ok"] or f["seconds"] > 2 or f["peak_mb"] > 128:
        failures.append("the 300-part form")
    c = scenario_caption(args.bin)
    print(f"caption: 1 MB answered {c['status']} in {c['seconds']:.2f} s, "
          f"peak {c['peak_mb']:.0f} MB")
    if c["status"] != 201 or c["seconds"] > 2 or c["peak_mb"] > 128:
        failures.append("the 1 MB caption")
    s = scenario_slow(args.bin)
    print(f"slow: {s['open']} stalled connections under a 1024-descriptor limit: /healthz "
          f"median {s['healthz_median_ms']:.1f} ms, worst {s['healthz_max_ms']:.1f} ms; "
          f"an upload meanwhile: {s['upload']}; frame alive: {s['alive']}")
    if s["healthz_max_ms"] > 100 or s["upload"] != 201 or not s["alive"]:
        failures.append("/healthz or an upload under 1100 slow connections")
    if failures and args.check:
        print("missed: " + "; ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
