//! PDF signing: an incremental update adding a signature field and a signature dictionary
//! whose `/Contents` holds a CAdES detached signature ([`crate::cades`]) over the
//! `/ByteRange`, its signature value timestamped by [`Tsa`] — PAdES B-T — and, at
//! [`Level::LongTerm`], a second update with the validation material (B-LT), at
//! [`Level::Archival`] a third with a document timestamp (B-LTA).

use lopdf::{Dictionary, IncrementalDocument, Object, StringFormat};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use crate::CertifyError;
use crate::ltv::CrlIssuer;
use crate::remote_tsa::RemoteTsa;
use crate::tsa::Tsa;

/// Who timestamps signatures: idv's own authority, or an external one over RFC 3161.
pub enum Timestamper {
    Own(Tsa),
    Remote(RemoteTsa),
}

impl Timestamper {
    /// A DER `TimeStampToken` over `sha256`.
    pub fn timestamp(&self, sha256: &[u8; 32]) -> Result<Vec<u8>, CertifyError> {
        match self {
            Timestamper::Own(t) => t.timestamp(sha256),
            Timestamper::Remote(t) => t.timestamp(sha256),
        }
    }

    /// The authority's certificates a validator needs.
    fn certs(&self) -> Vec<X509> {
        match self {
            Timestamper::Own(t) => vec![t.cert.clone()],
            Timestamper::Remote(t) => t.trusted.clone(),
        }
    }
}

/// Bytes reserved for the CMS in `/Contents` (hex doubles it).
const CONTENTS_BYTES: usize = 16 * 1024;

/// The PAdES baseline level a [`Signer`] produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// B-T: signed and timestamped.
    Timestamped,
    /// B-LT: B-T plus a `/DSS` with the certificates and a fresh CRL of the CA, so the
    /// signature validates with revocation checking and no network.
    LongTerm,
    /// B-LTA: B-LT plus a document timestamp over it all, which proves the validation
    /// material existed then (and can be renewed before its algorithms weaken).
    Archival,
}

/// Who signs: certificate, key, the chain to include, the timestamp authority, and (for
/// B-LT) who issues the CRL.
pub struct Signer {
    pub cert: X509,
    pub key: PKey<Private>,
    pub chain: Vec<X509>,
    pub tsa: Timestamper,
    pub level: Level,
    /// Issues the CRL added at [`Level::LongTerm`].
    pub crl_issuer: Option<CrlIssuer>,
}

impl Signer {
    /// A detached CAdES SignedData over `data`, its signature value timestamped.
    pub fn cms(&self, data: &[u8]) -> Result<Vec<u8>, CertifyError> {
        crate::cades::signed_data(&self.cert, &self.key, &self.chain, data, |digest| {
            self.tsa.timestamp(digest)
        })
    }

    /// This signer with its signatures timestamped by `remote` instead of idv's own
    /// authority; only at B-T (B-LT embeds revocation data idv can issue only for its own).
    pub fn with_remote_tsa(mut self, remote: RemoteTsa) -> Result<Signer, CertifyError> {
        if self.level != Level::Timestamped {
            return Err(CertifyError::Sign(
                "an external timestamp authority works at PAdES b-t only".into(),
            ));
        }
        self.tsa = Timestamper::Remote(remote);
        Ok(self)
    }

    /// The certificates a validator needs: the signer's, the chain and the TSA's (DER).
    fn validation_certs(&self) -> Result<Vec<Vec<u8>>, CertifyError> {
        let mut certs = vec![self.cert.to_der()?];
        for c in self.chain.iter().chain(&self.tsa.certs()) {
            let d = c.to_der()?;
            if !certs.contains(&d) {
                certs.push(d);
            }
        }
        Ok(certs)
    }

    /// Signs `pdf` with an incremental update; returns the signed file (and, by
    /// [`Level`], its validation material and a document timestamp in further updates).
    pub fn sign_pdf(&self, pdf: Vec<u8>, signed_at: &str) -> Result<Vec<u8>, CertifyError> {
        let mut sig = Dictionary::new();
        sig.set("Type", Object::Name(b"Sig".to_vec()));
        sig.set("Filter", Object::Name(b"Adobe.PPKLite".to_vec()));
        sig.set("SubFilter", Object::Name(b"ETSI.CAdES.detached".to_vec()));
        sig.set("M", Object::string_literal(signed_at));
        sig.set("Name", Object::string_literal("idv"));
        sig.set(
            "Reason",
            Object::string_literal("idv verification certificate"),
        );
        let [x1, y1, x2, y2] = crate::SIGNATURE_BOX.map(|mm| mm * 72.0 / 25.4);
        let signed = append_signature(pdf, sig, "idv-signature", [x1, y1, x2, y2], |data| {
            self.cms(data)
        })?;
        if self.level == Level::Timestamped {
            return Ok(signed);
        }
        let issuer = self
            .crl_issuer
            .as_ref()
            .ok_or_else(|| CertifyError::Sign("B-LT needs the CA's key to issue its CRL".into()))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let crl = issuer.crl(now, 7)?;
        let with_dss = crate::ltv::add_dss(signed, &self.validation_certs()?, &[crl])?;
        if self.level == Level::LongTerm {
            return Ok(with_dss);
        }
        // B-LTA: a document timestamp over everything so far, the DSS included.
        let mut ts = Dictionary::new();
        ts.set("Type", Object::Name(b"DocTimeStamp".to_vec()));
        ts.set("Filter", Object::Name(b"Adobe.PPKLite".to_vec()));
        ts.set("SubFilter", Object::Name(b"ETSI.RFC3161".to_vec()));
        append_signature(with_dss, ts, "idv-document-timestamp", [0.0; 4], |data| {
            self.tsa.timestamp(&openssl::sha::sha256(data))
        })
    }
}

