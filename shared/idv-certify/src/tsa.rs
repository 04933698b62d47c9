//! idv's own RFC 3161 timestamp authority, on libcrypto's `TS_*` functions.
//!
//! The `openssl` crate has no bindings for them, so this module declares the few it needs and
//! wraps them in one safe call, [`Tsa::timestamp`]: SHA-256 imprint in, DER `TimeStampToken`
//! (a CMS `ContentInfo`) out. Every pointer is owned by exactly one guard and freed on drop.

use std::ffi::{CString, c_int, c_long, c_uchar, c_void};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

use foreign_types::ForeignType;
use openssl::bn::BigNum;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use crate::CertifyError;

#[allow(non_camel_case_types)]
type TS_REQ = c_void;
#[allow(non_camel_case_types)]
type TS_RESP = c_void;
#[allow(non_camel_case_types)]
type TS_RESP_CTX = c_void;
#[allow(non_camel_case_types)]
type TS_MSG_IMPRINT = c_void;

type SerialCb =
    unsafe extern "C" fn(*mut TS_RESP_CTX, *mut c_void) -> *mut openssl_sys::ASN1_INTEGER;

unsafe extern "C" {
    fn TS_REQ_new() -> *mut TS_REQ;
    fn TS_REQ_free(r: *mut TS_REQ);
    fn TS_REQ_set_version(r: *mut TS_REQ, v: c_long) -> c_int;
    fn TS_REQ_set_msg_imprint(r: *mut TS_REQ, m: *mut TS_MSG_IMPRINT) -> c_int;
    fn TS_REQ_set_nonce(r: *mut TS_REQ, n: *const openssl_sys::ASN1_INTEGER) -> c_int;
    fn TS_REQ_set_cert_req(r: *mut TS_REQ, c: c_int) -> c_int;
    fn i2d_TS_REQ(r: *const TS_REQ, out: *mut *mut c_uchar) -> c_int;
    fn TS_MSG_IMPRINT_new() -> *mut TS_MSG_IMPRINT;
    fn TS_MSG_IMPRINT_free(m: *mut TS_MSG_IMPRINT);
    fn TS_MSG_IMPRINT_set_algo(m: *mut TS_MSG_IMPRINT, a: *mut openssl_sys::X509_ALGOR) -> c_int;
    fn TS_MSG_IMPRINT_set_msg(m: *mut TS_MSG_IMPRINT, d: *mut c_uchar, len: c_int) -> c_int;
    fn X509_ALGOR_new() -> *mut openssl_sys::X509_ALGOR;
    fn X509_ALGOR_free(a: *mut openssl_sys::X509_ALGOR);
    fn X509_ALGOR_set0(
        a: *mut openssl_sys::X509_ALGOR,
        obj: *mut openssl_sys::ASN1_OBJECT,
        ptype: c_int,
        pval: *mut c_void,
    ) -> c_int;
    fn TS_RESP_CTX_new() -> *mut TS_RESP_CTX;
    fn TS_RESP_CTX_free(c: *mut TS_RESP_CTX);
    fn TS_RESP_CTX_set_signer_cert(c: *mut TS_RESP_CTX, x: *mut openssl_sys::X509) -> c_int;
    fn TS_RESP_CTX_set_signer_key(c: *mut TS_RESP_CTX, k: *mut openssl_sys::EVP_PKEY) -> c_int;
    fn TS_RESP_CTX_set_signer_digest(c: *mut TS_RESP_CTX, md: *const openssl_sys::EVP_MD) -> c_int;
    fn TS_RESP_CTX_set_def_policy(c: *mut TS_RESP_CTX, p: *const openssl_sys::ASN1_OBJECT)
    -> c_int;
    fn TS_RESP_CTX_add_md(c: *mut TS_RESP_CTX, md: *const openssl_sys::EVP_MD) -> c_int;
    fn TS_RESP_CTX_set_serial_cb(c: *mut TS_RESP_CTX, cb: SerialCb, data: *mut c_void);
    fn TS_RESP_create_response(c: *mut TS_RESP_CTX, req: *mut openssl_sys::BIO) -> *mut TS_RESP;
    fn TS_RESP_free(r: *mut TS_RESP);
    fn TS_RESP_get_status_info(r: *mut TS_RESP) -> *mut c_void;
    fn TS_STATUS_INFO_get0_status(s: *const c_void) -> *const openssl_sys::ASN1_INTEGER;
    fn TS_RESP_get_token(r: *mut TS_RESP) -> *mut openssl_sys::PKCS7;
    fn i2d_PKCS7(p: *mut openssl_sys::PKCS7, out: *mut *mut c_uchar) -> c_int;
    fn ASN1_INTEGER_get(a: *const openssl_sys::ASN1_INTEGER) -> c_long;
    fn OBJ_txt2obj(s: *const std::ffi::c_char, no_name: c_int) -> *mut openssl_sys::ASN1_OBJECT;
    fn ASN1_OBJECT_free(o: *mut openssl_sys::ASN1_OBJECT);
    fn OBJ_nid2obj(n: c_int) -> *mut openssl_sys::ASN1_OBJECT;
}

