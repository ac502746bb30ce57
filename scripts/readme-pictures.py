#!/usr/bin/env python3
"""The README's pictures, made by the frame itself: the release binary, headless, photos
uploaded over HTTP as any client would, the screen read back from /api/screenshot.png.

  scripts/readme-pictures.py [--out docs/pictures]

Run it again after a change to how slides look; .ci/run runs it (into a temporary folder) so
that it keeps working. The photographs are Debian's mate-backgrounds; imagemagick crops the
portrait ones (as a phone would take them) and writes the pictures as JPEG; exiftool gives the
captioned one the date a camera would have written.
"""
import argparse, atexit, json, os, shutil, socket, subprocess, sys, tempfile, time, \
    urllib.parse, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("DISCORD_FRAME_BIN", os.path.join(ROOT, "target", "release", "discord-frame"))
NATURE = "/usr/share/backgrounds/mate/nature"
# A fixed moment for the clock, so the pictures only change when the slides do.
MOMENT = "2026-06-14T09:41:00+02:00"


def request(url, data=None):
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read()


class Frame:
    """A headless frame with its own config and data folder, on a free port."""

    def __init__(self, tmp, name, config, size, port=0):
        data = os.path.join(tmp, name)
        path = data + ".toml"
        with open(path, "w") as f:
            f.write('[display]\ntransition = "0s"\ninterval = "1h"\n' + config)
        env = dict(os.environ, TZ="Europe/Berlin", DISCORD_FRAME_CLOCK=MOMENT)
        env.pop("DISCORD_BOT_TOKEN", None)
        self.log = open(data + ".log", "w")
        self.proc = subprocess.Popen(
            [BIN, "--config", path, "--data-dir", data, "--port", str(port), "--display", "headless",
             "--size", size], stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        line = self.proc.stdout.readline().strip()
        prefix = "discord-frame: serving on "
        if not line.startswith(prefix):
            self.proc.kill()
            sys.exit(f"the frame did not start ({line!r}): see {data}.log")
        self.url = line[len(prefix):]

    def upload(self, path, **query):
        with open(path, "rb") as f:
            body = json.loads(request(f"{self.url}/api/photos?{urllib.parse.urlencode(query)}",
                                      f.read()))
        return body["photos"][0]["id"]

    def status(self):
        return json.loads(request(f"{self.url}/api/status"))

    def wait(self, done, what):
        for _ in range(500):
            if done(self.status()):
                return
            time.sleep(0.01)
        sys.exit(f"the frame never showed {what}: {self.status()}")

    def picture(self, out, name):
        png = request(f"{self.url}/api/screenshot.png")
        target = os.path.join(out, name + ".jpg")
        subprocess.run(["convert", "png:-", "-quality", "82", target], input=png, check=True)
        print(f"{target}: {os.path.getsize(target) // 1024} KB")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)


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
    f = Frame(tmp, "welcome", "", "960x540", port=8080 if port_free(8080) else 0)
    f.wait(lambda s: s["current"] is None, "the welcome slide")
    time.sleep(0.2)
    f.picture(out, "welcome")
    f.stop()

    # A photo with its caption (who sent it, what they wrote, the day) and the clock.
    f = Frame(tmp, "caption", 'clock = "time+date"\ncaption_fields = ["sender", "text", "date"]\n',
              "960x540")
    meadow = os.path.join(tmp, "meadow.jpg")
    subprocess.run(["exiftool", "-q", "-DateTimeOriginal=2026:05:24 17:03:00", "-o", meadow,
                    os.path.join(NATURE, "GreenMeadow.jpg")], check=True)
    photo = f.upload(meadow, sender="Grandma",
                     caption="The meadow behind the house")
    f.wait(lambda s: (s["current"] or {}).get("id") == photo, "the meadow")
    f.picture(out, "caption-and-clock")
    f.stop()

    # Two portrait photos share the landscape screen: the second arrives alone first, and the
    # rotation pairs them.
    f = Frame(tmp, "pair", 'order = "newest"\n', "960x540")
    f.upload(tall[0])
    second = f.upload(tall[1])
    f.wait(lambda s: (s["current"] or {}).get("id") == second, "the second portrait photo")
    for _ in range(2):
        request(f"{f.url}/api/next", b"")
    f.wait(lambda s: s.get("beside") is not None, "a pair")
    f.picture(out, "portrait-pair")
    f.stop()

    # A phone asks to pair (as the page does, from the address a phone on the Wi-Fi would
    # use): the code and its QR code over the photo on the screen.
    f = Frame(tmp, "pairing", "", "960x540")
    photo = f.upload(os.path.join(NATURE, "GreenMeadow.jpg"))
    f.wait(lambda s: (s["current"] or {}).get("id") == photo, "the photo")
    ask = urllib.request.Request(f"{f.url}/api/pairing/code", data=b"", method="POST",
                                 headers={"Host": "192.168.1.20:8080"})
    urllib.request.urlopen(ask, timeout=60).read()
    time.sleep(0.3)
    f.picture(out, "pairing-card")
    f.stop()

    # A screen mounted turned a quarter: the slide is composed upright for it.
    f = Frame(tmp, "rotated", "rotate = 90\n", "960x540")
    photo = f.upload(tall[0], caption="Sunflowers on the balcony")
    f.wait(lambda s: (s["current"] or {}).get("id") == photo, "the photo on the turned screen")
    f.picture(out, "rotated-90")
    f.stop()


if __name__ == "__main__":
    main()