/// `pdf` with one more signature in an incremental update: a signature field named `name`
/// (a widget on page 1 at `rect`, in points; zero-sized: invisible) whose value is `sig` with `/ByteRange` and `/Contents`
/// filled in — `contents` gets the bytes the range covers and returns the DER to store.
fn append_signature(
    pdf: Vec<u8>,
    mut sig: Dictionary,
    name: &str,
    rect: [f32; 4],
    contents: impl FnOnce(&[u8]) -> Result<Vec<u8>, CertifyError>,
) -> Result<Vec<u8>, CertifyError> {
    let prev = lopdf::Document::load_mem(&pdf)?;
    let root = prev.trailer.get(b"Root")?.as_reference()?;
    let page = *prev
        .get_pages()
        .get(&1)
        .ok_or_else(|| CertifyError::Sign("the PDF has no page".into()))?;
    // The fields signed before, kept beside the new one.
    let mut fields = match prev
        .get_object(root)
        .and_then(Object::as_dict)
        .and_then(|c| c.get(b"AcroForm"))
    {
        Ok(Object::Dictionary(form)) => match form.get(b"Fields") {
            Ok(Object::Array(a)) => a.clone(),
            _ => Vec::new(),
        },
        Ok(Object::Reference(id)) => match prev
            .get_object(*id)
            .and_then(Object::as_dict)
            .and_then(|f| f.get(b"Fields"))
        {
            Ok(Object::Array(a)) => a.clone(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    let mut inc = IncrementalDocument::create_from(pdf, prev);
    inc.opt_clone_object_to_new_document(root)?;
    inc.opt_clone_object_to_new_document(page)?;
    let doc = &mut inc.new_document;

    // Placeholders, patched in place once the offsets are known (same width).
    sig.set(
        "ByteRange",
        Object::Array(vec![
            Object::Integer(0),
            Object::Integer(1_111_111_111),
            Object::Integer(1_111_111_112),
            Object::Integer(1_111_111_113),
        ]),
    );
    sig.set(
        "Contents",
        Object::String(vec![0u8; CONTENTS_BYTES], StringFormat::Hexadecimal),
    );
    let sig_id = doc.add_object(sig);

    let mut field = Dictionary::new();
    field.set("FT", Object::Name(b"Sig".to_vec()));
    field.set("T", Object::string_literal(name));
    field.set("V", Object::Reference(sig_id));
    field.set("Type", Object::Name(b"Annot".to_vec()));
    field.set("Subtype", Object::Name(b"Widget".to_vec()));
    field.set(
        "Rect",
        Object::Array(rect.iter().map(|&v| Object::Real(v)).collect()),
    );
    field.set("F", Object::Integer(132));
    field.set("P", Object::Reference(page));
    let field_id = doc.add_object(field);

    let page_dict = doc.get_object_mut(page)?.as_dict_mut()?;
    let mut annots = match page_dict.get(b"Annots") {
        Ok(Object::Array(a)) => a.clone(),
        _ => Vec::new(),
    };
    annots.push(Object::Reference(field_id));
    page_dict.set("Annots", Object::Array(annots));
    fields.push(Object::Reference(field_id));
    let mut acro = Dictionary::new();
    acro.set("Fields", Object::Array(fields));
    acro.set("SigFlags", Object::Integer(3));
    doc.get_object_mut(root)?
        .as_dict_mut()?
        .set("AcroForm", Object::Dictionary(acro));

    let mut out = Vec::new();
    inc.save_to(&mut out)?;

    // Locate the placeholders in the appended revision.
    let zeros = "0".repeat(CONTENTS_BYTES * 2);
    let hex_start = find_last(&out, format!("<{zeros}>").as_bytes())
        .ok_or_else(|| CertifyError::Sign("signature placeholder not found".into()))?;
    let hex_end = hex_start + zeros.len() + 2;
    let range_text = b"[0 1111111111 1111111112 1111111113]";
    let range_at = find_last(&out, range_text)
        .ok_or_else(|| CertifyError::Sign("byte range placeholder not found".into()))?;
    let ranges = [0, hex_start, hex_end, out.len() - hex_end];
    let mut text =
        format!("[{} {} {} {}]", ranges[0], ranges[1], ranges[2], ranges[3]).into_bytes();
    text.resize(range_text.len(), b' ');
    out[range_at..range_at + range_text.len()].copy_from_slice(&text);

    let mut signed = Vec::with_capacity(out.len() - (hex_end - hex_start));
    signed.extend_from_slice(&out[..hex_start]);
    signed.extend_from_slice(&out[hex_end..]);
    let der = contents(&signed)?;
    if der.len() > CONTENTS_BYTES {
        return Err(CertifyError::Sign(format!(
            "the signature ({} bytes) does not fit the {CONTENTS_BYTES} reserved",
            der.len()
        )));
    }
    let hex = hex::encode_upper(&der);
    out[hex_start + 1..hex_start + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    Ok(out)
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

impl crate::SignPdf for Signer {
    fn sign_pdf(&self, pdf: Vec<u8>, signed_at: &str) -> Result<Vec<u8>, CertifyError> {
        Signer::sign_pdf(self, pdf, signed_at)
    }

    fn signer_name(&self) -> String {
        let name = self.cert.subject_name();
        let part = |nid| {
            name.entries_by_nid(nid)
                .next()
                .and_then(|e| e.data().to_string().ok())
        };
        match (
            part(openssl::nid::Nid::COMMONNAME),
            part(openssl::nid::Nid::ORGANIZATIONNAME),
        ) {
            (Some(cn), Some(o)) => format!("{cn} ({o})"),
            (Some(cn), None) => cn,
            (None, Some(o)) => o,
            (None, None) => "an unnamed certificate".into(),
        }
    }
}