const NID_SHA256: c_int = 672;
const V_ASN1_NULL: c_int = 5;

/// Frees `$p` with `$free` when the guard drops.
struct Guard<T>(*mut T, unsafe extern "C" fn(*mut T));

impl<T> Drop for Guard<T> {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the guard owns the pointer and frees it once.
            unsafe { (self.1)(self.0) }
        }
    }
}

fn check(ok: bool, what: &str) -> Result<(), CertifyError> {
    if ok {
        Ok(())
    } else {
        Err(CertifyError::Timestamp(format!(
            "{what}: {}",
            openssl::error::ErrorStack::get()
        )))
    }
}

/// Serial numbers: 64 random bits from the process start, then a counter — unique per TSA key
/// within a process and, with overwhelming probability, across processes.
static SERIAL: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" fn next_serial(
    _ctx: *mut TS_RESP_CTX,
    _data: *mut c_void,
) -> *mut openssl_sys::ASN1_INTEGER {
    let n = SERIAL.fetch_add(1, Ordering::Relaxed);
    let mut bytes = [0u8; 16];
    if openssl::rand::rand_bytes(&mut bytes[..8]).is_err() {
        return ptr::null_mut();
    }
    bytes[0] &= 0x7f;
    bytes[8..].copy_from_slice(&n.to_be_bytes());
    match BigNum::from_slice(&bytes).and_then(|b| b.to_asn1_integer()) {
        Ok(i) => {
            let p = i.as_ptr();
            std::mem::forget(i);
            p
        }
        Err(_) => ptr::null_mut(),
    }
}

/// A timestamp authority: its certificate (with the `timeStamping` extended key usage), key
/// and policy OID.
pub struct Tsa {
    pub cert: X509,
    pub key: PKey<Private>,
    pub policy: String,
}

