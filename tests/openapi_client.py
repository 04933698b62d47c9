#!/usr/bin/env python3
"""The OpenAPI document works as a contract: it validates, a Python client generated from it
(openapi-python-client) builds, and that client makes one real call per dialect against a
running `idv serve` — Kairos submit + poll, one-call verify-identity, LINK token + verify —
with real images and real models.

Usage: tests/openapi_client.py [path/to/idv]   (run with the venv of requirements-openapi.txt)
"""
import base64
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

from openapi_spec_validator import validate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IDV = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/idv")
FIXTURES = os.path.join(ROOT, "tests/fixtures")
DOC = os.path.join(FIXTURES, "documents/synthetic-td3-obama.jpg")
SELFIE = os.path.join(FIXTURES, "faces/face_recognition__obama-720p.jpg")
# Operations the generator may not fully type: their responses are images (a media type the
# generator does not handle), not JSON.
BINARY_RESPONSES = {"GET /review/api/cases/{id}/images/{n}", "GET /s/{token}/qr.svg"}


def run(*args):
    out = subprocess.run([IDV, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def generate(doc_path, out_dir):
    """Generates the client; fails on any warning but the known binary responses."""
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    gen = subprocess.run(
        [os.path.join(bin_dir, "openapi-python-client"), "generate", "--path", doc_path,
         "--output-path", out_dir, "--meta", "none"],
        capture_output=True, text=True, env=env)
    out = gen.stdout + gen.stderr
    if gen.returncode != 0:
        sys.exit(f"client generation failed:\n{out}")
    warned = [line.removeprefix("WARNING parsing ").split(" within")[0]
              for line in out.splitlines() if line.startswith("WARNING parsing ")]
    unexpected = [w for w in warned if w not in BINARY_RESPONSES]
    if unexpected or "Unable to" in out:
        sys.exit(f"client generation dropped parts of the API: {unexpected}\n{out}")


def main():
    data = tempfile.mkdtemp(prefix="idv-openapi-")
    tenant = run("tenant", "create", "acme", "--data", data)
    server = subprocess.Popen([IDV, "serve", "--data", data, "--addr", "127.0.0.1:0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        base = server.stdout.readline().strip().removeprefix("idv listening on ")
        with urllib.request.urlopen(base + "/openapi.json", timeout=30) as r:
            doc = json.load(r)
        validate(doc)
        missing = [f"{m.upper()} {p}" for p, item in doc["paths"].items()
                   for m, op in item.items()
                   if not any(s.startswith("2") and ("content" in r or s == "200" and m == "put")
                              for s, r in op["responses"].items())]
        assert not missing, f"2xx responses without a schema: {missing}"
        out = tempfile.mkdtemp(prefix="idv-client-")
        doc_path = os.path.join(out, "openapi.json")
        with open(doc_path, "w") as f:
            json.dump(doc, f)
        generate(doc_path, os.path.join(out, "idv_client"))
        sys.path.insert(0, out)
        client_mod = importlib.import_module("idv_client")
        from idv_client.api.kairos import full_submit, full_poll
        from idv_client.api.link import link_token, link_verify
        from idv_client.api.one_call import verify_identity
        from idv_client.models import FullIdForm, VerifyForm, TokenRequest, VerifyRequest, VerifyImage
        from idv_client.types import File

        def image(path):
            return File(payload=open(path, "rb"), file_name=os.path.basename(path),
                        mime_type="image/jpeg")

        # Kairos: submit, then poll until done.
        kairos = client_mod.Client(base_url=base, timeout=120,
                                   headers={"app_id": tenant["app_id"], "app_key": tenant["app_key"]})
        submitted = full_submit.sync(client=kairos,
                                     body=FullIdForm(selfie=image(SELFIE), document=image(DOC)))
        assert submitted is not None and submitted.api_req_uid, submitted
        for _ in range(240):
            polled = full_poll.sync(client=kairos, id=submitted.api_req_uid)
            if polled.response_code == 1:
                break
            time.sleep(0.5)
        data_ = polled.response_data
        assert data_.decision.reject_score == 0, data_.decision
        print(f"Kairos: {submitted.api_req_uid} done, face match "
              f"{data_.biometric.face_match_confidence}")

        # One-call: verify-identity as multipart.
        onecall = client_mod.Client(base_url=base, timeout=120,
                                    headers={"x-api-key": tenant["api_key"]})
        v = verify_identity.sync(client=onecall, body=VerifyForm(
            document_image=image(DOC), face_image=image(SELFIE)))
        assert v is not None and v.verified, v
        print(f"one-call: verified, overallConfidence {v.overall_confidence}")

        # LINK: token, then verify with base64 images.
        plain = client_mod.Client(base_url=base, timeout=120)
        tok = link_token.sync(client=plain, body=TokenRequest(
            user=tenant["link_user"], password=tenant["link_password"]))
        assert tok is not None and tok.token, tok
        link = client_mod.AuthenticatedClient(base_url=base, token=tok.token, timeout=120)
        b64 = lambda p: base64.b64encode(open(p, "rb").read()).decode()
        answer = link_verify.sync(client=link, body=VerifyRequest(
            id="openapi-1", images=[VerifyImage(content=b64(DOC), face_image=b64(SELFIE))]))
        assert answer is not None and answer.id_verification.result == "Ok", answer
        print(f"LINK: {answer.id} {answer.id_verification.result}")
        print(f"OpenAPI: {len(doc['paths'])} paths valid; the generated client made one call "
              "per dialect")
    finally:
        server.kill()


if __name__ == "__main__":
    main()
