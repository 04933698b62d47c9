//! Writes a development CA and one signed certificate per PAdES level idv produces, for
//! independent validators (`tests/pades.py` runs pyHanko on them):
//!
//!     cargo run --release -p idv-certify --example pades -- DIR
//!
//! DIR/ca.pem, DIR/b-t.pdf (the default configuration), DIR/b-lt.pdf (`--pades-level b-lt`),
//! DIR/b-lta.pdf (`--pades-level b-lta`).

use idv_certify::{Certificate, DEFAULT_POLICY, Level, Row, Section, generate_dev, render};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).ok_or("usage: pades DIR")?);
    std::fs::create_dir_all(&dir)?;
    let pems = generate_dev(Some("http://127.0.0.1:8080/ca.crl"))?;
    std::fs::write(dir.join("ca.pem"), &pems.ca_cert)?;
    let certificate = Certificate {
        request_id: "req-pades-1".into(),
        tenant: "Acme Bank".into(),
        issuer: idv_certify::Issuer {
            name: "Acme Identity Services Ltd".into(),
            contact: "compliance@acme.example".into(),
        },
        signed_by: "idv certificate signing".into(),
        received_at: "2026-12-02 10:00:00".into(),
        processed_at: "2026-12-02 10:00:01".into(),
        decision: "APPROVED".into(),
        sections: vec![Section {
            title: "Document".into(),
            rows: vec![Row {
                label: "Document number".into(),
                value: "L89****C3".into(),
            }],
        }],
        thumbnails: Vec::new(),
        created_unix: 1_795_435_200,
    };
    let pdf = render(&certificate)?;
    for (name, level) in [
        ("b-t.pdf", Level::Timestamped),
        ("b-lt.pdf", Level::LongTerm),
        ("b-lta.pdf", Level::Archival),
    ] {
        let signer = pems.signer_at(DEFAULT_POLICY, level)?;
        let signed = signer.sign_pdf(pdf.clone(), "D:20261202100001Z")?;
        std::fs::write(dir.join(name), signed)?;
        println!("{}", dir.join(name).display());
    }
    Ok(())
}
