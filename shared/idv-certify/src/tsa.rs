//! idv's own RFC 3161 timestamp authority, on libcrypto's `TS_*` functions.
//!
//! The `openssl` crate has no bindings for them, so this module declares the few it needs and
//! wraps them in one safe call, [`Tsa::timestamp`]: SHA-256 imprint in, DER `TimeStampToken`
//! (a CMS `ContentInfo`) out. Every pointer is owned by exactly one guard and freed on drop.

use std::ffi::{c_int, c_long, c_uchar, c_void};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

use foreign_types::{ForeignType, foreign_type};
use openssl::asn1::Asn1Object;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use openssl_sys::{ASN1_INTEGER, ASN1_OBJECT, BIO, EVP_MD, EVP_PKEY, PKCS7, X509_ALGOR};

use crate::CertifyError;

/// libcrypto's opaque timestamping structures.
#[allow(non_camel_case_types)]
pub enum TS_REQ {}
#[allow(non_camel_case_types)]
pub enum TS_RESP {}
#[allow(non_camel_case_types)]
pub enum TS_RESP_CTX {}
#[allow(non_camel_case_types)]
pub enum TS_MSG_IMPRINT {}
#[allow(non_camel_case_types)]
pub enum TS_STATUS_INFO {}

type SerialCb = unsafe extern "C" fn(*mut TS_RESP_CTX, *mut c_void) -> *mut ASN1_INTEGER;

// The TS_* functions, which openssl-sys does not declare (the rest come from openssl-sys).
unsafe extern "C" {
    fn TS_REQ_new() -> *mut TS_REQ;
    fn TS_REQ_free(r: *mut TS_REQ);
    fn TS_REQ_set_version(r: *mut TS_REQ, v: c_long) -> c_int;
    fn TS_REQ_set_msg_imprint(r: *mut TS_REQ, m: *mut TS_MSG_IMPRINT) -> c_int;
    fn TS_REQ_set_nonce(r: *mut TS_REQ, n: *const ASN1_INTEGER) -> c_int;
    fn TS_REQ_set_cert_req(r: *mut TS_REQ, c: c_int) -> c_int;
    fn i2d_TS_REQ(r: *const TS_REQ, out: *mut *mut c_uchar) -> c_int;
    fn TS_MSG_IMPRINT_new() -> *mut TS_MSG_IMPRINT;
    fn TS_MSG_IMPRINT_free(m: *mut TS_MSG_IMPRINT);
    fn TS_MSG_IMPRINT_set_algo(m: *mut TS_MSG_IMPRINT, a: *mut X509_ALGOR) -> c_int;
    fn TS_MSG_IMPRINT_set_msg(m: *mut TS_MSG_IMPRINT, d: *mut c_uchar, len: c_int) -> c_int;
    fn X509_ALGOR_new() -> *mut X509_ALGOR;
    fn X509_ALGOR_set0(
        a: *mut X509_ALGOR,
        obj: *mut ASN1_OBJECT,
        ptype: c_int,
        pval: *mut c_void,
    ) -> c_int;
    fn TS_RESP_CTX_new() -> *mut TS_RESP_CTX;
    fn TS_RESP_CTX_free(c: *mut TS_RESP_CTX);
    fn TS_RESP_CTX_set_signer_cert(c: *mut TS_RESP_CTX, x: *mut openssl_sys::X509) -> c_int;
    fn TS_RESP_CTX_set_signer_key(c: *mut TS_RESP_CTX, k: *mut EVP_PKEY) -> c_int;
    fn TS_RESP_CTX_set_signer_digest(c: *mut TS_RESP_CTX, md: *const EVP_MD) -> c_int;
    fn TS_RESP_CTX_set_def_policy(c: *mut TS_RESP_CTX, p: *const ASN1_OBJECT) -> c_int;
    fn TS_RESP_CTX_add_md(c: *mut TS_RESP_CTX, md: *const EVP_MD) -> c_int;
    fn TS_RESP_CTX_set_serial_cb(c: *mut TS_RESP_CTX, cb: SerialCb, data: *mut c_void);
    fn TS_RESP_create_response(c: *mut TS_RESP_CTX, req: *mut BIO) -> *mut TS_RESP;
    fn TS_RESP_free(r: *mut TS_RESP);
    fn TS_RESP_get_status_info(r: *mut TS_RESP) -> *mut TS_STATUS_INFO;
    fn TS_STATUS_INFO_get0_status(s: *const TS_STATUS_INFO) -> *const ASN1_INTEGER;
    fn TS_RESP_get_token(r: *mut TS_RESP) -> *mut PKCS7;
    fn i2d_TS_RESP(r: *const TS_RESP, out: *mut *mut c_uchar) -> c_int;
}

foreign_type! {
    type CType = TS_REQ;
    fn drop = TS_REQ_free;
    /// An owned `TS_REQ`.
    pub struct TsReq;
    /// A borrowed `TS_REQ`.
    pub struct TsReqRef;
}

