#!/usr/bin/env python3
"""The frame's own benchmarks, on the release binary, whole process, over loopback HTTP.

  scripts/bench-frame.py [--display headless|softbuffer|pixels] [--photo bench-photos/12mp.jpg]

Measures, for one presenter:
  - upload -> on screen: POST of a 12 MP JPEG until /api/status names it as current; compared in
    the same run with `discord-frame render` of the same photo (the pipeline alone, whole
    process), so the ratio says what ingest, storage and the slideshow add;
  - idle CPU: the process's CPU ticks (utime + stime, /proc/PID/stat) over 10 s with nothing to do;
  - RSS after each 10 of 100 uploads at 1920x1080 (VmRSS), and its growth over the last 50;
  - crossfade frame cost, from the frame's own debug log (window presenters only).
Windows need a display server: run under `xvfb-run -s "-noreset -screen 0 1920x1080x24"`.
"""
import argparse, atexit, os, re, shutil, statistics, subprocess, tempfile, time

from harness import BIN, ROOT, Frame, cpu_ticks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--display", default="headless")
    ap.add_argument("--photo", default=os.path.join(ROOT, "bench-photos", "12mp.jpg"))
    ap.add_argument("--uploads", type=int, default=100)
    args = ap.parse_args()
    photo = open(args.photo, "rb").read()
    tmp = tempfile.mkdtemp()
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    # A long interval: nothing rotates by itself while we measure.
    frame = Frame('[display]\ninterval = "1h"\ntransition = "800ms"\n',
                  folder=os.path.join(tmp, "frame"), display=args.display, size="1920x1080",
                  log_level="discord_frame=debug,warn")
    try:
        status = frame.status()
        size = (status["display"]["width"], status["display"]["height"])
        print(f"presenter: {status['display']['backend']} at {size[0]}x{size[1]}")

        def upload(n):
            # A trailer after the JPEG's end marker makes every upload a new photo.
            t0 = time.perf_counter()
            frame.wait_current(frame.upload(photo + f"bench upload {n}".encode()))
            return time.perf_counter() - t0

        latencies, rss = [], []
        for n in range(args.uploads):
            latencies.append(upload(n))
            if (n + 1) % 10 == 0:
                time.sleep(1.0)  # let the fade finish
                rss.append(frame.memory_mb())
        # The pipeline alone, same photo, same size, whole process, alternating with uploads.
        renders = []
        out = os.path.join(tmp, "slide.ppm")
        for _ in range(10):
            t0 = time.perf_counter()
            subprocess.run([BIN, "render", args.photo, "--size", f"{size[0]}x{size[1]}", "--out", out], check=True)
            renders.append(time.perf_counter() - t0)
        time.sleep(2.0)
        t0 = cpu_ticks(frame.proc.pid)
        time.sleep(10.0)
        idle = cpu_ticks(frame.proc.pid) - t0
        # Asleep (the screen off, as at night): nothing at all should run.
        frame.ok("POST", "/api/screen", b'{"on": false}', {"Content-Type": "application/json"})
        time.sleep(2.0)
        t0 = cpu_ticks(frame.proc.pid)
        time.sleep(10.0)
        asleep = cpu_ticks(frame.proc.pid) - t0
        frame.ok("POST", "/api/screen", b'{"on": true}', {"Content-Type": "application/json"})

        lat, ren = statistics.median(latencies) * 1000, statistics.median(renders) * 1000
        print(f"upload -> on screen, {len(photo) / 1e6:.1f} MB JPEG: median {lat:.0f} ms "
              f"(p90 {sorted(latencies)[int(len(latencies) * 0.9)] * 1000:.0f} ms); "
              f"`render` alone {ren:.0f} ms; ratio {lat / ren:.2f}x")
        print(f"idle CPU over 10 s: {idle} ticks; asleep (screen off): {asleep} ticks")
        print("RSS after each 10 uploads (MB): " + " ".join(f"{r:.0f}" for r in rss))
        half = rss[len(rss) // 2 - 1:]
        print(f"RSS steady: max {max(half):.0f} MB; growth over the last {10 * (len(half) - 1)} uploads: "
              f"{half[-1] - half[0]:+.1f} MB")
    finally:
        code = frame.stop()
    fades = re.findall(r"fade: (\d+) frames at (\S+), mean ([\d.]+) ms, worst ([\d.]+) ms", frame.log())
    if fades:
        means = [float(f[2]) for f in fades]
        worst = max(float(f[3]) for f in fades)
        print(f"crossfade at {fades[0][1]}: median of {len(fades)} fades' mean frame cost "
              f"{statistics.median(means):.2f} ms, worst frame {worst:.2f} ms")
    print(f"exit status after SIGTERM: {code}")


if __name__ == "__main__":
    main()
