"""Checks idv's signed certificates with pyHanko (pinned in tests/requirements-pades.txt) and
prints the PAdES baseline level each reaches: B-B, B-T, B-LT or B-LTA.

    pades.py CAS_PEM EXPECTED FILE.pdf [EXPECTED FILE.pdf ...]

CAS_PEM holds the trust roots (one or more certificates: the signer's CA, and an external
timestamp authority's).

A file reaches
- B-B when its signature is a CAdES detached one (`/SubFilter /ETSI.CAdES.detached`) with
  content-type, message-digest and signing-certificate(-v2) signed attributes and no CMS
  signing-time, its time in `/M`, intact, valid and trusted up to CAS_PEM;
- B-T when it also carries a signature timestamp that validates, trusted up to CAS_PEM;
- B-LT when it also has a document security store (`/DSS`) holding the certificates and CRLs
  (or OCSP responses) of both chains, and the signature and its timestamp validate with
  revocation information *required* for every certificate, from the file alone (no fetching);
- B-LTA when a document timestamp follows and pyHanko's AdES long-term validation
  (`pyhanko sign adesverify`'s, revocation required) passes.
Exits non-zero when a file does not reach exactly the level expected (or when it is
tampered with and still validates: every file is also checked with one byte changed).
"""

import asyncio
import io
import sys

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    SignatureValidationSpec,
)
from pyhanko.keys import load_certs_from_pemder
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    FreshnessReqType,
    REQUIRE_REVINFO,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

def signed_attribute_types(sig):
    return {a["type"].native for a in sig.signer_info["signed_attrs"]}


def level(path, ca):
    with open(path, "rb") as f:
        data = f.read()
    r = PdfFileReader(io.BytesIO(data))
    sigs = r.embedded_regular_signatures
    if len(sigs) != 1:
        return "none", f"{len(sigs)} signatures"
    sig = sigs[0]
    why = []
    subfilter = sig.sig_object.get("/SubFilter")
    if subfilter != "/ETSI.CAdES.detached":
        why.append(f"SubFilter {subfilter}")
    attrs = signed_attribute_types(sig)
    for needed in ("content_type", "message_digest"):
        if needed not in attrs:
            why.append(f"no {needed}")
    if not attrs & {"signing_certificate_v2", "signing_certificate"}:
        why.append("no signing-certificate(-v2)")
    if "signing_time" in attrs:
        why.append("a CMS signing-time (B-B wants the time in /M)")
    if "/M" not in sig.sig_object:
        why.append("no /M")
    vc = ValidationContext(trust_roots=ca, allow_fetching=False)
    status = validate_pdf_signature(sig, vc, diff_policy=DEFAULT_DIFF_POLICY)
    if not (status.intact and status.valid and status.trusted):
        why.append(f"signature: {status.summary()}")
    if why:
        return "none", "; ".join(why)
    ts = status.timestamp_validity
    if ts is None or not (ts.intact and ts.valid and ts.trusted):
        return "B-B", f"signature timestamp: {ts.summary() if ts else 'none'}"
    dss = r.root.get("/DSS")
    if dss is None:
        return "B-T", "no /DSS"
    dss = dss.get_object()
    if not dss.get("/Certs") or not (dss.get("/CRLs") or dss.get("/OCSPs")):
        return "B-T", "the /DSS lacks certificates or revocation data"
    # The signature and its timestamp validated with revocation data *required* for every
    # certificate, from the file's DSS only (no fetching).
    vc = DocumentSecurityStore.read_dss(r).as_validation_context(
        {"trust_roots": ca, "allow_fetching": False, "revocation_mode": "require"}
    )
    status = validate_pdf_signature(sig, vc, diff_policy=DEFAULT_DIFF_POLICY)
    ts = status.timestamp_validity
    if not (status.trusted and ts is not None and ts.trusted):
        return "B-T", f"with revocation required from the DSS: {status.summary()}"
    if not r.embedded_timestamp_signatures:
        return "B-LT", "revocation data in the file, required and found"
    # AdES validation as `pyhanko sign adesverify` does it: past validation on the
    # document timestamp's proof of existence, revocation data required.
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=ca),
        revinfo_policy=CertRevTrustPolicy(
            REQUIRE_REVINFO,
            freshness=None,
            freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION,
        ),
    )
    spec = PdfSignatureValidationSpec(
        signature_validation_spec=SignatureValidationSpec(cert_validation_policy=policy),
        diff_policy=DEFAULT_DIFF_POLICY,
    )
    result = asyncio.run(ades_lta_validation(sig, spec))
    if result.ades_subindic != AdESPassed.OK:
        return "B-LT", f"AdES LTA validation: {result.ades_subindic} {result.failure_msg}"
    return "B-LTA", "AdES LTA validation passed on the document timestamp"


def tampered_validates(path, ca):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    r = PdfFileReader(io.BytesIO(bytes(data)))
    byte_range = r.embedded_regular_signatures[0].byte_range
    start, length = int(byte_range[0]), int(byte_range[1])
    # A byte inside the first signed range, past the header.
    data[start + length // 2] ^= 0x01
    try:
        sig = PdfFileReader(io.BytesIO(bytes(data))).embedded_regular_signatures[0]
        status = validate_pdf_signature(
            sig, ValidationContext(trust_roots=ca, allow_fetching=False)
        )
        return status.intact and status.valid
    except Exception:
        return False


def main():
    ca = list(load_certs_from_pemder([sys.argv[1]]))
    pairs = list(zip(sys.argv[2::2], sys.argv[3::2]))
    failed = 0
    for expected, path in pairs:
        got, detail = level(path, ca)
        ok = got == expected
        tamper_ok = not tampered_validates(path, ca)
        failed += (not ok) + (not tamper_ok)
        print(
            f"{path}: PAdES {got} ({detail}); expected {expected}"
            f"{'' if ok else '  <-- MISMATCH'}; one byte changed: "
            f"{'detected' if tamper_ok else 'NOT DETECTED'}"
        )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
