"""Checks an idv receipt with standard tools, as the README shows: jwcrypto (a JOSE library)
for the signature, pyca/cryptography for the certificate chain (pinned in
tests/requirements-pades.txt).

    receipt.py RECEIPT.jws CA.pem
"""

import base64
import json
import sys

from cryptography import x509
from jwcrypto import jwk, jws

token = open(sys.argv[1]).read().strip()
ca = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())

header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in header["x5c"]]
# Each certificate is issued by the next; the last by the trusted CA.
for cert, issuer in zip(chain, chain[1:] + [ca]):
    cert.verify_directly_issued_by(issuer)

signed = jws.JWS()
signed.deserialize(token)
signed.verify(jwk.JWK.from_pyca(chain[0].public_key()), alg=header["alg"])
receipt = json.loads(signed.payload)
print(json.dumps({"verified": True, "id": receipt["id"], "outcome": receipt["outcome"]}))