impl Tsa {
    /// A DER `TimeStampToken` over `sha256` (the SHA-256 of the timestamped data).
    pub fn timestamp(&self, sha256: &[u8; 32]) -> Result<Vec<u8>, CertifyError> {
        let policy = CString::new(self.policy.as_str())
            .map_err(|_| CertifyError::Timestamp("policy OID contains NUL".into()))?;
        // SAFETY: each pointer below is checked for NULL, owned by a guard or transferred to
        // an owner per OpenSSL's documented ownership (set0 takes, set/set1 copy).
        unsafe {
            let req = Guard(TS_REQ_new(), TS_REQ_free);
            check(!req.0.is_null(), "TS_REQ_new")?;
            check(TS_REQ_set_version(req.0, 1) == 1, "TS_REQ_set_version")?;
            let imprint = Guard(TS_MSG_IMPRINT_new(), TS_MSG_IMPRINT_free);
            let algo = Guard(X509_ALGOR_new(), X509_ALGOR_free);
            check(!imprint.0.is_null() && !algo.0.is_null(), "imprint")?;
            check(
                X509_ALGOR_set0(
                    algo.0,
                    OBJ_nid2obj(NID_SHA256),
                    V_ASN1_NULL,
                    ptr::null_mut(),
                ) == 1,
                "X509_ALGOR_set0",
            )?;
            check(TS_MSG_IMPRINT_set_algo(imprint.0, algo.0) == 1, "set_algo")?;
            let mut digest = *sha256;
            check(
                TS_MSG_IMPRINT_set_msg(imprint.0, digest.as_mut_ptr(), 32) == 1,
                "set_msg",
            )?;
            check(
                TS_REQ_set_msg_imprint(req.0, imprint.0) == 1,
                "set_msg_imprint",
            )?;
            let mut nonce_bytes = [0u8; 8];
            openssl::rand::rand_bytes(&mut nonce_bytes)?;
            let nonce = BigNum::from_slice(&nonce_bytes)?.to_asn1_integer()?;
            check(TS_REQ_set_nonce(req.0, nonce.as_ptr()) == 1, "set_nonce")?;
            check(TS_REQ_set_cert_req(req.0, 1) == 1, "set_cert_req")?;
            let mut der: *mut c_uchar = ptr::null_mut();
            let len = i2d_TS_REQ(req.0, &mut der);
            check(len > 0, "i2d_TS_REQ")?;
            let req_der = std::slice::from_raw_parts(der, len as usize).to_vec();
            openssl_sys::CRYPTO_free(der.cast(), c"tsa.rs".as_ptr(), 0);
            let bio = Guard(
                openssl_sys::BIO_new_mem_buf(req_der.as_ptr().cast(), req_der.len() as c_int),
                openssl_sys::BIO_free_all,
            );
            check(!bio.0.is_null(), "BIO_new_mem_buf")?;

            let ctx = Guard(TS_RESP_CTX_new(), TS_RESP_CTX_free);
            check(!ctx.0.is_null(), "TS_RESP_CTX_new")?;
            check(
                TS_RESP_CTX_set_signer_cert(ctx.0, self.cert.as_ptr()) == 1,
                "set_signer_cert",
            )?;
            check(
                TS_RESP_CTX_set_signer_key(ctx.0, self.key.as_ptr()) == 1,
                "set_signer_key",
            )?;
            check(
                TS_RESP_CTX_set_signer_digest(ctx.0, openssl_sys::EVP_sha256()) == 1,
                "set_signer_digest",
            )?;
            let policy_obj = Guard(OBJ_txt2obj(policy.as_ptr(), 1), ASN1_OBJECT_free);
            check(!policy_obj.0.is_null(), "policy OID")?;
            check(
                TS_RESP_CTX_set_def_policy(ctx.0, policy_obj.0) == 1,
                "set_def_policy",
            )?;
            check(
                TS_RESP_CTX_add_md(ctx.0, openssl_sys::EVP_sha256()) == 1,
                "add_md",
            )?;
            TS_RESP_CTX_set_serial_cb(ctx.0, next_serial, ptr::null_mut());
            let resp = Guard(TS_RESP_create_response(ctx.0, bio.0), TS_RESP_free);
            check(!resp.0.is_null(), "TS_RESP_create_response")?;
            let status = TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp.0));
            check(
                !status.is_null() && ASN1_INTEGER_get(status) == 0,
                "timestamp not granted",
            )?;
            let token = TS_RESP_get_token(resp.0);
            check(!token.is_null(), "no token")?;
            let mut out: *mut c_uchar = ptr::null_mut();
            let len = i2d_PKCS7(token, &mut out);
            check(len > 0, "i2d_PKCS7")?;
            let v = std::slice::from_raw_parts(out, len as usize).to_vec();
            openssl_sys::CRYPTO_free(out.cast(), c"tsa.rs".as_ptr(), 0);
            Ok(v)
        }
    }
}
