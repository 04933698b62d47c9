#!/usr/bin/env python3
"""The seeds' contract suite: every request and response example of the five seed documents,
kept verbatim under tests/contract/examples/, run against a real `idv serve` (real models,
real images in place of the placeholders) and checked field by field.

- Kairos: the quick start's and the full-ID page's submit and poll examples in all three
  languages (Node, Python, cURL), the biometric example with its 150x200 `image`, the poll's
  404; each answer against the page's sample result (keys, types, headers).
- LINK: the raw HTTP examples (token, ping, the six /identity/verify requests with their
  shared id, certificate, 400/401/404), each on its own account and replayed (the id is an
  idempotency key); the Certification callback and the three ManualIDVerification shapes
  received by an HTTPS receiver on loopback under its own CA, signatures checked.
- One-call: the seed has field tables, not examples: every documented field and type, the
  overallConfidence formula, the three image inputs, the documented error statuses.
- Beyond the seeds: Kairos `callback_url` and one-call `callbackUrl` results over HTTPS, each
  with the event id the request was told.

Only host, credentials, file paths and base64 placeholders are substituted. The seeds'
deliberate differences are listed in README.md ("Migrating from Kairos, LINK or the one-call
API"); the checks below that depend on one say so.

Usage: tests/contract/run.py [path/to/idv]   (Python with `requests`: the e2e venv)
"""
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import queue
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
IDV = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/idv")
EX = os.path.join(HERE, "examples")
FIX = os.path.join(ROOT, "tests/fixtures")
DOC = os.path.join(FIX, "documents/synthetic-td3-obama.jpg")
SELFIE = os.path.join(FIX, "faces/face_recognition__obama-720p.jpg")
SMALL = os.path.join(FIX, "faces/face_recognition__obama-150x200.jpg")
SEED_HOST = "https://idv-eu.kairos.com"
SEED_ID = "00627e53-800b-4e6d-86ff-b933e2940a04"
KAIROS_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "strict-transport-security": "max-age=86400; includeSubDomains",
}
LINK_JSON = "application/json; charset=utf-8"
checked = []


def ok(what):
    checked.append(what)
    print(f"  ok  {what}")


def fail(msg):
    sys.exit(f"FAIL: {msg}")


def example(name):
    with open(os.path.join(EX, name)) as f:
        return f.read()


def lenient_json(text):
    """The seeds' JSON as printed: `..`/`.`/`...` placeholders are null, lines holding only
    `...` (elided entries) are dropped, and the missing commas between two members on
    consecutive lines (the ManualIDVerification examples) are added."""
    lines = [l for l in text.splitlines() if l.strip() not in ("...", "…")]
    text = "\n".join(lines)
    text = re.sub(r':\s*\.{1,3}(\s*[,}\]])', r': null\1', text)
    text = re.sub(r'("[^"\n]*")\s*\n(\s*")', r'\1,\n\2', text)
    return json.loads(text)


def parse_http(text):
    """A raw HTTP message of the LINK seed: (start line, headers, body text)."""
    head, _, body = text.partition("\n\n")
    start, *header_lines = head.splitlines()
    headers = {}
    for line in header_lines:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return start, headers, body.strip()


def same_type(a, b):
    num = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, num) and isinstance(b, num):
        return True
    return type(a) is type(b)


def conform(expected, actual, where, skip=()):
    """Every key of the seed's example is in the answer, with a value of the same JSON type
    (null in the example: any value); list items are checked against the example's first."""
    if expected is None:
        return
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            fail(f"{where}: expected an object, got {json.dumps(actual)[:200]}")
        for k, v in expected.items():
            if f"{where}.{k}" in skip:
                continue
            if k not in actual:
                fail(f"{where}: missing `{k}` (have {sorted(actual)})")
            conform(v, actual[k], f"{where}.{k}", skip)
    elif isinstance(expected, list):
        if not isinstance(actual, list):
            fail(f"{where}: expected a list, got {json.dumps(actual)[:200]}")
        if expected and actual:
            for i, item in enumerate(actual):
                conform(expected[0], item, f"{where}[{i}]", skip)
    elif actual is not None and not same_type(expected, actual):
        fail(f"{where}: expected {type(expected).__name__} like {expected!r}, got {actual!r}")


