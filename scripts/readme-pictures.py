#!/usr/bin/env python3
"""The README's pictures, made by the frame itself: the release binary, headless, photos
uploaded over HTTP as any client would, the screen read back from /api/screenshot.png.

  scripts/readme-pictures.py [--out docs/pictures]

Run it again after a change to how slides look; .ci/run runs it (into a temporary folder) so
that it keeps working. The photographs are Debian's mate-backgrounds; imagemagick crops the
portrait ones (as a phone would take them) and writes the pictures as JPEG; exiftool gives the
captioned one the date a camera would have written.
"""
import argparse, atexit, os, shutil, socket, subprocess, tempfile, time

from harness import ROOT, Frame

NATURE = "/usr/share/backgrounds/mate/nature"
# A fixed moment for the clock, so the pictures only change when the slides do.
MOMENT = "2026-06-14T09:41:00+02:00"


def start(tmp, name, config, size, port=0):
    """A headless frame for one picture, at a fixed moment in Berlin."""
    return Frame('[display]\ntransition = "0s"\ninterval = "1h"\n' + config,
                 folder=os.path.join(tmp, name), size=size, port=port,
                 env={"TZ": "Europe/Berlin", "DISCORD_FRAME_CLOCK": MOMENT})


def picture(frame, out, name):
    """The frame's screen, as a JPEG in `out`."""
    png = frame.ok("GET", "/api/screenshot.png")
    target = os.path.join(out, name + ".jpg")
    subprocess.run(["convert", "png:-", "-quality", "82", target], input=png, check=True)
    print(f"{target}: {os.path.getsize(target) // 1024} KB")


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def portrait(src, dst):
    """A portrait photograph cut from a landscape one, 2:3, as a phone would take it."""
    subprocess.run(["convert", src, "-resize", "x1500", "-gravity", "center", "-crop",
                    "1000x1500+0+0", "+repage", "-quality", "92", dst], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "pictures"))
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp()
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    tall = [os.path.join(tmp, f"tall-{i}.jpg") for i in (1, 2)]
    portrait(os.path.join(NATURE, "YellowFlower.jpg"), tall[0])
    portrait(os.path.join(NATURE, "TwoWings.jpg"), tall[1])

    # An empty frame: what it tells a person who has never sent it anything, on the port a
    # frame has by default when that one is free here (the slide names it).
    f = start(tmp, "welcome", "", "960x540", port=8080 if port_free(8080) else 0)
    f.wait(lambda s: s["current"] is None, "the welcome slide")
    time.sleep(0.2)
    picture(f, out, "welcome")
    f.stop()

    # A photo with its caption (who sent it, what they wrote, the day) and the clock.
    f = start(tmp, "caption", 'clock = "time+date"\ncaption_fields = ["sender", "text", "date"]\n',
              "960x540")
    meadow = os.path.join(tmp, "meadow.jpg")
    subprocess.run(["exiftool", "-q", "-DateTimeOriginal=2026:05:24 17:03:00", "-o", meadow,
                    os.path.join(NATURE, "GreenMeadow.jpg")], check=True)
    photo = f.upload(meadow, sender="Grandma",
                     caption="The meadow behind the house")
    f.wait(lambda s: (s["current"] or {}).get("id") == photo, "the meadow")
    picture(f, out, "caption-and-clock")
    f.stop()

    # Two portrait photos share the landscape screen: the second arrives alone first, and the
    # rotation pairs them.
    f = start(tmp, "pair", 'order = "newest"\n', "960x540")
    f.upload(tall[0])
    second = f.upload(tall[1])
    f.wait(lambda s: (s["current"] or {}).get("id") == second, "the second portrait photo")
    for _ in range(2):
        f.ok("POST", "/api/next")
    f.wait(lambda s: s.get("beside") is not None, "a pair")
    picture(f, out, "portrait-pair")
    f.stop()

    # A phone asks to pair (as the page does, from the address a phone on the Wi-Fi would
    # use): the code and its QR code over the photo on the screen.
    f = start(tmp, "pairing", "", "960x540")
    photo = f.upload(os.path.join(NATURE, "GreenMeadow.jpg"))
    f.wait(lambda s: (s["current"] or {}).get("id") == photo, "the photo")
    f.ok("POST", "/api/pairing/code", b"", {"Host": "192.168.1.20:8080"})
    time.sleep(0.3)
    picture(f, out, "pairing-card")
    f.stop()

    # A screen mounted turned a quarter: the slide is composed upright for it.
    f = start(tmp, "rotated", "rotate = 90\n", "960x540")
    photo = f.upload(tall[0], caption="Sunflowers on the balcony")
    f.wait(lambda s: (s["current"] or {}).get("id") == photo, "the photo on the turned screen")
    picture(f, out, "rotated-90")
    f.stop()


if __name__ == "__main__":
    main()
