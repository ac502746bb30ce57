#!/usr/bin/env python3
"""The frame's page in a real browser: Debian's headless chromium, driven through WebDriver
(chromium-driver, Python selenium), against the release binary on loopback.

    tests/browser/page.py [--bin target/release/discord-frame] [--out DIR]

Run by .ci/run (which installs chromium, chromium-driver and selenium in a venv). Saves a
phone-sized screenshot of each view in DIR (default: target/browser-shots) and prints the page's
weight and its time to first render, for BENCHMARKS.md. Exits non-zero on the first failure.
"""

import argparse, atexit, datetime, json, os, re, shutil, subprocess, sys, tempfile, time

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from harness import Frame as Running  # noqa: E402

PHOTOS = ["/usr/share/backgrounds/mate/nature/Aqua.jpg",
          "/usr/share/backgrounds/mate/nature/LadyBird.jpg"]
# A phone: an iPhone 12/13/14's viewport in CSS pixels.
PHONE = (390, 844)

# Programs use the token; the browser has to pair.
TOKEN = "token-for-programs-only"

CONFIG = f"""\
# The frame's settings for the browser test.
[http]
token = "{TOKEN}"

[display]
# Long enough that only the test moves the show on.
interval = "10m"
transition = "0s"
"""


class Frame(Running):
    """The frame for the browser test, its log at the config's level (the test reads it for
    secrets)."""

    def __init__(self, binary, tmp):
        super().__init__(CONFIG, folder=tmp, binary=binary, log_level=None)

    def api(self, path, body=None, method="GET", headers=None):
        """The API as a program on the network uses it: with the token."""
        headers = {"Authorization": f"Bearer {TOKEN}", **(headers or {})}
        status, data = self.request(method, path, body, headers, timeout=30)
        return status, (json.loads(data) if data[:1] in (b"{", b"[") else data)


def read_code(frame, out, name):
    """The pairing code as a phone's camera reads it off the frame's screen: zbarimg decodes
    the QR code in the frame's own screenshot. Returns (address, code)."""
    deadline = time.time() + 20
    while time.time() < deadline:
        status, png = frame.api("/api/screenshot.png")
        path = os.path.join(out, f"{name}.png")
        open(path, "wb").write(png)
        read = subprocess.run(["zbarimg", "--raw", "-q", path], capture_output=True, text=True)
        m = re.search(r"(\S+)#pair=(\d{6})", read.stdout)
        if m:
            return m.group(0), m.group(2)
        time.sleep(0.2)
    sys.exit("FAIL: no pairing code on the frame's screen")


# Every change the API takes, sent by the page's own script without a session: each must be
# refused (the frame's state is checked after).
CHANGES = [("POST", "/api/next"), ("POST", "/api/prev"), ("POST", "/api/pause"),
           ("POST", "/api/resume"), ("POST", "/api/screen", {"on": False}),
           ("POST", "/api/photos"), ("DELETE", "/api/photos/1"),
           ("PATCH", "/api/photos/1", {"caption": "x"}), ("POST", "/api/photos/1/show"),
           ("POST", "/api/photos/1/favourite"), ("PATCH", "/api/settings", {"interval": "1s"}),
           ("DELETE", "/api/sessions/1"), ("POST", "/api/discord/messages", {"content": "x"})]