foreign_type! {
    type CType = TS_MSG_IMPRINT;
    fn drop = TS_MSG_IMPRINT_free;
    /// An owned `TS_MSG_IMPRINT`.
    pub struct TsMsgImprint;
    /// A borrowed `TS_MSG_IMPRINT`.
    pub struct TsMsgImprintRef;
}

foreign_type! {
    type CType = X509_ALGOR;
    fn drop = openssl_sys::X509_ALGOR_free;
    /// An owned `X509_ALGOR`.
    pub struct X509Algor;
    /// A borrowed `X509_ALGOR`.
    pub struct X509AlgorRef;
}

foreign_type! {
    type CType = TS_RESP_CTX;
    fn drop = TS_RESP_CTX_free;
    /// An owned `TS_RESP_CTX`.
    pub struct TsRespCtx;
    /// A borrowed `TS_RESP_CTX`.
    pub struct TsRespCtxRef;
}

foreign_type! {
    type CType = TS_RESP;
    fn drop = TS_RESP_free;
    /// An owned `TS_RESP`.
    pub struct TsResp;
    /// A borrowed `TS_RESP`.
    pub struct TsRespRef;
}

foreign_type! {
    type CType = BIO;
    fn drop = openssl_sys::BIO_free_all;
    /// An owned read-only memory `BIO`.
    pub struct MemBio;
    /// A borrowed `BIO`.
    pub struct MemBioRef;
}

/// The libcrypto error of a failed call named `what`.
fn failed(what: &str) -> CertifyError {
    CertifyError::Timestamp(format!("{what}: {}", openssl::error::ErrorStack::get()))
}

/// Takes ownership of what a constructor returned, or the error when it returned NULL.
fn owned<T: ForeignType>(p: *mut T::CType, what: &str) -> Result<T, CertifyError> {
    if p.is_null() {
        Err(failed(what))
    } else {
        // SAFETY: a non-NULL pointer a libcrypto constructor just returned, owned by no one
        // else; `T` frees it with the matching `*_free`.
        Ok(unsafe { T::from_ptr(p) })
    }
}

/// `Ok` when a libcrypto call returned 1.
fn one(r: c_int, what: &str) -> Result<(), CertifyError> {
    if r == 1 { Ok(()) } else { Err(failed(what)) }
}

/// The DER bytes an `i2d_*` call wrote into `out` (`len` its return value), freeing `out`.
fn take_der(out: *mut c_uchar, len: c_int, what: &str) -> Result<Vec<u8>, CertifyError> {
    if out.is_null() || len <= 0 {
        return Err(failed(what));
    }
    // SAFETY: libcrypto allocated `len` bytes at `out` for us; they are copied, then freed
    // once with CRYPTO_free.
    let der = unsafe { std::slice::from_raw_parts(out, len as usize) }.to_vec();
    unsafe { openssl_sys::CRYPTO_free(out.cast(), c"tsa.rs".as_ptr(), 0) };
    Ok(der)
}

