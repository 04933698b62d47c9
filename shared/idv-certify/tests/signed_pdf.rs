//! A rendered, signed and timestamped certificate checked with standard tools: `pdfsig`,
//! `pdftotext` (Debian `poppler-utils`), `openssl cms -verify` and `openssl ts -verify`.

mod common;

use std::path::Path;
use std::process::Command;

use idv_certify::{Certificate, DEFAULT_POLICY, Row, Section, generate_dev, render};

fn certificate() -> Certificate {
    let png = {
        let img = common::png(60, 80);
        vec![("Selfie".to_string(), img)]
    };
    Certificate {
        request_id: "req-7f3a".into(),
        tenant: "t_acme".into(),
        issuer: idv_certify::Issuer {
            name: "Acme Identity Services Ltd".into(),
            contact: "compliance@acme.example".into(),
        },
        signed_by: "idv certificate signing".into(),
        received_at: "2026-11-23 10:00:00".into(),
        processed_at: "2026-11-23 10:00:01".into(),
        decision: "REJECTED".into(),
        sections: vec![Section {
            title: "Document".into(),
            rows: vec![
                Row {
                    label: "Document number".into(),
                    value: "L89****C3".into(),
                },
                Row {
                    label: "Name".into(),
                    value: "ANNA MARIA ERIKSSON".into(),
                },
            ],
        }],
        thumbnails: png,
        created_unix: 1_795_435_200,
    }
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .expect("tool runs (infra/deps installs poppler-utils, openssl)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The `/Contents` hex of the (last) signature.
fn contents(pdf: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(pdf);
    let key = text.rfind("/Contents").expect("signature contents");
    let at = key + text[key..].find('<').unwrap() + 1;
    let end = at + text[at..].find('>').unwrap();
    let hex = text[at..end].trim_end_matches('0');
    let hex = if hex.len() % 2 == 1 {
        format!("{hex}0")
    } else {
        hex.to_string()
    };
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn signed_certificate_verifies_with_standard_tools() {
    let dir = tempdir();
    let pems = generate_dev(None).unwrap();
    let signer = pems.signer(DEFAULT_POLICY).unwrap();
    let pdf = render(&certificate()).unwrap();
    let signed = signer.sign_pdf(pdf.clone(), "D:20261123100001Z").unwrap();
    assert!(
        signed.starts_with(&pdf),
        "an incremental update keeps the original bytes"
    );
    let path = dir.join("cert.pdf");
    std::fs::write(&path, &signed).unwrap();

    let (_, out) = run(Command::new("pdfsig").arg(&path));
    assert!(
        out.contains("Signature Validation: Signature is Valid."),
        "{out}"
    );
    assert!(
        out.contains("The signature form field is signed") || out.contains("Total document signed"),
        "{out}"
    );
    assert!(out.contains("ETSI.CAdES.detached"), "{out}");

    let (ok, text) = run(Command::new("pdftotext").arg(&path).arg("-"));
    assert!(ok, "{text}");
    for needle in ["req-7f3a", "REJECTED", "L89****C3"] {
        assert!(text.contains(needle), "{needle} not in {text}");
    }

    // One byte changed inside the signed range: pdfsig must say so.
    let mut tampered = signed.clone();
    let i = text_offset(&signed, b"REJECTED").unwrap_or(100);
    tampered[i] ^= 0x01;
    let tpath = dir.join("tampered.pdf");
    std::fs::write(&tpath, &tampered).unwrap();
    let (_, out) = run(Command::new("pdfsig").arg(&tpath));
    assert!(!out.contains("Signature is Valid."), "{out}");

    // The CMS over the byte ranges, and the timestamp token inside it.
    let cms = contents(&signed);
    std::fs::write(dir.join("sig.der"), &cms).unwrap();
    let ranges = byte_range(&signed);
    let mut data = signed[ranges[0]..ranges[0] + ranges[1]].to_vec();
    data.extend_from_slice(&signed[ranges[2]..ranges[2] + ranges[3]]);
    std::fs::write(dir.join("data.bin"), &data).unwrap();
    std::fs::write(dir.join("ca.pem"), &pems.ca_cert).unwrap();
    std::fs::write(dir.join("tsa.pem"), &pems.tsa_cert).unwrap();
    let (ok, out) = run(Command::new("openssl").current_dir(&dir).args([
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        "sig.der",
        "-content",
        "data.bin",
        "-CAfile",
        "ca.pem",
        "-purpose",
        "any",
        "-out",
        "/dev/null",
    ]));
    assert!(ok && out.contains("Verification successful"), "{out}");

    // Extract signatureTimeStampToken with openssl's own parser, then verify it against the
    // signature value it timestamps.
    let (ok, dump) = run(Command::new("openssl").current_dir(&dir).args([
        "cms", "-cmsout", "-print", "-inform", "DER", "-in", "sig.der",
    ]));
    assert!(ok, "{dump}");
    assert!(dump.contains("id-smime-aa-timeStampToken"), "{dump}");
    // PAdES baseline: signing-certificate-v2 signed, no CMS signing-time (the time is /M).
    // (The timestamp token inside the unsigned attributes has a signing time of its own.)
    let from = dump.find("signedAttrs:").expect("signed attributes");
    let to = dump.find("unsignedAttrs:").expect("unsigned attributes");
    let signed_attrs = &dump[from..to];
    assert!(
        signed_attrs.contains("id-smime-aa-signingCertificateV2"),
        "{signed_attrs}"
    );
    assert!(!signed_attrs.contains("signingTime"), "{signed_attrs}");
    let token = token_from_cms(&cms);
    std::fs::write(dir.join("token.der"), &token).unwrap();
    let sig_value = signature_value(&dump);
    std::fs::write(dir.join("sigvalue.bin"), &sig_value).unwrap();
    let (ok, out) = run(Command::new("openssl").current_dir(&dir).args([
        "ts",
        "-verify",
        "-token_in",
        "-in",
        "token.der",
        "-data",
        "sigvalue.bin",
        "-CAfile",
        "ca.pem",
        "-untrusted",
        "tsa.pem",
    ]));
    assert!(ok && out.contains("Verification: OK"), "{out}");
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("idv-certify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn text_offset(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn byte_range(pdf: &[u8]) -> Vec<usize> {
    let text = String::from_utf8_lossy(pdf);
    let at = text.rfind("/ByteRange").unwrap();
    let open = at + text[at..].find('[').unwrap() + 1;
    let close = open + text[open..].find(']').unwrap();
    text[open..close]
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

/// The DER token: the SEQUENCE right after the attribute's OID in the CMS.
fn token_from_cms(cms: &[u8]) -> Vec<u8> {
    // OID 1.2.840.113549.1.9.16.2.14, DER-encoded.
    let oid = [
        0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0e,
    ];
    let at = text_offset(cms, &oid).expect("timestamp attribute") + oid.len();
    // SET { token }: skip the SET header.
    let (set_body, _) = der_header(&cms[at..]);
    let token_at = at + set_body;
    let (hdr, len) = der_header(&cms[token_at..]);
    cms[token_at..token_at + hdr + len].to_vec()
}

/// (header length, content length) of a DER element.
fn der_header(b: &[u8]) -> (usize, usize) {
    if b[1] < 0x80 {
        (2, b[1] as usize)
    } else {
        let n = (b[1] & 0x7f) as usize;
        let len = b[2..2 + n]
            .iter()
            .fold(0usize, |a, &x| (a << 8) | x as usize);
        (2 + n, len)
    }
}

/// The signer's signature value from `openssl cms -cmsout -print`: the hex dump after the
/// last `signatureAlgorithm` (15 bytes per line, `-` after the eighth).
fn signature_value(dump: &str) -> Vec<u8> {
    let alg = dump
        .rfind("signatureAlgorithm:")
        .expect("signer info in dump");
    let at = alg + dump[alg..].find("signature:").expect("signature value");
    let mut bytes = Vec::new();
    for line in dump[at..].lines().skip(1) {
        let Some((_, rest)) = line.trim().split_once(" - ") else {
            break;
        };
        let hex = &rest[..rest.len().min(44)];
        bytes.extend(
            hex.replace('-', " ")
                .split_whitespace()
                .map(|h| u8::from_str_radix(h, 16).unwrap()),
        );
    }
    bytes
}

#[allow(dead_code)]
fn exists(p: &Path) -> bool {
    p.exists()
}
