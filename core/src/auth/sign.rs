//! DKIM signing (RFC 6376, RFC 8463): relaxed/relaxed, the headers a reader sees and relies on,
//! and From, Subject and Date signed once more than they occur, so that a second copy added
//! later breaks the signature instead of showing a forged value to readers.

use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256, SigningKey};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner as Signer, Done};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;

use super::AuthError;

/// The headers signed, each once per occurrence; `OVERSIGNED` once more.
const SIGNED: [&str; 14] = [
    "From",
    "Sender",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "To",
    "Cc",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "List-Unsubscribe",
];
const OVERSIGNED: [&str; 3] = ["From", "Subject", "Date"];

/// A private key for DKIM: RSA (PKCS#1 or PKCS#8 PEM, 1024 bits or more) or Ed25519 (PKCS#8).
pub enum DkimKey {
    /// rsa-sha256.
    Rsa(RsaKey<Sha256>),
    /// ed25519-sha256.
    Ed25519(Ed25519Key),
}

impl std::fmt::Debug for DkimKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DkimKey::Rsa(_) => "DkimKey::Rsa(…)",
            DkimKey::Ed25519(_) => "DkimKey::Ed25519(…)",
        })
    }
}

impl DkimKey {
    /// Reads a PEM private key (`BEGIN PRIVATE KEY` or `BEGIN RSA PRIVATE KEY`).
    pub fn from_pem(pem: &[u8]) -> Result<Self, AuthError> {
        let key =
            PrivateKeyDer::from_pem_slice(pem).map_err(|e| AuthError::Key(format!("not a PEM private key ({e})")))?;
        if let PrivateKeyDer::Pkcs8(der) = &key
            && let Ok(k) = Ed25519Key::from_pkcs8_maybe_unchecked_der(der.secret_pkcs8_der())
        {
            return Ok(DkimKey::Ed25519(k));
        }
        RsaKey::<Sha256>::from_key_der(key)
            .map(DkimKey::Rsa)
            .map_err(|e| AuthError::Key(format!("neither an RSA nor an Ed25519 key the signer can use ({e})")))
    }

    /// The `p=` value of the key's DNS record (base64): SubjectPublicKeyInfo for Ed25519 as
    /// RFC 8463 gives it (the raw 32 bytes), and the RSA public key for RSA.
    pub fn public_key_base64(&self) -> String {
        use base64::Engine as _;
        let raw = match self {
            // As every published record has it (and verifiers such as mailauth require):
            // SubjectPublicKeyInfo, not the bare RSAPublicKey.
            DkimKey::Rsa(k) => rsa_spki(&k.public_key()),
            DkimKey::Ed25519(k) => k.public_key(),
        };
        base64::engine::general_purpose::STANDARD.encode(raw)
    }

    /// The TXT record to publish at `SELECTOR._domainkey.DOMAIN`.
    pub fn dns_record(&self) -> String {
        let k = match self {
            DkimKey::Rsa(_) => "rsa",
            DkimKey::Ed25519(_) => "ed25519",
        };
        format!("v=DKIM1; k={k}; p={}", self.public_key_base64())
    }
}

/// An RSAPublicKey (PKCS#1 DER) wrapped as SubjectPublicKeyInfo (RFC 5280) for rsaEncryption.
fn rsa_spki(pkcs1: &[u8]) -> Vec<u8> {
    fn der(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match body.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n <= 0xff => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(body);
        out
    }
    // SEQUENCE { OID 1.2.840.113549.1.1.1, NULL }
    const RSA_ENCRYPTION: [u8; 15] =
        [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
    let mut bits = vec![0]; // no unused bits
    bits.extend_from_slice(pkcs1);
    let mut body = RSA_ENCRYPTION.to_vec();
    body.extend(der(0x03, &bits));
    der(0x30, &body)
}

/// A new Ed25519 key, as PKCS#8 PEM.
pub fn generate_ed25519() -> Result<String, AuthError> {
    let der = Ed25519Key::generate_pkcs8().map_err(|e| AuthError::Key(e.to_string()))?;
    Ok(pem_encode("PRIVATE KEY", &der))
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The built signer of `mail-auth`, for either kind of key.
enum Built {
    Rsa(Signer<RsaKey<Sha256>, Done>),
    Ed25519(Signer<Ed25519Key, Done>),
}

/// Signs finished messages for one domain and selector.
pub struct DkimSigner {
    built: Built,
    domain: String,
    selector: String,
}

impl std::fmt::Debug for DkimSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DkimSigner").field("domain", &self.domain).field("selector", &self.selector).finish()
    }
}

impl DkimSigner {
    /// A signer with `key` as `selector._domainkey.domain`.
    pub fn new(key: DkimKey, selector: impl Into<String>, domain: impl Into<String>) -> Result<Self, AuthError> {
        let (selector, domain) = (selector.into(), domain.into().to_ascii_lowercase());
        let label_ok = |s: &str| {
            !s.is_empty()
                && s.split('.').all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        };
        if !label_ok(&selector) || !label_ok(&domain) || !domain.contains('.') {
            return Err(AuthError::Key(format!("{selector:?} and {domain:?} are not a selector and a domain")));
        }
        let headers: Vec<&str> = SIGNED.iter().chain(OVERSIGNED.iter()).copied().collect();
        let built = match key {
            DkimKey::Rsa(k) => Built::Rsa(configure(Signer::from_key(k), &domain, &selector, &headers)),
            DkimKey::Ed25519(k) => Built::Ed25519(configure(Signer::from_key(k), &domain, &selector, &headers)),
        };
        Ok(DkimSigner { built, domain, selector })
    }

    /// A signer for mail from the address `from`: `d=` is `domain` when given, else the
    /// address's domain (the alignment DMARC checks).
    pub fn for_sender(key: DkimKey, selector: &str, domain: Option<&str>, from: &str) -> Result<Self, AuthError> {
        let from_domain = from.rsplit_once('@').map(|(_, d)| d.trim_end_matches('>').trim()).filter(|d| !d.is_empty());
        match domain.or(from_domain) {
            Some(d) => DkimSigner::new(key, selector, d),
            None => Err(AuthError::Key("no signing domain: give one, the message has no From address".into())),
        }
    }

    /// The domain it signs for (`d=`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The selector (`s=`).
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// `raw` with a `DKIM-Signature:` field in front: the bytes signed are the bytes returned.
    pub fn sign(&self, raw: &[u8]) -> Result<Vec<u8>, AuthError> {
        let signature = match &self.built {
            Built::Rsa(s) => s.sign(raw),
            Built::Ed25519(s) => s.sign(raw),
        }
        .map_err(|e| AuthError::Sign(e.to_string()))?;
        let header = signature.to_header();
        let mut out = Vec::with_capacity(header.len() + raw.len());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(raw);
        Ok(out)
    }
}

/// Relaxed/relaxed, `headers` (a name listed twice is signed once more than it occurs).
fn configure<K: SigningKey>(
    s: Signer<K, mail_auth::dkim::NeedDomain>,
    domain: &str,
    selector: &str,
    headers: &[&str],
) -> Signer<K, Done> {
    s.domain(domain)
        .selector(selector)
        .headers(headers.iter().copied())
        .header_canonicalization(Canonicalization::Relaxed)
        .body_canonicalization(Canonicalization::Relaxed)
}
