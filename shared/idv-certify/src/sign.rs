//! PDF signing: an incremental update adding a signature field and a signature dictionary
//! whose `/Contents` holds a detached CMS SignedData (`adbe.pkcs7.detached`) over the
//! `/ByteRange`, with the CMS signature value timestamped by [`Tsa`] (the token stored as the
//! `signatureTimeStampToken` unsigned attribute).

use std::ffi::{c_int, c_uchar, c_void};

use foreign_types::ForeignType;
use lopdf::{Dictionary, IncrementalDocument, Object, StringFormat};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::X509;

use crate::CertifyError;
use crate::tsa::Tsa;

// CMS signer-info calls openssl-sys does not declare (the rest come from openssl-sys).
unsafe extern "C" {
    fn CMS_get0_SignerInfos(
        cms: *mut openssl_sys::CMS_ContentInfo,
    ) -> *mut openssl_sys::OPENSSL_STACK;
    fn CMS_SignerInfo_get0_signature(si: *mut c_void) -> *mut openssl_sys::ASN1_STRING;
    fn CMS_unsigned_add1_attr_by_OBJ(
        si: *mut c_void,
        obj: *const openssl_sys::ASN1_OBJECT,
        kind: c_int,
        bytes: *const c_void,
        len: c_int,
    ) -> c_int;
}

const V_ASN1_SEQUENCE: c_int = 16;
/// id-aa-signatureTimeStampToken (RFC 3161 appendix A).
const SIGNATURE_TIMESTAMP_TOKEN: &str = "1.2.840.113549.1.9.16.2.14";
/// Bytes reserved for the CMS in `/Contents` (hex doubles it).
const CONTENTS_BYTES: usize = 16 * 1024;

/// Who signs: certificate, key, the chain to include, and the timestamp authority.
pub struct Signer {
    pub cert: X509,
    pub key: PKey<Private>,
    pub chain: Vec<X509>,
    pub tsa: Tsa,
}

impl Signer {
    /// A detached CMS SignedData over `data`, its signature value timestamped.
    pub fn cms(&self, data: &[u8]) -> Result<Vec<u8>, CertifyError> {
        let mut chain = Stack::new()?;
        for c in &self.chain {
            chain.push(c.clone())?;
        }
        let cms = CmsContentInfo::sign(
            Some(&self.cert),
            Some(&self.key),
            Some(&chain),
            Some(data),
            CMSOptions::DETACHED | CMSOptions::BINARY,
        )?;
        // SAFETY (every block below): `cms` owns the structure; the signer info and signature
        // pointers borrow from it, are checked non-NULL and used before it drops. The
        // attribute call copies its input.
        let infos = unsafe { CMS_get0_SignerInfos(cms.as_ptr()) };
        if infos.is_null() {
            return Err(CertifyError::Sign("no signer infos".into()));
        }
        let si = unsafe { openssl_sys::OPENSSL_sk_value(infos, 0) };
        if si.is_null() {
            return Err(CertifyError::Sign("no signer info".into()));
        }
        let sig = unsafe { CMS_SignerInfo_get0_signature(si) };
        if sig.is_null() {
            return Err(CertifyError::Sign("no signature value".into()));
        }
        let (data, len) = unsafe {
            (
                openssl_sys::ASN1_STRING_get0_data(sig),
                openssl_sys::ASN1_STRING_length(sig),
            )
        };
        if data.is_null() || len <= 0 {
            return Err(CertifyError::Sign("empty signature value".into()));
        }
        let value = unsafe { std::slice::from_raw_parts(data, len as usize) };
        let digest = openssl::sha::sha256(value);
        let token = self.tsa.timestamp(&digest)?;
        let oid = openssl::asn1::Asn1Object::from_str(SIGNATURE_TIMESTAMP_TOKEN)?;
        let token_len = c_int::try_from(token.len())
            .map_err(|_| CertifyError::Sign("timestamp token too large".into()))?;
        let ok = unsafe {
            CMS_unsigned_add1_attr_by_OBJ(
                si,
                oid.as_ptr(),
                V_ASN1_SEQUENCE,
                token.as_ptr().cast::<c_uchar>().cast(),
                token_len,
            )
        };
        if ok != 1 {
            return Err(CertifyError::Sign(
                "adding the timestamp token failed".into(),
            ));
        }
        Ok(cms.to_der()?)
    }

    /// Signs `pdf` with an incremental update; returns the signed file.
    pub fn sign_pdf(&self, pdf: Vec<u8>, signed_at: &str) -> Result<Vec<u8>, CertifyError> {
        let prev = lopdf::Document::load_mem(&pdf)?;
        let root = prev.trailer.get(b"Root")?.as_reference()?;
        let page = *prev
            .get_pages()
            .get(&1)
            .ok_or_else(|| CertifyError::Sign("the PDF has no page".into()))?;
        let mut inc = IncrementalDocument::create_from(pdf, prev);
        inc.opt_clone_object_to_new_document(root)?;
        inc.opt_clone_object_to_new_document(page)?;
        let doc = &mut inc.new_document;

        let mut sig = Dictionary::new();
        sig.set("Type", Object::Name(b"Sig".to_vec()));
        sig.set("Filter", Object::Name(b"Adobe.PPKLite".to_vec()));
        sig.set("SubFilter", Object::Name(b"adbe.pkcs7.detached".to_vec()));
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
        sig.set("M", Object::string_literal(signed_at));
        sig.set("Name", Object::string_literal("idv"));
        sig.set(
            "Reason",
            Object::string_literal("idv verification certificate"),
        );
        let sig_id = doc.add_object(sig);

        let mut field = Dictionary::new();
        field.set("FT", Object::Name(b"Sig".to_vec()));
        field.set("T", Object::string_literal("idv-signature"));
        field.set("V", Object::Reference(sig_id));
        field.set("Type", Object::Name(b"Annot".to_vec()));
        field.set("Subtype", Object::Name(b"Widget".to_vec()));
        field.set(
            "Rect",
            Object::Array(vec![0.into(), 0.into(), 0.into(), 0.into()]),
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
        let mut acro = Dictionary::new();
        acro.set("Fields", Object::Array(vec![Object::Reference(field_id)]));
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
        let cms = self.cms(&signed)?;
        if cms.len() > CONTENTS_BYTES {
            return Err(CertifyError::Sign(format!(
                "the signature ({} bytes) does not fit the {CONTENTS_BYTES} reserved",
                cms.len()
            )));
        }
        let hex = hex::encode_upper(&cms);
        out[hex_start + 1..hex_start + 1 + hex.len()].copy_from_slice(hex.as_bytes());
        Ok(out)
    }
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

impl crate::SignPdf for Signer {
    fn sign_pdf(&self, pdf: Vec<u8>, signed_at: &str) -> Result<Vec<u8>, CertifyError> {
        Signer::sign_pdf(self, pdf, signed_at)
    }
}
