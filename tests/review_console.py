#!/usr/bin/env python3
"""End to end through the reviewer console in headless Chromium (Debian chromium +
chromium-driver, driven by Selenium/WebDriver).

A LINK verification with manualVerification goes to the review queue; a reviewer signs in to
the console, opens the case, rejects it with GLARE and NOT_MATCH; a real local HTTP receiver
must get the matching ManualIDVerification callback. The page runs under a CSP without
'unsafe-inline'; signing out ends the session (its cookie is refused afterwards), and the
cookie is Secure behind a TLS proxy. Saves a screenshot of the case page to
target/review-case.png.

Usage: tests/review_console.py [path/to/idv]
"""
import base64
import http.server
import json
import os
import queue
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


def run(*args):
    out = subprocess.run([IDV, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def call(base, path, body, token=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST")
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)


def cases_status(base, session):
    """The status of the review queue asked for with session cookie `session`."""
    req = urllib.request.Request(base + "/review/api/cases")
    req.add_header("cookie", "idv_review=" + session)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def b64(rel):
    with open(os.path.join(FIXTURES, rel), "rb") as f:
        return base64.b64encode(f.read()).decode()


def main():
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/manual"
    data = tempfile.mkdtemp(prefix="idv-review-")
    tenant = run("tenant", "create", "acme", "--data", data)
    reviewer = run("reviewer", "create", "alice", "--tenant", tenant["tenant"], "--data", data)
    server = subprocess.Popen(
        [IDV, "serve", "--data", data, "--addr", "127.0.0.1:0", "--allow-private-callbacks"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    driver = None
    try:
        base = server.stdout.readline().strip().removeprefix("idv listening on ")
        token = call(base, "/auth/token", {"user": tenant["link_user"], "password": tenant["link_password"]})["token"]
        v = call(base, "/identity/verify", {
            "id": "case-1",
            "images": [{"content": b64("documents/synthetic-td3-obama.jpg"),
                        "faceImage": b64("faces/face_recognition__knn_train__biden__biden.jpg")}],
            "manualVerification": True, "manualVerificationCallback": hook,
        }, token)
        assert v["idVerification"] == {"status": "Processing", "process": "Manual"}, v

        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        wait = WebDriverWait(driver, 30)
        driver.get(base + "/review")
        wait.until(EC.presence_of_element_located((By.ID, "user"))).send_keys(reviewer["user"])
        driver.find_element(By.ID, "password").send_keys(reviewer["password"])
        driver.find_element(By.ID, "signin").click()
        wait.until(EC.element_to_be_clickable((By.LINK_TEXT, "case-1"))).click()
        wait.until(EC.presence_of_element_located((By.ID, "decision")))
        wait.until(lambda d: d.execute_script(
            "return [...document.images].every(i => i.complete && i.naturalWidth > 0)"))
        driver.execute_script("document.querySelectorAll('figure img').forEach(place)")
        driver.find_element(By.CSS_SELECTOR, "input[name=acceptance][value=REJECTED]").click()
        driver.find_element(By.CSS_SELECTOR, "input[name=acceptanceReasons][value=GLARE]").click()
        driver.find_element(By.CSS_SELECTOR, "input[name=faceComparisonApproval][value=NOT_MATCH]").click()
        os.makedirs(os.path.join(ROOT, "target"), exist_ok=True)
        shot = os.path.join(ROOT, "target/review-case.png")
        driver.set_window_size(1400, 2400)
        driver.execute_script("window.scrollTo(0, 0); document.querySelectorAll('figure img').forEach(place)")
        driver.save_screenshot(shot)
        driver.find_element(By.ID, "submit").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "msg"), "Decision sent."))

        # No inline script or style may run on the console's page.
        with urllib.request.urlopen(base + "/review", timeout=30) as r:
            csp = r.headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "script-src 'self'" in csp, csp
        violations = [l for l in driver.get_log("browser") if "Content Security Policy" in l["message"]]
        assert not violations, violations
        # Signing out ends the session: its cookie is refused from then on.
        session = driver.get_cookie("idv_review")["value"]
        assert cases_status(base, session) == 200
        driver.find_element(By.ID, "signout").click()
        wait.until(EC.presence_of_element_located((By.ID, "signin")))
        assert driver.get_cookie("idv_review") is None
        assert cases_status(base, session) == 401
        # Behind a TLS proxy the cookie is Secure; on plain loopback it cannot be.
        for proto, secure in (("https", True), (None, False)):
            req = urllib.request.Request(base + "/review/login", method="POST", data=json.dumps(
                {"user": reviewer["user"], "password": reviewer["password"]}).encode())
            req.add_header("content-type", "application/json")
            if proto:
                req.add_header("x-forwarded-proto", proto)
            with urllib.request.urlopen(req, timeout=30) as r:
                cookie = r.headers["set-cookie"]
            assert ("; Secure" in cookie) == secure, (proto, cookie)

        headers, body = received.get(timeout=60)
        cb = json.loads(body)
        assert cb["id"] == "case-1" and cb["service"] == "ManualIDVerification", cb
        assert cb["status"] == "Completed", cb
        doc = cb["data"]["documentInfo"]
        # The seed's REJECTED shape: a rejected document has its acceptance only.
        assert doc == {"acceptance": {"result": "REJECTED", "reasons": ["GLARE"]}}, doc
        face = cb["data"]["faceComparisonInfo"]["findings"]
        assert face == {"faceComparisonApproval": "NOT_MATCH", "faceLivenessApproval": "LIVE"}, face
        assert any(k.lower() == "x-idv-signature" for k in headers), headers
        print(f"review console: case rejected with GLARE and NOT_MATCH in Chromium; callback received; "
              f"strict CSP, sign-out ends the session, Secure cookie behind TLS; screenshot {shot}")
    finally:
        if driver:
            driver.quit()
        server.kill()
        receiver.shutdown()


if __name__ == "__main__":
    main()