def refused_without_session(driver):
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        Promise.all(arguments[0].map(([method, path, body]) => fetch(path, {
            method, headers: {'Content-Type': 'application/json'},
            body: body === null ? undefined : JSON.stringify(body),
        }).then(r => [method + ' ' + path, r.status]))).then(done, (e) => done(String(e)));""",
        [[c[0], c[1], c[2] if len(c) > 2 else None] for c in CHANGES])


def wait(driver, what, test, within=20):
    try:
        return WebDriverWait(driver, within, poll_frequency=0.05).until(lambda d: test())
    except Exception:
        sys.exit(f"FAIL: {what} (waited {within} s)")


def check(ok, what):
    if not ok:
        sys.exit(f"FAIL: {what}")
    print(f"ok: {what}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/discord-frame"))
    ap.add_argument("--out", default=os.path.join(ROOT, "target/browser-shots"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    tmp = tempfile.mkdtemp(prefix="frame-browser-")
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    frame = Frame(args.bin, tmp)
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--window-size={PHONE[0]},{PHONE[1]}", "--force-device-scale-factor=1"]:
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    try:
        run(driver, frame, args.out)
    finally:
        driver.quit()
        frame.stop()
    print(f"all checks passed; screenshots in {args.out}")


def shot(driver, out, name):
    path = os.path.join(out, f"{name}.png")
    driver.save_screenshot(path)
    print(f"   saved {path}")


def run(driver, frame, out):
    el = lambda css: driver.find_element(By.CSS_SELECTOR, css)
    els = lambda css: driver.find_elements(By.CSS_SELECTOR, css)
    driver.set_window_size(*PHONE)

    # Not paired: the page asks for the code, and the frame shows one on its screen.
    driver.get(frame.url + "/")
    wait(driver, "the page asks to pair", lambda: el("#pair").is_displayed()
         and "shows a code" in el("#pair-note").text)
    check(not el("#now").is_displayed() and not el("nav").is_displayed(),
          "nothing else shows before pairing")
    results = refused_without_session(driver)
    check(isinstance(results, list) and len(results) == len(CHANGES)
          and all(status == 401 for _, status in results),
          f"without the cookie every change is refused: {results}")
    _, status = frame.api("/api/status")
    check(status["paused"] is False and status["screen"]["screen"] == "on"
          and status["photos"] == 0, "and none of them changed anything")
    _, shown = read_code(frame, out, "0-frame-shows-code")
    shot(driver, out, "0-pair")
    box = el("#pair-code")
    box.send_keys("000000" if shown != "000000" else "000001")
    el("#pair-go").click()
    wait(driver, "a wrong code is refused in words", lambda: "tries left" in el("#pair-note").text)
    box.clear()
    box.send_keys(shown[:3] + " " + shown[3:])
    el("#pair-go").click()

    # Paired: the welcome slide in the live view.
    timing = driver.execute_script("""
        const nav = performance.getEntriesByType('navigation')[0];
        const paint = performance.getEntriesByName('first-contentful-paint')[0];
        const bytes = performance.getEntriesByType('resource')
            .filter(r => /page\\.(js|css)$/.test(r.name))
            .reduce((n, r) => n + r.transferSize, nav.transferSize);
        return {fcp: paint ? paint.startTime : null, load: nav.loadEventEnd, bytes};""")
    print(f"measure: first contentful paint {timing['fcp']:.0f} ms, load {timing['load']:.0f} ms, "
          f"page {timing['bytes']} bytes transferred (html + js + css, with headers)")
    shot(driver, out, "1-now-welcome")
    welcome = frame.api("/api/screenshot.png")[1]

    # Two photos through the file input, at once.
    driver.get(frame.url + "/#send")
    el("#send-caption").send_keys("Sent from the page")
    el("#files").send_keys("\n".join(PHOTOS))
    wait(driver, "both uploads say they are on the frame",
         lambda: [e.text for e in els("#uploads small")] == ["On the frame ✓"] * 2, within=60)
    check(len(els("#uploads progress")) == 2 and
          all(e.get_attribute("value") == "1" for e in els("#uploads progress")),
          "a progress bar per file, both full")
    shot(driver, out, "2-send")
    _, listing = frame.api("/api/photos")
    photos = listing["photos"]
    check(len(photos) == 2 and all(p["caption"] == "Sent from the page" for p in photos),
          "the library has both photos, with the caption typed on the page")
    _, status = frame.api("/api/status")
    check(status["current"]["id"] == photos[0]["id"], "the last one sent is on the frame's screen")
    check(frame.api("/api/screenshot.png")[1] != welcome, "the frame's screen changed")

    # A refused file says why, in the frame's words.
    # In the frame's own temporary folder, removed with it.
    refused = os.path.join(os.path.dirname(frame.config), "refused")
    os.makedirs(refused)
    bad = os.path.join(refused, "notes.txt")
    open(bad, "w").write("not a photo")
    el("#files").send_keys(bad)
    wait(driver, "a refused file shows the frame's error",
         lambda: "not a photo" in el("#uploads li small.bad").text.lower()
         if els("#uploads li small.bad") else False)
    print(f"   refused: {el('#uploads li small.bad').text}")

    # The grid: newest first, thumbnails loaded.
    driver.get(frame.url + "/#photos")
    wait(driver, "two tiles with their thumbnails",
         lambda: len(els(".tile")) == 2 and all(driver.execute_script(
             "return arguments[0].complete && arguments[0].naturalWidth", img) == 320
             for img in els(".tile img")))
    check([int(t.get_attribute("data-id")) for t in els(".tile")] == [p["id"] for p in photos],
          "the grid is newest first")
    shot(driver, out, "3-photos")

    # The live view follows a `next` sent by another program.
    driver.get(frame.url + "/#now")
    live = lambda: el("#live").get_attribute("data-photo")
    wait(driver, "the live view shows the newest photo", lambda: live() == str(photos[0]["id"]))
    first_src = el("#live").get_attribute("src")
    check(frame.api("/api/next", b"", "POST")[0] == 200, "next, from curl's place")
    wait(driver, "the live view follows the next", lambda: live() == str(photos[1]["id"]))
    wait(driver, "its picture is asked again", lambda: el("#live").get_attribute("src") != first_src)
    shot(driver, out, "4-now")

    # Open the older one: a new caption, on the frame too.
    driver.get(frame.url + "/#photos")
    wait(driver, "tiles", lambda: len(els(".tile")) == 2)
    target = photos[1]["id"]
    el(f'.tile[data-id="{target}"]').click()
    wait(driver, "the photo opens", lambda: el("#photo").get_attribute("open") is not None)
    box = el("#photo-caption")
    box.clear()
    box.send_keys("Grandma's garden")
    el("#photo-save").click()
    wait(driver, "the caption is stored",
         lambda: frame.api("/api/photos")[1]["photos"][1]["caption"] == "Grandma's garden")
    wait(driver, "the tile shows it", lambda: "Grandma's garden" in
         el(f'.tile[data-id="{target}"] span').get_attribute("textContent"))
    wait(driver, "the screen's caption changed too",
         lambda: frame.api("/api/status")[1]["current"]["caption"] == "Grandma's garden")
    shot(driver, out, "5-photo")

    # Delete it: confirmed, gone from the grid, the library and the screen.
    el("#photo-delete").click()
    WebDriverWait(driver, 5).until(lambda d: d.switch_to.alert).accept()
    wait(driver, "one tile left", lambda: len(els(".tile")) == 1)
    check([p["id"] for p in frame.api("/api/photos")[1]["photos"]] == [photos[0]["id"]],
          "the library lost only that photo")

    # Another program deletes the other: the page follows without a reload.
    frame.api(f"/api/photos/{photos[0]['id']}", None, "DELETE")
    wait(driver, "the grid follows a delete made elsewhere", lambda: len(els(".tile")) == 0)

    # The status view.
    driver.get(frame.url + "/#frame")
    wait(driver, "the frame's facts", lambda: "Version" in el("#facts").text)
    check("Off (no bot token in config.toml)" in el("#facts").text, "Discord's state in words")
    shot(driver, out, "6-frame")

    # A setting changed on the page: in use at once, and in config.toml with its comments.
    wait(driver, "the settings are read", lambda: el("#set-interval").get_attribute("value") == "10m")
    box = el("#set-interval")
    box.clear()
    box.send_keys("soon")
    el("#set-save").click()
    wait(driver, "a wrong value is refused in words",
         lambda: "not a length of time" in el("#set-note").text)
    check(open(frame.config).read() == CONFIG, "and the file is untouched")
    box.clear()
    box.send_keys("5m")
    el("#set-save").click()
    wait(driver, "the page says it is saved", lambda: "Saved" in el("#set-note").text)
    text = open(frame.config).read()
    check(text == CONFIG.replace('interval = "10m"', 'interval = "5m"'),
          "config.toml has the new interval, every comment kept")
    check(frame.api("/api/settings")[1]["live"]["interval"] == "5m", "the frame uses it")
    check(el("#set-captions").is_selected(), "captions are on, as by default")
    el("#set-captions").click()
    el("#set-save").click()
    wait(driver, "captions off is saved", lambda: frame.api("/api/settings")[1]["live"]["captions"] is False)
    text = open(frame.config).read()
    check(text.startswith(CONFIG.replace('interval = "10m"', 'interval = "5m"'))
          and "captions = false" in text.split("[display]")[1], "and written into [display]")

    # The order and the screen's times: an hour two days from now keeps the screen dark now.
    Select(el("#set-order")).select_by_value("newest")
    check(el("#always").is_displayed(), "no times: the page says the screen is on all the time")
    el("#window-add").click()
    day = (datetime.date.today() + datetime.timedelta(days=2)).strftime("%a").lower()
    row = el("#windows li")
    Select(row.find_element(By.CSS_SELECTOR, "select")).select_by_value(day)
    start, end = row.find_elements(By.CSS_SELECTOR, "input[type=time]")
    check(start.get_attribute("value") == "07:00", "a new time starts as 07:00 to 22:00")
    for box, value in ((start, "10:00"), (end, "11:00")):
        driver.execute_script("arguments[0].value = arguments[1]", box, value)
    el("#set-save").click()
    wait(driver, "the order and the times are saved",
         lambda: frame.api("/api/settings")[1]["live"]["schedule"] == [f"{day} 10:00-11:00"])
    text = open(frame.config).read()
    check('order = "newest"' in text.split("[display]")[1].split("[schedule]")[0]
          and text.endswith(f'[schedule]\non = ["{day} 10:00-11:00"]\n'),
          "config.toml has the order in [display] and the times in [schedule] on")
    screen = frame.api("/api/status")[1]["screen"]
    check(screen["screen"] == "off" and screen["why"] == "schedule",
          f"outside the new times the screen is off at once ({screen['screen']}, {screen['why']})")
    shot(driver, out, "7-settings")
    driver.get(frame.url + "/#now")
    wait(driver, "the Now view says the screen is off",
         lambda: el("#screen-line").text.startswith("The screen is off."))
    driver.get(frame.url + "/#frame")
    wait(driver, "the times are shown again", lambda: len(driver.find_elements(By.CSS_SELECTOR, "#windows li")) == 1)
    el("#windows li button").click()
    el("#set-save").click()
    wait(driver, "no times: on all the time", lambda: frame.api("/api/status")[1]["screen"]["screen"] == "on")
    check("on = []" in open(frame.config).read(), "written as an empty list")
    # Everything else, read-only: the tokens redacted, none of them anywhere in the page.
    el("#fixed-box summary").click()
    fixed = el("#fixed").text
    check("display.fit" in fixed and "http.token\n<redacted>" in fixed
          and "display.interval" not in fixed,
          "the settings that need a restart are listed, read-only, the token redacted")
    check(TOKEN not in driver.page_source and TOKEN not in json.dumps(frame.api("/api/settings")[1]),
          "the token is nowhere in the page or the settings")

    # The paired browsers, this one marked; unpairing it from the page shuts the page.
    wait(driver, "the paired browsers are listed", lambda: "This phone: Chrome" in el("#sessions").text)
    _, listing = frame.api("/api/sessions")
    check(len(listing["sessions"]) == 1, "one paired browser")
    cookie = driver.get_cookie("frame_session")
    check(cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict",
          "its cookie is HttpOnly and SameSite=Strict")
    el("#sessions button").click()
    WebDriverWait(driver, 5).until(lambda d: d.switch_to.alert).accept()
    wait(driver, "unpaired: the page asks to pair again", lambda: el("#pair").is_displayed())
    check(frame.api("/api/sessions")[1]["sessions"] == [], "the frame forgot the session")
    driver.add_cookie({"name": "frame_session", "value": cookie["value"]})
    results = refused_without_session(driver)
    check(all(status == 401 for _, status in results),
          "the old cookie, sent again, is refused for every change")

    # A phone's camera: the QR code on the frame's screen opens the page paired.
    address, code = read_code(frame, out, "8-frame-shows-code")
    check(address.startswith(frame.url + "/#pair="), f"the QR code holds the page's address ({address})")
    driver.delete_all_cookies()
    driver.get(address)
    wait(driver, "the scanned code pairs the phone", lambda: el("#now").is_displayed()
         and el("#live-caption").text == "The welcome slide.")
    check(driver.execute_script("return location.hash") == "#now", "the code left the address bar")
    shot(driver, out, "8-paired-by-qr")
    log = open(frame.log_path).read()
    said = lambda secret: re.search(rf"(?<![\d.]){secret}(?!\d)", log)
    check(not said(code) and not said(shown) and cookie["value"] not in log,
          "no code or session key in the frame's log")

    # A page from another origin (the same frame, reached as `localhost`, is another origin for
    # the browser) cannot change the frame: its POST is refused before it does anything.
    shown_before = frame.api("/api/status")[1]
    other = frame.url.replace("127.0.0.1", "localhost")
    driver.get(other + "/")
    result = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(arguments[0] + '/api/pause', {method: 'POST', mode: 'no-cors'})
            .then(() => done('sent'), (e) => done('blocked: ' + e));""", frame.url)
    time.sleep(0.3)
    check(frame.api("/api/status")[1]["paused"] == shown_before["paused"] is False,
          f"a cross-origin POST from a real browser changes nothing ({result})")
    status, body = frame.api("/api/pause", b"", "POST", {"Origin": other})
    check(status == 403 and body["error"]["code"] == "cross_origin",
          "and is answered 403 cross_origin")


if __name__ == "__main__":
    main()