/// Serial numbers: 64 random bits from the process start, then a counter — unique per TSA key
/// within a process and, with overwhelming probability, across processes.
static SERIAL: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" fn next_serial(_ctx: *mut TS_RESP_CTX, _data: *mut c_void) -> *mut ASN1_INTEGER {
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
        let request = self.request(sha256)?;
        self.respond(&request)
    }

    /// A DER `TimeStampReq` for `sha256`, with a nonce, asking for the TSA's certificate.
    fn request(&self, sha256: &[u8; 32]) -> Result<Vec<u8>, CertifyError> {
        // SAFETY (every block below): the call's pointers come from live owned handles or
        // from libcrypto objects checked non-NULL; set0 takes ownership, set/set1 copy.
        let algo: X509Algor = owned(unsafe { X509_ALGOR_new() }, "X509_ALGOR_new")?;
        let sha256_obj = unsafe { openssl_sys::OBJ_nid2obj(openssl_sys::NID_sha256) };
        if sha256_obj.is_null() {
            return Err(failed("OBJ_nid2obj"));
        }
        // OBJ_nid2obj's objects are static: X509_ALGOR_set0 may hold this one.
        let r = unsafe {
            X509_ALGOR_set0(
                algo.as_ptr(),
                sha256_obj,
                openssl_sys::V_ASN1_NULL,
                ptr::null_mut(),
            )
        };
        one(r, "X509_ALGOR_set0")?;
        let imprint: TsMsgImprint = owned(unsafe { TS_MSG_IMPRINT_new() }, "TS_MSG_IMPRINT_new")?;
        one(
            unsafe { TS_MSG_IMPRINT_set_algo(imprint.as_ptr(), algo.as_ptr()) },
            "TS_MSG_IMPRINT_set_algo",
        )?;
        let mut digest = *sha256;
        one(
            unsafe { TS_MSG_IMPRINT_set_msg(imprint.as_ptr(), digest.as_mut_ptr(), 32) },
            "TS_MSG_IMPRINT_set_msg",
        )?;
        let req: TsReq = owned(unsafe { TS_REQ_new() }, "TS_REQ_new")?;
        one(
            unsafe { TS_REQ_set_version(req.as_ptr(), 1) },
            "TS_REQ_set_version",
        )?;
        one(
            unsafe { TS_REQ_set_msg_imprint(req.as_ptr(), imprint.as_ptr()) },
            "TS_REQ_set_msg_imprint",
        )?;
        let mut nonce_bytes = [0u8; 8];
        openssl::rand::rand_bytes(&mut nonce_bytes)?;
        let nonce = BigNum::from_slice(&nonce_bytes)?.to_asn1_integer()?;
        one(
            unsafe { TS_REQ_set_nonce(req.as_ptr(), nonce.as_ptr()) },
            "TS_REQ_set_nonce",
        )?;
        one(
            unsafe { TS_REQ_set_cert_req(req.as_ptr(), 1) },
            "TS_REQ_set_cert_req",
        )?;
        let mut der: *mut c_uchar = ptr::null_mut();
        let len = unsafe { i2d_TS_REQ(req.as_ptr(), &mut der) };
        take_der(der, len, "i2d_TS_REQ")
    }

    /// The DER `TimeStampResp` answering the DER `TimeStampReq` `request` (what an RFC 3161
    /// HTTP authority sends back): granted with a token signed by the TSA's key, or refused.
    pub fn reply(&self, request: &[u8]) -> Result<Vec<u8>, CertifyError> {
        let resp = self.response(request)?;
        let mut der: *mut c_uchar = ptr::null_mut();
        // SAFETY: `resp` is a live owned response; i2d allocates `der`, taken over below.
        let len = unsafe { i2d_TS_RESP(resp.as_ptr(), &mut der) };
        take_der(der, len, "i2d_TS_RESP")
    }

    /// The response to the DER `request`, signed with the TSA's key.
    fn response(&self, request: &[u8]) -> Result<TsResp, CertifyError> {
        let policy = Asn1Object::from_str(&self.policy)?;
        let len = c_int::try_from(request.len())
            .map_err(|_| CertifyError::Timestamp("request too large".into()))?;
        // SAFETY (every block below): as in `request`; the memory BIO reads `request`, which
        // outlives it.
        let bio: MemBio = owned(
            unsafe { openssl_sys::BIO_new_mem_buf(request.as_ptr().cast(), len) },
            "BIO_new_mem_buf",
        )?;
        let ctx: TsRespCtx = owned(unsafe { TS_RESP_CTX_new() }, "TS_RESP_CTX_new")?;
        one(
            unsafe { TS_RESP_CTX_set_signer_cert(ctx.as_ptr(), self.cert.as_ptr()) },
            "TS_RESP_CTX_set_signer_cert",
        )?;
        one(
            unsafe { TS_RESP_CTX_set_signer_key(ctx.as_ptr(), self.key.as_ptr()) },
            "TS_RESP_CTX_set_signer_key",
        )?;
        let sha256 = MessageDigest::sha256().as_ptr();
        one(
            unsafe { TS_RESP_CTX_set_signer_digest(ctx.as_ptr(), sha256) },
            "TS_RESP_CTX_set_signer_digest",
        )?;
        one(
            unsafe { TS_RESP_CTX_set_def_policy(ctx.as_ptr(), policy.as_ptr()) },
            "TS_RESP_CTX_set_def_policy",
        )?;
        one(
            unsafe { TS_RESP_CTX_add_md(ctx.as_ptr(), sha256) },
            "TS_RESP_CTX_add_md",
        )?;
        unsafe { TS_RESP_CTX_set_serial_cb(ctx.as_ptr(), next_serial, ptr::null_mut()) };
        owned(
            unsafe { TS_RESP_create_response(ctx.as_ptr(), bio.as_ptr()) },
            "TS_RESP_create_response",
        )
    }

    /// The `TimeStampToken` answering the DER `request`, signed with the TSA's key.
    fn respond(&self, request: &[u8]) -> Result<Vec<u8>, CertifyError> {
        let resp = self.response(request)?;
        // SAFETY (every block below): `resp` is live and owned; the status and token are
        // borrowed from it and used before it drops.
        let info = unsafe { TS_RESP_get_status_info(resp.as_ptr()) };
        if info.is_null() {
            return Err(failed("TS_RESP_get_status_info"));
        }
        let status = unsafe { TS_STATUS_INFO_get0_status(info) };
        if status.is_null() || unsafe { openssl_sys::ASN1_INTEGER_get(status) } != 0 {
            return Err(failed("timestamp not granted"));
        }
        // The token is borrowed from the response, which outlives this use.
        let token = unsafe { TS_RESP_get_token(resp.as_ptr()) };
        if token.is_null() {
            return Err(failed("TS_RESP_get_token"));
        }
        let mut der: *mut c_uchar = ptr::null_mut();
        let len = unsafe { openssl_sys::i2d_PKCS7(token, &mut der) };
        take_der(der, len, "i2d_PKCS7")
    }
}
