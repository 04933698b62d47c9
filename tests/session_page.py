#!/usr/bin/env python3
"""Hosted sessions end to end: the capture page in headless Chromium on a phone-sized screen,
against a real `idv serve` with its models.

1. On a computer, the first page shows the link as a QR code for the phone. Camera: a fake
   camera shows the sample passport (Chromium reads it as an MJPEG stream); the
   user starts, picks the passport, takes the photo; a second browser whose camera shows the
   selfie opens the same link, resumes at the selfie and takes it. The session verifies, and
   a signed `session.completed` callback reaches a local receiver.
2. Camera refused: the page falls back to file upload; a photo that is not a document is
   refused with a plain retake message; an identity card's back is skipped; a selfie of
   another person ends the session rejected with FAILED_FACE_MATCH.
3. An expired link says so.
4. Active liveness: the camera shows a still photo (the sample selfie) while the page runs the
   server's challenge (turns, flashed colours); the clip is refused as not following it, and
   the page asks to try again.

Screenshots of each step go to target/session-*.png (the README shows copies from docs/).

Usage: tests/session_page.py [path/to/idv]
"""
import http.server
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IDV = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/idv")
FIXTURES = os.path.join(ROOT, "tests/fixtures")
DOC = os.path.join(FIXTURES, "documents/synthetic-td3-obama.jpg")
SELFIE = os.path.join(FIXTURES, "faces/face_recognition__obama-720p.jpg")
OTHER = os.path.join(FIXTURES, "faces/face_recognition__knn_train__biden__biden.jpg")
SHOTS = os.path.join(ROOT, "target")
received = queue.Queue()


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        received.put((dict(self.headers), body.decode()))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def api(base, method, path, key, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("x-api-key", key)
    req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def browser(camera=None, phone=True):
    """Headless Chromium as a phone (or a computer): `camera` (an image file) as its camera,
    or none allowed."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    size = "390,844" if phone else "1280,800"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={size}"):
        options.add_argument(arg)
    if phone:
        options.add_experimental_option("mobileEmulation", {
            "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 1.0},
            "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
                         "(KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"})
    if camera:
        # Chromium reads an .mjpeg file as a stream of JPEG frames: one frame, looped.
        stream = os.path.join(tempfile.mkdtemp(prefix="idv-camera-"), "camera.mjpeg")
        shutil.copy(camera, stream)
        options.add_argument("--use-fake-ui-for-media-stream")
        options.add_argument("--use-fake-device-for-media-stream")
        options.add_argument(f"--use-file-for-fake-video-capture={stream}")
    else:
        options.add_experimental_option("prefs", {
            "profile.default_content_setting_values.media_stream_camera": 2})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def heading(driver):
    return driver.find_element(By.TAG_NAME, "h1").text


def shot(driver, name):
    driver.save_screenshot(os.path.join(SHOTS, f"session-{name}.png"))


def wait_heading(driver, text, timeout=60):
    # Read in the page itself: the page replaces its heading as it moves on.
    WebDriverWait(driver, timeout).until(lambda d: text in d.execute_script(
        "const h = document.querySelector('h1'); return h ? h.textContent : ''"))


def take_photo(driver):
    WebDriverWait(driver, 30).until(EC.element_to_be_clickable((By.ID, "shoot"))).click()


def upload(driver, path):
    WebDriverWait(driver, 30).until(EC.presence_of_element_located((By.ID, "file")))
    driver.find_element(By.ID, "file").send_keys(path)


def session_done(base, key, sid, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        _, s = api(base, "GET", f"/v1/sessions/{sid}", key)
        if s["status"] not in ("created", "in_progress", "processing"):
            return s
        time.sleep(1)
    raise AssertionError(f"session {sid} still {s['status']}")


def main():
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/sessions"
    data = tempfile.mkdtemp(prefix="idv-sessions-")
    tenant = json.loads(subprocess.run([IDV, "tenant", "create", "acme", "--data", data],
                                       check=True, capture_output=True, text=True).stdout)
    key = tenant["api_key"]
    server = subprocess.Popen(
        [IDV, "serve", "--data", data, "--addr", "127.0.0.1:0", "--allow-private-callbacks"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    drivers = []
    os.makedirs(SHOTS, exist_ok=True)
    try:
        base = server.stdout.readline().strip().removeprefix("idv listening on ")

        # 1. By camera, resumed on a second device for the selfie.
        st, s = api(base, "POST", "/v1/sessions", key,
                    {"reference": "user-42", "callback_url": hook, "locale": "en"})
        assert st == 201 and s["status"] == "created" and s["url"].startswith(base + "/s/"), s
        # On a computer the first page offers the link as a QR code for the phone.
        pc = browser(phone=False)
        drivers.append(pc)
        pc.get(s["url"])
        wait_heading(pc, "Verify your identity")
        WebDriverWait(pc, 30).until(lambda d: d.execute_script(
            "const i = document.getElementById('qr'); return i && i.complete && i.naturalWidth > 0"))
        pc.save_screenshot(os.path.join(SHOTS, "session-0-computer.png"))
        pc.quit()
        drivers.remove(pc)
        a = browser(camera=DOC)
        drivers.append(a)
        a.get(s["url"])
        wait_heading(a, "Verify your identity")
        shot(a, "1-consent")
        a.find_element(By.ID, "start").click()
        wait_heading(a, "Which document")
        shot(a, "2-document-type")
        a.find_element(By.CSS_SELECTOR, "[data-type=passport]").click()
        wait_heading(a, "Photo of your document")
        WebDriverWait(a, 30).until(EC.element_to_be_clickable((By.ID, "shoot")))
        shot(a, "3-document")
        take_photo(a)
        wait_heading(a, "Take a selfie", timeout=90)
        a.quit()
        drivers.remove(a)
        b = browser(camera=SELFIE)
        drivers.append(b)
        b.get(s["url"])
        wait_heading(b, "Take a selfie")
        WebDriverWait(b, 30).until(EC.element_to_be_clickable((By.ID, "shoot")))
        shot(b, "4-selfie")
        take_photo(b)
        wait_heading(b, "Thank you", timeout=180)
        shot(b, "5-done")
        done = session_done(base, key, s["id"])
        assert done["status"] == "verified", done
        assert done["reference"] == "user-42" and done["document_type"] == "passport", done
        assert done["result"]["document"]["last_name"]["value"] == "HASSAN", done["result"]
        headers, body = received.get(timeout=60)
        cb = json.loads(body)
        assert cb["type"] == "session.completed" and cb["session"]["id"] == s["id"], cb
        assert cb["session"]["status"] == "verified", cb
        assert any(k.lower() == "x-idv-signature" for k in headers), headers
        st, again = api(base, "POST", f"/v1/sessions/{s['id']}/cancel", key)
        assert (st, again["code"]) == (409, "SESSION_CLOSED"), again
        print(f"sessions: camera capture resumed on a second device: verified, "
              f"face match {done['result']['face_match']:.3f}; session.completed received")

        # 2. Camera refused: uploads, a retake, the back skipped, another person's selfie.
        st, s = api(base, "POST", "/v1/sessions", key,
                    {"document_types": ["passport", "id_card"], "locale": "fr"})
        c = browser()
        drivers.append(c)
        c.get(s["url"])
        wait_heading(c, "Vérifiez votre identité")
        c.find_element(By.ID, "start").click()
        wait_heading(c, "Quelle pièce")
        c.find_element(By.CSS_SELECTOR, "[data-type=id_card]").click()
        wait_heading(c, "Photo de votre pièce")
        WebDriverWait(c, 30).until(EC.text_to_be_present_in_element((By.ID, "msg"), "appareil photo"))
        assert not c.find_element(By.ID, "shoot").is_displayed()
        upload(c, OTHER)
        WebDriverWait(c, 90).until(EC.text_to_be_present_in_element((By.ID, "msg"), "pas pu lire"))
        shot(c, "6-retake")
        upload(c, DOC)
        wait_heading(c, "Verso", timeout=90)
        c.find_element(By.ID, "skip").click()
        wait_heading(c, "selfie")
        upload(c, OTHER)
        wait_heading(c, "Merci", timeout=180)
        done = session_done(base, key, s["id"])
        codes = [f["code"] for f in done["result"]["findings"]]
        assert done["status"] == "rejected" and "FAILED_FACE_MATCH" in codes, done
        print(f"sessions: camera refused, uploads in French, a retake asked for, the back "
              f"skipped: rejected with {codes}")

        # 3. An expired link.
        st, s = api(base, "POST", "/v1/sessions", key, {"expires_in": 1, "locale": "fr"})
        time.sleep(1.5)
        c.get(s["url"])
        wait_heading(c, "expiré")
        shot(c, "7-expired")
        _, view = api(base, "GET", f"/v1/sessions/{s['id']}", key)
        assert view["status"] == "expired", view
        print("sessions: an expired link says so")

        # 4. Active liveness against a still photo held up to the camera.
        st, s = api(base, "POST", "/v1/sessions", key,
                    {"liveness": "active", "document_types": ["passport"], "locale": "en"})
        assert st == 201, s
        d = browser(camera=SELFIE)
        drivers.append(d)
        d.get(s["url"])
        wait_heading(d, "Verify your identity")
        d.find_element(By.ID, "start").click()
        wait_heading(d, "Photo of your document")
        upload(d, DOC)
        wait_heading(d, "Show it is really you", timeout=90)
        WebDriverWait(d, 30).until(EC.element_to_be_clickable((By.ID, "go")))
        shot(d, "8-active")
        d.find_element(By.ID, "go").click()
        WebDriverWait(d, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".stage")))
        time.sleep(1.2)
        shot(d, "9-challenge")
        WebDriverWait(d, 90).until(EC.text_to_be_present_in_element((By.ID, "msg"), "follow the moves"))
        _, view = api(base, "GET", f"/v1/sessions/{s['id']}", key)
        assert view["status"] == "in_progress", view
        print("sessions: a still photo before the active challenge is refused "
              "(LIVENESS_CHALLENGE_NOT_FOLLOWED); screenshots in target/session-*.png")
    finally:
        for d in drivers:
            d.quit()
        server.kill()
        receiver.shutdown()


if __name__ == "__main__":
    main()