def run(*args):
    out = subprocess.run([IDV, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


# ---------------------------------------------------------------- HTTPS callback receiver


def make_ca(dir_):
    """A CA and a server certificate for 127.0.0.1, with the openssl command line."""
    def ssl_(*a):
        subprocess.run(["openssl", *a], check=True, capture_output=True, cwd=dir_)
    ssl_("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
         "-days", "2", "-subj", "/CN=idv contract test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ssl_("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
         "-subj", "/CN=127.0.0.1")
    with open(os.path.join(dir_, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    ssl_("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf")
    return os.path.join(dir_, "ca.pem"), os.path.join(dir_, "srv.pem"), os.path.join(dir_, "srv.key")


class Receiver:
    """An HTTPS server on loopback that keeps every POST by its X-Idv-Event-Id."""

    def __init__(self, cert, key):
        self.calls = queue.Queue()
        calls = self.calls

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                calls.put((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.base = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.seen = {}
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, event, timeout=180):
        """The callback of `event`: (path, headers, body)."""
        deadline = time.time() + timeout
        while event not in self.seen:
            left = deadline - time.time()
            if left <= 0:
                fail(f"no callback {event} within {timeout} s (got {sorted(self.seen)})")
            try:
                path, headers, body = self.calls.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.setdefault(headers.get("x-idv-event-id"), (path, headers, body))
        return self.seen[event]


def signed(headers, body, secret):
    """Checks X-Idv-Signature: t=UNIX,v1=HMAC-SHA256(secret, "{t}.{body}")."""
    parts = dict(p.split("=", 1) for p in headers["x-idv-signature"].split(",") if "=" in p)
    want = hmac.new(secret.encode(), f"{parts['t']}.{body}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, parts["v1"])


# ---------------------------------------------------------------- running the examples


def substitute(code, base, tenant, files=None, uuid=None):
    code = code.replace(SEED_HOST, base)
    code = code.replace("put_app_id_here", tenant["app_id"])
    code = code.replace("put_app_key_here", tenant["app_key"])
    for placeholder, path in (files or {}).items():
        code = code.replace(placeholder, path)
    if uuid:
        code = code.replace("put_uuid_from_first_api_response", uuid)
    return code


def run_python(code):
    scope = {}
    exec(compile(code, "<seed example>", "exec"), scope)
    r = scope["response"]
    return r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.text


def run_node(code):
    with tempfile.NamedTemporaryFile("w", suffix=".js", delete=False) as f:
        f.write(code)
    env = dict(os.environ, NODE_PATH=os.path.join(HERE, "node"))
    p = subprocess.run(["node", f.name], capture_output=True, text=True, env=env, timeout=300)
    os.unlink(f.name)
    status = re.search(r"HTTP (\d+)", p.stderr)
    if p.returncode != 0 or not status:
        fail(f"node example failed: {p.stderr[-500:]}")
    return int(status.group(1)), {}, p.stdout.strip()


def run_shell(code):
    # The cURL examples print the body; -w adds the status on a line of its own.
    code = re.sub(r"^curl ", "curl -sS -w '\\nHTTP %{http_code}' ", code, count=1, flags=re.M)
    p = subprocess.run(["bash", "-c", code], capture_output=True, text=True, timeout=300)
    body, _, status = p.stdout.rpartition("\nHTTP ")
    if p.returncode != 0 or not status.strip().isdigit():
        fail(f"shell example failed: {p.stderr[-500:]} {p.stdout[-300:]}")
    return int(status), {}, body.strip()


RUNNERS = {"js": run_node, "py": run_python, "sh": run_shell}


def kairos(base, tenant, limited, receiver):
    print("Kairos")
    files = {
        "/path/to/selfie_image": SELFIE,
        "/path/to/document_image": DOC,
        "/path/to/document_back_image": DOC,
        "/path/to/photo_image": SMALL,
    }
    for page, version in (("quick-start", "v0.1"), ("full-id", "v0.2")):
        result = lenient_json(example(f"kairos/{page}-result.json5"))
        for lang, runner in RUNNERS.items():
            code = substitute(example(f"kairos/{page}-submit.{lang}"), base, tenant, files)
            status, headers, body = runner(code)
            if status != 200:
                fail(f"{page} submit ({lang}): HTTP {status} {body[:300]}")
            submitted = json.loads(body)
            if page == "full-id":
                conform(json.loads(example("kairos/full-id-submit.response.json")), submitted,
                        f"{page} submit ({lang})")
            else:
                # The quick start says the answer holds `api_req_uuid`; its sample result
                # spells it `api_req_uid`: both are sent.
                assert submitted.get("api_req_uuid") == submitted.get("api_req_uid"), submitted
            if headers:
                check_kairos_headers(headers, f"{page} submit")
            uuid = submitted["api_req_uid"]
            ok(f"Kairos {page} submit example ({lang}) → {version} api_req_uid")
            poll = substitute(example(f"kairos/{page}-poll.{lang}"), base, tenant, uuid=uuid)
            for _ in range(300):
                status, headers, body = runner(poll)
                if status != 200:
                    fail(f"{page} poll ({lang}): HTTP {status} {body[:300]}")
                answer = json.loads(body)
                if answer["response_code"] == 1:
                    break
                assert answer["response_code"] is None, answer
                time.sleep(1)
            else:
                fail(f"{page} ({lang}): not done after 300 polls")
            conform(result, answer, f"{page} result ({lang})")
            if headers:
                check_kairos_headers(headers, f"{page} poll")
            decided = {d["code"] for d in answer["response_data"]["decision"]["details"]}
            ok(f"Kairos {page} poll example ({lang}): response_code null → 1, result shaped as "
               f"the sample (internal_id {answer['response_data']['document']['data']['internal_id']}, "
               f"codes {sorted(decided) or 'none'})")
        # An unknown uuid: 404, "the requested verification record does not exist".
        code = substitute(example(f"kairos/{page}-poll.py"), base, tenant,
                          uuid="6f1c7e0e-0000-4000-8000-000000000000")
        status, _, _ = run_python(code)
        if status != 404:
            fail(f"{page}: unknown uuid answered {status}, not 404")
        ok(f"Kairos {page} poll of an unknown uuid → 404")

    bio = json.loads(example("kairos/biometric-result.json"))
    for lang, runner in RUNNERS.items():
        status, headers, body = runner(substitute(example(f"kairos/biometric-submit.{lang}"),
                                                  base, tenant, files))
        if status != 200:
            fail(f"biometric ({lang}): HTTP {status} {body[:300]}")
        answer = json.loads(body)
        conform(bio, answer, f"biometric ({lang})")
        img = answer["response_data"]["biometric"]["image"]["img"]
        if img != bio["response_data"]["biometric"]["image"]["img"]:
            fail(f"biometric: the 150x200 image reported as {img}")
        if headers:
            check_kairos_headers(headers, "biometric")
        ok(f"Kairos biometric example ({lang}) with a 150x200 image: face match "
           f"{answer['response_data']['biometric']['face_match_confidence']}")

    # "If limits are exceeded, you may receive a 403 Forbidden status code".
    burst = [requests.post(f"{base}/v0.2/biometric-verification",
                           headers={"app_id": limited["app_id"], "app_key": limited["app_key"]},
                           files={"image_multiface": (None, "false")}, timeout=30)
             for _ in range(120)]
    limited_r = next((r for r in burst if r.status_code == 403), None)
    if limited_r is None or "retry-after" not in limited_r.headers:
        fail(f"Kairos usage limit: {[r.status_code for r in burst][-5:]}")
    ok(f"Kairos usage limit → 403 ({limited_r.json()['code']}, Retry-After "
       f"{limited_r.headers['retry-after']} s)")

    # Beyond the seed: `callback_url` gets the finished result over HTTPS, signed, under the
    # event id the submit answered in X-Idv-Event-Id.
    with open(SELFIE, "rb") as s, open(DOC, "rb") as d:
        r = requests.post(f"{base}/v0.2/full-id-verification",
                          headers={"app_id": tenant["app_id"], "app_key": tenant["app_key"]},
                          files={"selfie": s, "document": d},
                          data={"callback_url": receiver.base + "/kairos"}, timeout=60)
    assert r.status_code == 200, r.text
    event = r.headers["x-idv-event-id"]
    path, headers, body = receiver.wait(event)
    if not signed(headers, body, tenant["webhook_secret"]):
        fail("Kairos callback: bad signature")
    cb = json.loads(body)
    assert path == "/kairos" and cb["api_req_uid"] == r.json()["api_req_uid"], cb
    conform(lenient_json(example("kairos/full-id-result.json5")), cb, "Kairos callback")
    ok(f"Kairos callback_url: the result over HTTPS (own CA), signed, event {event}")


def check_kairos_headers(headers, where):
    if not headers.get("content-type", "").startswith("application/json"):
        fail(f"{where}: content-type {headers.get('content-type')}")
    if not headers.get("x-request-id"):
        fail(f"{where}: no X-Request-ID")
    for k, v in KAIROS_HEADERS.items():
        if headers.get(k) != v:
            fail(f"{where}: {k} is {headers.get(k)!r}, the seed says {v!r}")


# ---------------------------------------------------------------- LINK


def link_send(base, text, subs):
    """Sends a raw HTTP example of the LINK seed with `subs` substituted; returns
    (status, headers, body text)."""
    for k, v in subs.items():
        text = text.replace(k, v)
    start, headers, body = parse_http(text)
    method, path, _ = start.split(" ")
    u = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
    headers.pop("host", None)
    conn.request(method, path, body=body.encode() if body else None, headers=headers)
    r = conn.getresponse()
    out = r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    conn.close()
    return out


def link_expect(answer, expected_text, where, skip=()):
    """The answer against a LINK response example: status, content type, body shape (an
    example without a body: an empty body)."""
    status, headers, body = answer
    start, want_headers, want_body = parse_http(expected_text)
    want_status = int(start.split(" ")[1])
    if status != want_status:
        fail(f"{where}: HTTP {status}, the seed says {want_status}: {body[:300]}")
    if headers.get("content-type") != want_headers["content-type"].replace(
            "application/json", LINK_JSON) and headers.get("content-type") != LINK_JSON:
        fail(f"{where}: content-type {headers.get('content-type')!r}")
    if not want_body:
        if body:
            fail(f"{where}: the seed's {want_status} has no body; got {body[:200]}")
        return None
    got = json.loads(body)
    conform(lenient_json(want_body), got, where, skip)
    return got


def b64(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def link(base, tenants, receiver, reviewer):
    print("LINK")
    front, back, face = b64(DOC), b64(DOC), b64(SELFIE)

    def subs(t, token=""):
        return {
            "{{environment_host}}": base.removeprefix("http://"),
            "{{user}}": t["link_user"],
            "{{password}}": t["link_password"],
            "{{auth_token}}": token,
            "/9j/4AAQSkZJRgABAQEAAA...bufv0YR5VoD/2Q==": front,
            "/9j/4AAQSkZJRgABAQEAAA...0tWYYuvUt7NaLsAP/Z": back,
            "iVBORw0KGgoAAAANSUhE...I6jMG3AAAAAElFTkSuQmCC": face,
            "https://webhook.site": receiver.base,
        }

    def token(t):
        got = link_expect(link_send(base, example("link/token.request.http"), subs(t)),
                          example("link/token.200.http"), "token")
        return got

    t0 = tenants[0]
    tok = token(t0)
    want = lenient_json(parse_http(example("link/token.200.http"))[2])
    if tok["scopes"] != want["scopes"] or tok["expiresIn"] != 3600 or tok["token_type"] != "bearer":
        fail(f"token: {tok}")
    ok("LINK POST /auth/token example → the 200 example (scopes as the seed spells them, 3600 s)")
    wrong = dict(t0, link_password="not-the-password")
    link_expect(link_send(base, example("link/token.request.http"), subs(wrong)),
                example("link/token.401.http"), "token, wrong password")
    ok("LINK token with a wrong password → the 401 example (no body); the seed's 500 example "
       "for the same case is not reproduced (README)")
    got = link_expect(link_send(base, example("link/ping.request.http"), subs(t0)),
                      example("link/ping.200.http"), "ping")
    if got["service"] != "KYC API" or got["status"] != "ok" or not re.fullmatch(
            r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d", got["date"]):
        fail(f"ping: {got}")
    ok("LINK POST /ping example → the 200 example (yyyy-MM-dd HH:mm:ss zzz)")

    auto = example("link/verify-auto.200.http")
    verify_examples = [
        ("verify-one-side", 1, False),
        ("verify-two-sides", 2, False),
        ("verify-one-side-certify", 1, True),
        ("verify-two-sides-certify", 2, True),
        ("verify-two-sides-face-certify", 2, True),
    ]
    for (name, sides, certify), t in zip(verify_examples, tenants):
        bearer = token(t)["token"]
        request = example(f"link/{name}.request.http")
        first = link_send(base, request, subs(t, bearer))
        # The example answers a certified request; without `certify` there is no block.
        got = link_expect(first, auto, name, skip=() if certify else (f"{name}.certification",))
        iv = got["idVerification"]
        fields = {f["code"]: f for f in iv["fields"]}
        problems = []
        if got["id"] != SEED_ID or iv["status"] != "Completed" or iv["process"] != "Automatic":
            problems.append("id/status/process")
        if iv["result"] not in ("Ok", "Warning", "NotCorrect", "NotProcessed"):
            problems.append(f"result {iv['result']}")
        if any(f["type"] not in ("Normal", "Validation") for f in iv["fields"]):
            problems.append("field types")
        if fields.get("SIDE", {}).get("value") != str(sides):
            problems.append("SIDE")
        if not re.fullmatch(r"IQ_(GOOD|BAD) \d+%", fields["QUALITY_IMAGE_BLURRING"]["value"]):
            problems.append("QUALITY_IMAGE_BLURRING")
        if not re.fullmatch(r"[A-Z]{2}[A-Z<]{3}[A-Z0-9]{2,3}",
                            fields["ICAR_RESULT_DOCUMENT_ID"]["value"]):
            problems.append("ICAR_RESULT_DOCUMENT_ID")
        if certify != ("certification" in got) or (certify and got["certification"] != {
                "status": "Processing"}):
            problems.append("certification")
        if problems:
            fail(f"{name}: {problems}: {got}")
        # Replayed as written (a retry after a timeout): the same answer.
        again = link_send(base, request, subs(t, bearer))
        if again[0] != 200 or json.loads(again[2]) != got:
            fail(f"{name}: the replay answered {again[0]} {again[2][:300]}")
        ok(f"LINK {name} example → the 200 example: {iv['result']}, TYPE "
           f"{fields['TYPE']['value']}, ICAR {fields['ICAR_RESULT_DOCUMENT_ID']['value']}, "
           f"{fields['QUALITY_IMAGE_BLURRING']['value']}; replayed with its id: same answer")
        if certify:
            event = first[1]["x-idv-event-id"]
            path, headers, body = receiver.wait(event)
            if not signed(headers, body, t["webhook_secret"]):
                fail(f"{name}: Certification callback signature")
            cb = json.loads(body)
            conform(lenient_json(parse_http(example("link/callback-certification.http"))[2]),
                    cb, f"{name} Certification callback")
            if (cb["id"], cb["service"], cb["status"]) != (SEED_ID, "Certification", "Completed") \
                    or not cb["data"]["urlCertificateFile"].endswith(f"/certificate/{SEED_ID}") \
                    or path != "/8696d970-fa21-4561-bdbb-4d4f716d923a":
                fail(f"{name}: Certification callback {path} {cb}")
            ok(f"LINK {name}: the Certification callback example's shape over HTTPS "
               f"(own CA), signed, event {event}")
            cert_request = example("link/certificate.request.http").replace(
                "b2820098-04a9-47ef-9d5f-c668e016a596", SEED_ID)
            got = link_expect(link_send(base, cert_request, subs(t, bearer)),
                              example("link/certificate.200.http"), "certificate")
            if got["id"] != SEED_ID or not base64.b64decode(got["content"]).startswith(b"%PDF"):
                fail("certificate: not a PDF")
            ok("LINK GET /certificate/{id} example → the 200 example (a base64 PDF)")
            link_expect(link_send(base, cert_request, subs(t, "")),
                        example("link/certificate.401.http"), "certificate without a token")
            link_expect(link_send(base, cert_request.replace(SEED_ID, "no-such-request"),
                                  subs(t, bearer)),
                        example("link/certificate.404.http"), "unknown certificate")
            ok("LINK certificate without a token → the 401 example; unknown id → the 404 example")

    # Errors of /identity/verify, on the first account.
    bearer = token(t0)["token"]
    one_side = example("link/verify-one-side.request.http")
    link_expect(link_send(base, one_side, subs(t0, "")), example("link/verify.401.http"),
                "verify without a token")
    ok("LINK verify without a token → the 401 example (no body)")
    bad = dict(subs(t0, bearer), **{"/9j/4AAQSkZJRgABAQEAAA...bufv0YR5VoD/2Q==": "not base64 !"})
    got = link_expect(link_send(base, one_side.replace(SEED_ID, "bad-base64"), bad),
                      example("link/verify.400.http"), "verify with invalid base64")
    if got["id"] != "bad-base64" or got["code"] != "003" or not got["message"].startswith(
            "Validation Error: "):
        fail(f"verify 400: {got}")
    ok(f"LINK verify with invalid base64 → the 400 example ({got['message']!r})")
    other = link_send(base, example("link/verify-two-sides.request.http"), subs(t0, bearer))
    got = link_expect(other, example("link/verify.400.http"), "a used id with another body")
    if got["code"] != "003":
        fail(f"a used id with another body: {got}")
    ok("LINK the two-sides example after the one-side example on one account (same id, "
       "another body) → 400 003")

    # Manual verification: the seed's request, then the reviewer's three decisions in the
    # seed's own callback `data` shapes; each callback against its example.
    t = tenants[5]
    bearer = token(t)["token"]
    manual = example("link/verify-manual.request.http")
    session = requests.Session()
    r = session.post(f"{base}/review/login", json=reviewer, timeout=30)
    assert r.status_code == 200, r.text
    for verdict, suffix in (("approved", ""), ("not-approved", "-2"), ("rejected", "-3")):
        rid = SEED_ID + suffix
        answer = link_send(base, manual.replace(SEED_ID, rid), subs(t, bearer))
        got = link_expect(answer, example("link/verify-manual.200.http"), f"manual {verdict}")
        if got["idVerification"] != {"status": "Processing", "process": "Manual"}:
            fail(f"manual: {got}")
        manual_event, cert_event = answer[1]["x-idv-event-id"].split(", ")
        want = lenient_json(parse_http(example(f"link/callback-manual-{verdict}.http"))[2])
        assert session.post(f"{base}/review/api/cases/{rid}/claim", json={},
                            timeout=30).status_code == 200
        r = session.post(f"{base}/review/api/cases/{rid}/decision", json=want["data"],
                         timeout=30)
        if r.status_code != 200:
            fail(f"decision {verdict}: {r.status_code} {r.text}")
        path, headers, body = receiver.wait(manual_event)
        if not signed(headers, body, t["webhook_secret"]):
            fail("ManualIDVerification: signature")
        cb = json.loads(body)
        conform(want, cb, f"ManualIDVerification {verdict}")
        for part in ("documentInfo", "faceComparisonInfo"):
            sent = cb["data"][part]
            seed = want["data"][part]
            # The seed's " ACCEPTED" / " REJECTED" carry a leading space; idv sends the code.
            if sent["acceptance"]["result"] != seed["acceptance"]["result"].strip() \
                    or sent["acceptance"].get("reasons") != seed["acceptance"].get("reasons"):
                fail(f"{verdict} {part} acceptance: {sent['acceptance']}")
            if verdict == "rejected" and set(sent) != {"acceptance"}:
                fail(f"REJECTED {part} carries more than its acceptance: {sorted(sent)}")
            if "findings" in seed and sent["findings"].get("details", sent["findings"]) is None:
                fail(f"{verdict} {part}: findings")
        if want["data"]["documentInfo"].get("findings"):
            if cb["data"]["documentInfo"]["findings"]["documentApproval"] != \
                    want["data"]["documentInfo"]["findings"]["documentApproval"]:
                fail(f"{verdict}: documentApproval {cb['data']['documentInfo']['findings']}")
        ok(f"LINK manual example decided {verdict.upper()} in the seed's data shape → the "
           f"{verdict.upper()} callback example over HTTPS, signed, event {manual_event}")
        # The certificate follows the decision.
        path, headers, body = receiver.wait(cert_event)
        cb = json.loads(body)
        if cb["status"] != "Completed" or cb["id"] != rid:
            fail(f"certification after {verdict}: {cb}")
        ok(f"LINK manual {verdict}: the Certification callback after the decision")


# ---------------------------------------------------------------- one-call


def table(text, title):
    """Rows `name | type | …` of the seed table after the line `title`."""
    lines = text.splitlines()
    rows = {}
    for line in lines[lines.index(title) + 1:]:
        if "| Field |" in line or line.startswith("|---"):
            continue
        parts = [p.strip() for p in line.split(" | ")]
        if len(parts) < 3:
            if rows:
                break
            continue
        rows[parts[0]] = parts[1]
    return rows


def onecall(base, tenant, other, receiver):
    print("One-call")
    seed = example("onecall/verify-identity.txt")
    top = table(seed, "200 — Success")
    blocks = {name: table(seed, name) for name in ("document", "faceDetection", "faceMatch")}
    errors = dict(re.findall(r"^(\d{3}) \| (.+?)\s*\|?$", seed, re.M))
    key = {"x-api-key": tenant["api_key"]}
    types = {"boolean": bool, "object": dict, "string": str}

    def check(answer, where):
        for name, kind in top.items():
            if name not in answer:
                fail(f"{where}: no `{name}`")
            if kind.startswith("number"):
                assert isinstance(answer[name], (int, float)), (name, answer[name])
            else:
                assert isinstance(answer[name], types[kind]), (name, answer[name])
        for block, fields in blocks.items():
            for name, kind in fields.items():
                if name not in answer[block]:
                    fail(f"{where}: {block} has no `{name}` ({sorted(answer[block])})")
                v = answer[block][name]
                if v is None:
                    continue  # a field the document does not carry (e.g. address)
                if kind.startswith("number"):
                    assert isinstance(v, (int, float)) and 0 <= v <= 100, (block, name, v)
                else:
                    assert isinstance(v, types[kind]), (block, name, v)
        d, f, m = answer["document"], answer["faceDetection"], answer["faceMatch"]
        blend = 0.4 * d["confidence"] + 0.2 * f["confidence"] + 0.4 * m["confidence"]
        if abs(blend - answer["overallConfidence"]) > 0.01:
            fail(f"{where}: overallConfidence {answer['overallConfidence']} != {blend:.2f}")
        if m["isMatch"] != (m["confidence"] >= m["threshold"]):
            fail(f"{where}: isMatch {m}")

    with open(DOC, "rb") as d, open(SELFIE, "rb") as s:
        r = requests.post(f"{base}/v1/verify-identity", headers=key,
                          files={"documentImage": d, "faceImage": s}, timeout=120)
    assert r.status_code == 200, r.text
    check(r.json(), "multipart")
    ok(f"one-call multipart: every field of the seed's tables, overallConfidence "
       f"{r.json()['overallConfidence']} = 0.4·doc + 0.2·detect + 0.4·match")
    r = requests.post(f"{base}/v1/verify-identity", headers=key,
                      json={"documentImage": b64(DOC), "faceImage": b64(SELFIE)}, timeout=120)
    assert r.status_code == 200, r.text
    check(r.json(), "base64")
    ok("one-call JSON with base64 images: the same fields")
    # The seed's mixed case: documentImage as a key from an earlier presigned upload, the
    # selfie as fresh multipart bytes.
    up = requests.post(f"{base}/v1/uploads", headers=key, json={"contentType": "image/jpeg"},
                       timeout=30).json()
    with open(DOC, "rb") as d:
        put = requests.request(up["method"], up["url"], headers=up["headers"], data=d.read(),
                               timeout=60)
    assert put.status_code in (200, 204), put.text
    with open(SELFIE, "rb") as s:
        r = requests.post(f"{base}/v1/verify-identity", headers=key,
                          files={"documentImage": (None, up["key"]), "faceImage": s}, timeout=120)
    assert r.status_code == 200, r.text
    check(r.json(), "upload key + multipart")
    ok("one-call documentImage as a presigned-upload key, faceImage as multipart bytes")
    # The documented errors idv can be driven to.
    with open(SELFIE, "rb") as s:
        cases = {
            "400": requests.post(f"{base}/v1/verify-identity", headers=key,
                                 files={"documentImage": ("a.gif", b"GIF89a" + b"\0" * 64),
                                        "faceImage": s}, timeout=60),
        }
    cases["400 size"] = requests.post(
        f"{base}/v1/verify-identity", headers=key,
        files={"documentImage": ("big.jpg", b"\xff\xd8" + b"\0" * (15 * 1024 * 1024 + 16)),
               "faceImage": ("s.jpg", b"\xff\xd8")}, timeout=120)
    cases["401"] = requests.post(f"{base}/v1/verify-identity", json={}, timeout=30)
    cases["403"] = requests.post(f"{base}/v1/verify-identity",
                                 headers={"x-api-key": other["api_key"]},
                                 json={"documentImage": up["key"], "faceImage": b64(SELFIE)},
                                 timeout=60)
    # A burst beyond the tenant's rate (20/s, bursts of 40).
    burst = [requests.post(f"{base}/v1/verify-identity", headers={"x-api-key": other["api_key"]},
                           json={}, timeout=30) for _ in range(120)]
    cases["429"] = next((r for r in burst if r.status_code == 429), burst[-1])
    if "retry-after" not in cases["429"].headers:
        fail(f"one-call 429 without Retry-After: {cases['429'].headers}")
    for name, r in cases.items():
        status = name.split()[0]
        if str(r.status_code) != status or "code" not in r.json():
            fail(f"one-call {name}: {r.status_code} {r.text[:200]}")
        ok(f"one-call {name} ({errors[status][:60]}): {r.json()['code']}")
    # Beyond the seed: `callbackUrl` gets the result over HTTPS, signed, event id told.
    with open(DOC, "rb") as d, open(SELFIE, "rb") as s:
        r = requests.post(f"{base}/v1/verify-identity", headers=key,
                          files={"documentImage": d, "faceImage": s},
                          data={"callbackUrl": receiver.base + "/onecall"}, timeout=120)
    assert r.status_code == 200, r.text
    event = r.headers["x-idv-event-id"]
    path, headers, body = receiver.wait(event)
    if not signed(headers, body, tenant["webhook_secret"]) or json.loads(body) != r.json():
        fail("one-call callback: signature or body")
    ok(f"one-call callbackUrl: the result over HTTPS (own CA), signed, event {event}")


def main():
    data = tempfile.mkdtemp(prefix="idv-contract-")
    ca, cert, key = make_ca(data)
    receiver = Receiver(cert, key)
    tenants = [run("tenant", "create", f"link-{i}", "--data", data) for i in range(6)]
    kairos_t = run("tenant", "create", "kairos", "--data", data)
    onecall_t = run("tenant", "create", "onecall", "--data", data)
    other = run("tenant", "create", "other", "--data", data)
    limited = run("tenant", "create", "limited", "--data", data)
    reviewer = run("reviewer", "create", "ana", "--tenant", tenants[5]["tenant"], "--data", data)
    server = subprocess.Popen(
        [IDV, "serve", "--data", data, "--addr", "127.0.0.1:0", "--allow-private-callbacks",
         "--callback-ca", ca], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        base = server.stdout.readline().strip().removeprefix("idv listening on ")
        if not base.startswith("http://"):
            fail("idv serve did not start")
        kairos(base, kairos_t, limited, receiver)
        link(base, tenants, receiver, {"user": reviewer["user"], "password": reviewer["password"]})
        onecall(base, onecall_t, other, receiver)
    finally:
        server.kill()
    print(f"contract suite: {len(checked)} checks passed")


if __name__ == "__main__":
    main()
